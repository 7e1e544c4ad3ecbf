"""The Load Balancer service's HTTP side: request handlers, control knobs and routes."""
from __future__ import annotations

import sys
from functools import partial
from typing import Callable
from urllib.parse import unquote


from ..errors import InvalidParameter, NotAuthorizedOrNotFound
from ..http import Reply, Request, Route, page, wire

from .backend import Backend, LoadBalancer
from .models import (API, M, LbState, StoredCertificate, _add_certificate, _put_listener, _remove_certificate,
                     _remove_listener, _require, read_certificate)

# ---------------------------------------------------------------------------------------------------
# Handlers

def _backend(req: Request) -> Backend:
    return req.backend(sys.modules[__package__])


def _lb(req: Request) -> tuple[Backend, LoadBalancer]:
    backend = _backend(req)
    return backend, backend.load_balancer(req.params["loadBalancerId"])


def _name(req: Request, param: str) -> str:
    return unquote(req.params[param])


def _submit(req: Request, kind: str, change: Callable[[LbState], None]) -> Reply:
    backend, lb = _lb(req)
    wr = backend.submit(lb, kind, change, req.headers.get("if-match"), req.headers.get("opc-retry-token"))
    return Reply(202, None, {"opc-work-request-id": wr.id})


def get_load_balancer(req: Request) -> Reply:
    _, lb = _lb(req)
    return Reply(body=wire(lb.model()), headers={"etag": lb.etag})


def list_load_balancers(req: Request) -> Reply:
    compartment_id = req.arg("compartmentId")
    req.world.check_compartment(_require(compartment_id, "compartmentId"))
    backend = _backend(req)
    lbs = [backend.load_balancer(lb.id) for lb in backend.load_balancers.values()
           if lb.compartment_id == compartment_id and req.arg("displayName") in (None, lb.display_name)
           and req.arg("lifecycleState") in (None, "ACTIVE")]
    sort_by = req.arg("sortBy", "TIMECREATED")
    keys = {"TIMECREATED": (lambda lb: lb.time_created, "DESC"),
            "DISPLAYNAME": (lambda lb: lb.display_name, "ASC")}
    if sort_by not in keys:
        raise InvalidParameter(f"sortBy must be one of {sorted(keys)}")
    key, default_order = keys[sort_by]
    order = req.arg("sortOrder", default_order)
    if order not in ("ASC", "DESC"):
        raise InvalidParameter("sortOrder must be ASC or DESC")
    chunk, headers = page(req, sorted(lbs, key=key, reverse=order == "DESC"))
    return Reply(body=wire([lb.model() for lb in chunk]), headers=headers)


def _list_of(attribute: str, to_model: Callable = lambda item: item) -> Callable[[Request], Reply]:
    """GET of one of the load balancer's named collections, sorted by name (these lists do not page)."""
    def handler(req: Request) -> Reply:
        _, lb = _lb(req)
        items = getattr(lb.state, attribute)
        return Reply(body=wire([to_model(items[n]) for n in sorted(items)]), headers={"etag": lb.etag})
    return handler


def create_certificate(req: Request) -> Reply:
    details = req.model("CreateCertificateDetails", M)
    bundle = read_certificate(details.certificate_name, details.public_certificate, details.ca_certificate,
                              details.private_key, details.passphrase)
    return _submit(req, "CreateCertificate", partial(_add_certificate, bundle))


def delete_certificate(req: Request) -> Reply:
    return _submit(req, "DeleteCertificate", partial(_remove_certificate, _name(req, "certificateName")))


def create_listener(req: Request) -> Reply:
    details = req.model("CreateListenerDetails", M)
    return _submit(req, "CreateListener", partial(_put_listener, _require(details.name, "name"), details, False))


def update_listener(req: Request) -> Reply:
    details = req.model("UpdateListenerDetails", M)
    return _submit(req, "UpdateListener", partial(_put_listener, _name(req, "listenerName"), details, True))


def delete_listener(req: Request) -> Reply:
    return _submit(req, "DeleteListener", partial(_remove_listener, _name(req, "listenerName")))


def get_work_request(req: Request) -> Reply:
    backend = _backend(req)
    wr = backend.work_requests.get(req.params["workRequestId"])
    if wr is None:
        raise NotAuthorizedOrNotFound(f"Work request {req.params['workRequestId']} not found")
    backend.load_balancer(wr.lb_id)
    return Reply(body=wire(wr.model()))


def list_work_requests(req: Request) -> Reply:
    """Newest first."""
    backend, lb = _lb(req)
    items = sorted((wr for wr in backend.work_requests.values() if wr.lb_id == lb.id), key=lambda w: -w.seq)
    chunk, headers = page(req, items)
    return Reply(body=wire([wr.model() for wr in chunk]), headers=headers)


def _control_work_request(req: Request) -> Reply:
    """A work request's state, read outside the API (unsigned, no faults or latency, not recorded): the bench's
    floor learns the moment a work request ends without paying calls for it."""
    return Reply(body={"lifecycleState": get_work_request(req).body["lifecycleState"]})


def _control_stale(req: Request) -> Reply:
    lb_id, data = req.params["loadBalancerId"], req.json()
    for (module, _region), backend in req.world.backends():
        if module == __package__ and lb_id in backend.load_balancers:
            backend.set_stale(lb_id, data["listener"], bool(data.get("stale", True)))
            return Reply(body={"loadBalancerId": lb_id, "listener": data["listener"], "stale": bool(data.get("stale", True))})
    raise NotAuthorizedOrNotFound(f"Load balancer {lb_id} not found")


def _control_fail_next(req: Request) -> Reply:
    lb_id, data = req.params["loadBalancerId"], req.json()
    for (module, _region), backend in req.world.backends():
        if module == __package__ and lb_id in backend.load_balancers:
            queued = backend.fail_next_work_requests(
                lb_id, int(data.get("count", 1)), data.get("message", "Injected work request failure"),
                data.get("errorCode", "INTERNAL_ERROR"))
            return Reply(body={"loadBalancerId": lb_id, "failuresQueued": queued})
    raise NotAuthorizedOrNotFound(f"Load balancer {lb_id} not found")


_LB = API + "/loadBalancers/{loadBalancerId}"
ROUTES = [
    Route("GET", API + "/loadBalancers", "lb.list_load_balancers", list_load_balancers),
    Route("GET", _LB, "lb.get_load_balancer", get_load_balancer),
    Route("GET", _LB + "/certificates", "lb.list_certificates", _list_of("certificates", StoredCertificate.model)),
    Route("POST", _LB + "/certificates", "lb.create_certificate", create_certificate),
    Route("DELETE", _LB + "/certificates/{certificateName}", "lb.delete_certificate", delete_certificate),
    Route("POST", _LB + "/listeners", "lb.create_listener", create_listener),
    Route("PUT", _LB + "/listeners/{listenerName}", "lb.update_listener", update_listener),
    Route("DELETE", _LB + "/listeners/{listenerName}", "lb.delete_listener", delete_listener),
    Route("GET", _LB + "/backendSets", "lb.list_backend_sets", _list_of("backend_sets")),
    Route("GET", _LB + "/hostnames", "lb.list_hostnames", _list_of("hostnames")),
    Route("GET", _LB + "/ruleSets", "lb.list_rule_sets", _list_of("rule_sets")),
    Route("GET", _LB + "/workRequests", "lb.list_work_requests", list_work_requests),
    Route("GET", API + "/loadBalancerWorkRequests/{workRequestId}", "lb.get_work_request", get_work_request),
]
CONTROL_ROUTES = [
    Route("GET", "/_control/lb/work-requests/{workRequestId}", "control.lb_work_request", _control_work_request),
    Route("POST", "/_control/lb/{loadBalancerId}/stale-listener", "control.lb_stale_listener", _control_stale),
    Route("POST", "/_control/lb/{loadBalancerId}/fail-next-work-request", "control.lb_fail_next_work_request",
          _control_fail_next),
]
