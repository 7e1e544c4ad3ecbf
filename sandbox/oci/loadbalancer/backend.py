"""The Load Balancer service of one region: load balancers, the queue of work requests that changes them,
and the live listener servers."""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Callable


from ...tls_listeners import ListenerServer
from ..errors import Conflict, InvalidParameter, NotAuthorizedOrNotFound, OciError, PreconditionFailed
from ..http import now, wire
from ..world import Resettable, ocid

from .models import (ACCEPTED, FAILED, IN_PROGRESS, SUCCEEDED, LbState, M, _put_listener, _tls_config, parse,
                     read_certificate)

# ---------------------------------------------------------------------------------------------------
# Work requests and load balancers

_SEQUENCE = itertools.count()


@dataclass
class WorkRequest:
    id: str
    lb_id: str
    compartment_id: str
    type: str                                 # OCI's names: "CreateCertificate", "UpdateListener", ...
    change: Callable[[LbState], None]
    starts_at: float                          # time.monotonic(): ACCEPTED until then
    finishes_at: float                        # IN_PROGRESS until then
    forced_failure: tuple[str, str] | None    # (errorCode, message) from the control knob
    time_accepted: dt.datetime = field(default_factory=now)
    state: str = ACCEPTED
    time_finished: dt.datetime | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)
    seq: int = field(default_factory=lambda: next(_SEQUENCE))

    def model(self) -> M.WorkRequest:
        message = f"{self.type} work request {self.state.lower().replace('_', ' ')}"
        if self.errors:
            message += ": " + "; ".join(text for _, text in self.errors)
        return M.WorkRequest(
            id=self.id, load_balancer_id=self.lb_id, type=self.type, compartment_id=self.compartment_id,
            lifecycle_state=self.state, message=message, time_accepted=self.time_accepted,
            time_finished=self.time_finished,
            error_details=[M.WorkRequestError(error_code=code, message=text) for code, text in self.errors])

    def summary(self) -> dict:
        return {"id": self.id, "loadBalancerId": self.lb_id, "type": self.type, "lifecycleState": self.state,
                "errorDetails": [{"errorCode": c, "message": m} for c, m in self.errors]}


@dataclass
class LoadBalancer:
    id: str
    compartment_id: str
    display_name: str
    ip_address: str
    state: LbState
    time_created: dt.datetime = field(default_factory=now)
    pending: list[WorkRequest] = field(default_factory=list)
    version: int = 1
    failures_to_inject: list[tuple[str, str]] = field(default_factory=list)
    timer: threading.Timer | None = None

    @property
    def etag(self) -> str:
        return hashlib.sha256(f"{self.id}/{self.version}".encode()).hexdigest()[:32]

    def projected(self) -> LbState:
        """The state once every queued work request has run, as the service expects it at admission
        (an injected failure is not foreseen: it strikes when its turn comes)."""
        state = self.state.copy()
        for wr in self.pending:
            try:
                wr.change(state)
            except OciError:
                pass
        return state

    def model(self) -> M.LoadBalancer:
        s = self.state
        return M.LoadBalancer(
            id=self.id, compartment_id=self.compartment_id, display_name=self.display_name,
            lifecycle_state="ACTIVE", time_created=self.time_created,
            ip_addresses=[M.IpAddress(ip_address=self.ip_address, is_public=True)], shape_name="flexible",
            shape_details=M.ShapeDetails(minimum_bandwidth_in_mbps=10, maximum_bandwidth_in_mbps=10),
            is_private=False, is_delete_protection_enabled=False, is_request_id_enabled=False,
            subnet_ids=[], network_security_group_ids=[], listeners=dict(s.listeners),
            hostnames=dict(s.hostnames), ssl_cipher_suites={},
            certificates={n: c.model() for n, c in s.certificates.items()}, backend_sets=dict(s.backend_sets),
            path_route_sets=dict(s.path_route_sets), rule_sets=dict(s.rule_sets),
            routing_policies=dict(s.routing_policies), freeform_tags={}, defined_tags={}, system_tags={},
            security_attributes={}, ip_mode="IPV4")


def _backend_set(name: str, details: dict | None) -> M.BackendSet:
    backend_set = parse({**(details or {}), "name": name}, "BackendSet")
    backend_set.policy = backend_set.policy or "ROUND_ROBIN"
    backend_set.backends = backend_set.backends or []
    backend_set.health_checker = backend_set.health_checker or M.HealthChecker(
        protocol="HTTP", url_path="/", port=80, return_code=200, retries=3, timeout_in_millis=3000,
        interval_in_millis=10000, response_body_regex="", is_force_plain_text=False)
    return backend_set


class Backend(Resettable):
    """Load balancers of one region, their work requests, and the live listener servers."""

    def __init__(self, world, region: str):
        self.world, self.region = world, region
        self.load_balancers: dict[str, LoadBalancer] = {}
        self.work_requests: dict[str, WorkRequest] = {}
        self.retry_tokens: dict[str, tuple[str, str, str]] = {}   # token -> (lb id, type, work request id)
        self.servers: dict[tuple[str, str], ListenerServer] = {}
        self.stale: set[tuple[str, str]] = set()  # (lb, listener) whose server keeps what it presents
        self._closed = False

    # -- seeding and inspection (tests, the stack) ------------------------------------------------

    def add_load_balancer(self, compartment_id: str, name: str, *, listeners: dict[str, dict] | None = None,
                          certificates: dict[str, dict] | None = None,
                          backend_sets: dict[str, dict | None] | None = None,
                          hostnames: dict[str, str] | None = None, rule_sets: dict[str, list] | None = None,
                          path_route_sets: dict[str, list] | None = None,
                          routing_policies: dict[str, list] | None = None, ip_address: str = "127.0.0.1") -> str:
        """Create an ACTIVE load balancer at once (no work request); dict values use OCI's JSON names.

        certificates: name -> {"publicCertificate", "caCertificate", "privateKey", "passphrase"};
        backend_sets: name -> BackendSet JSON or None (default: one set named "app");
        hostnames: name -> hostname; rule_sets: name -> Rule JSON items;
        path_route_sets: name -> PathRoute JSON list; routing_policies: name -> RoutingRule JSON list;
        listeners: name -> ListenerDetails JSON (validated like CreateListener).
        """
        with self.world.lock:
            self.world.check_compartment(compartment_id)
            state = LbState(service_certificate=self.service_certificate)
            for cert_name, pems in (certificates or {}).items():
                state.certificates[cert_name] = read_certificate(
                    cert_name, pems.get("publicCertificate"), pems.get("caCertificate"),
                    pems.get("privateKey"), pems.get("passphrase"))
            for set_name, details in (backend_sets if backend_sets is not None else {"app": None}).items():
                state.backend_sets[set_name] = _backend_set(set_name, details)
            for host_name, hostname in (hostnames or {}).items():
                state.hostnames[host_name] = M.Hostname(name=host_name, hostname=hostname)
            for set_name, items in (rule_sets or {}).items():
                state.rule_sets[set_name] = M.RuleSet(name=set_name, items=parse(items, "list[Rule]"))
            for set_name, routes in (path_route_sets or {}).items():
                state.path_route_sets[set_name] = M.PathRouteSet(name=set_name,
                                                                 path_routes=parse(routes, "list[PathRoute]"))
            for policy_name, rules in (routing_policies or {}).items():
                state.routing_policies[policy_name] = M.RoutingPolicy(
                    name=policy_name, condition_language_version="V1", rules=parse(rules, "list[RoutingRule]"))
            for listener_name, details in (listeners or {}).items():
                _put_listener(listener_name, parse(details, "ListenerDetails"), False, state)
            lb = LoadBalancer(ocid("loadbalancer", self.region), compartment_id, name, ip_address, state)
            self.load_balancers[lb.id] = lb
            self._sync_servers(lb)
            return lb.id

    def service_certificate(self, certificate_id: str, serving: bool = False) -> tuple[str, str, str]:
        """The CURRENT version of a Certificates-service certificate in this region, as a listener serves it.
        A listener may be pointed only at an ACTIVE certificate; one that is being updated is still served."""
        from .. import certificates  # the two emulators know each other only through the world
        if certificate_id.split(".")[3:4] != [self.region]:
            raise InvalidParameter(f"Certificate {certificate_id} is not in region {self.region}")
        try:
            cert = self.world.backend(certificates, self.region).get(certificate_id)
        except OciError:
            raise InvalidParameter(f"sslConfiguration.certificateIds: certificate {certificate_id} not found "
                                   "or not authorized") from None
        state = cert.state if serving else cert.lifecycle_state()
        if state != "ACTIVE":
            raise InvalidParameter(f"Certificate {certificate_id} is {state}; a listener needs an ACTIVE one")
        material = cert.current().material
        return material.cert_pem, material.chain_pem, material.key_pem

    def certificate_users(self, certificate_id: str) -> list[str]:
        """"lb-name/listener" of every listener that references this Certificates-service certificate."""
        return sorted({f"{lb.display_name}/{name}" for lb in self.load_balancers.values()
                       for state in (lb.state, lb.projected()) for name, l in state.listeners.items()
                       if l.ssl_configuration and certificate_id in (l.ssl_configuration.certificate_ids or [])})

    def certificate_changed(self, certificate_id: str) -> None:
        """A Certificates-service certificate has a new CURRENT version: listeners serve it from now on."""
        for lb in self.load_balancers.values():
            self._sync_servers(lb)

    def listener_address(self, lb_id: str, listener_name: str) -> str:
        """"127.0.0.1:PORT" of the live server behind a listener (KeyError if there is none)."""
        with self.world.lock:
            if lb_id in self.load_balancers:
                self._advance(self.load_balancers[lb_id])
            return self.servers[(lb_id, listener_name)].address

    def set_stale(self, lb_id: str, listener: str, stale: bool = True) -> None:
        """Keep (or stop keeping) a listener's server on what it presents now."""
        with self.world.lock:
            (self.stale.add if stale else self.stale.discard)((lb_id, listener))
            if not stale:
                self._sync_servers(self.load_balancer(lb_id))

    def fail_next_work_requests(self, lb_id: str, count: int = 1, message: str = "Injected work request failure",
                                error_code: str = "INTERNAL_ERROR") -> int:
        with self.world.lock:
            lb = self.load_balancer(lb_id)
            lb.failures_to_inject.extend([(error_code, message)] * count)
            return len(lb.failures_to_inject)

    def remove_load_balancer(self, lb_id: str) -> None:
        """Drop a seeded load balancer and stop its listener servers (test clean-up)."""
        with self.world.lock:
            lb = self.load_balancers.pop(lb_id)
            if lb.timer:
                lb.timer.cancel()
            servers = [self.servers.pop(key) for key in [k for k in self.servers if k[0] == lb_id]]
        for server in servers:
            server.close()

    def close(self) -> None:
        """Stop timers and listener servers (the stack calls this when it stops)."""
        with self.world.lock:
            self._closed = True
            for lb in self.load_balancers.values():
                if lb.timer:
                    lb.timer.cancel()
            servers, self.servers = list(self.servers.values()), {}
        for server in servers:
            server.close()

    def snapshot(self) -> dict:
        with self.world.lock:
            lbs = []
            for lb in self.load_balancers.values():
                self._advance(lb)
                lbs.append({
                    "id": lb.id, "displayName": lb.display_name, "compartmentId": lb.compartment_id,
                    "etag": lb.etag, "listeners": {n: wire(x) for n, x in lb.state.listeners.items()},
                    "listenerAddresses": {n: s.address for (i, n), s in self.servers.items() if i == lb.id},
                    "certificates": [c.summary() for c in lb.state.certificates.values()],
                    "pendingWorkRequests": [wr.id for wr in lb.pending]})
            work_requests = sorted(self.work_requests.values(), key=lambda wr: wr.seq)
            return {"loadBalancers": lbs, "workRequests": [wr.summary() for wr in work_requests]}

    # -- lookups and the work request queue ------------------------------------------------------

    def load_balancer(self, lb_id: str) -> LoadBalancer:
        lb = self.load_balancers.get(lb_id)
        if lb is None:
            raise NotAuthorizedOrNotFound(f"Load balancer {lb_id} not found")
        self._advance(lb)
        return lb

    def submit(self, lb: LoadBalancer, kind: str, change: Callable[[LbState], None],
               if_match: str | None = None, retry_token: str | None = None) -> WorkRequest:
        """Validate `change` against the queued future now, then queue it as a work request (option lb_busy)."""
        if if_match and if_match != lb.etag:
            raise PreconditionFailed(f"If-Match {if_match!r} does not match the load balancer's etag")
        if retry_token in self.retry_tokens:
            lb_id, previous_kind, wr_id = self.retry_tokens[retry_token]
            if (lb_id, previous_kind) != (lb.id, kind):
                raise Conflict("opc-retry-token was already used for a different request")
            return self.work_requests[wr_id]
        if lb.pending and self.world.options.get("lb_busy") == "refuse":
            raise Conflict(f"Invalid State Transition of LB lifeCycle state from Updating to Updating: work request "
                           f"{lb.pending[0].id} ({lb.pending[0].type}) is {lb.pending[0].state}")
        change(lb.projected())
        delay = float(self.world.options.get("work_request_delay", 0.3))
        start = max([time.monotonic()] + [wr.finishes_at for wr in lb.pending])
        wr = WorkRequest(ocid("loadbalancerworkrequest", self.region), lb.id, lb.compartment_id, kind, change,
                         start + delay / 2, start + delay,
                         lb.failures_to_inject.pop(0) if lb.failures_to_inject else None)
        self.work_requests[wr.id] = wr
        if retry_token:
            self.retry_tokens[retry_token] = (lb.id, kind, wr.id)
        lb.pending.append(wr)
        self._schedule(lb)
        return wr

    def _advance(self, lb: LoadBalancer) -> None:
        """Move queued work requests along the clock, applying each change when it succeeds."""
        clock = time.monotonic()
        while lb.pending:
            wr = lb.pending[0]
            if clock >= wr.starts_at:
                wr.state = IN_PROGRESS
            if clock < wr.finishes_at:
                return
            lb.pending.pop(0)
            if wr.forced_failure:
                wr.state, wr.errors = FAILED, [wr.forced_failure]
            else:
                try:
                    wr.change(lb.state)
                    wr.state = SUCCEEDED
                    lb.version += 1
                    self._sync_servers(lb)
                except OciError as exc:
                    wr.state, wr.errors = FAILED, [("BAD_INPUT", exc.message)]
            wr.time_finished = now()

    def _schedule(self, lb: LoadBalancer) -> None:
        """Keep one timer per load balancer armed for its next due work request."""
        if lb.timer:
            lb.timer.cancel()
        lb.timer = None
        if lb.pending and not self._closed:
            wait = max(0.0, lb.pending[0].finishes_at - time.monotonic()) + 0.001
            lb.timer = threading.Timer(wait, self._tick, args=(lb.id,))
            lb.timer.daemon = True
            lb.timer.start()

    def _tick(self, lb_id: str) -> None:
        with self.world.lock:
            lb = self.load_balancers.get(lb_id)
            if lb and not self._closed:
                self._advance(lb)
                self._schedule(lb)

    def _sync_servers(self, lb: LoadBalancer) -> None:
        for name, listener in lb.state.listeners.items():
            tls = _tls_config(listener, lb.state)
            server = self.servers.get((lb.id, name))
            if server is None:
                self.servers[(lb.id, name)] = ListenerServer(name, tls)
            elif server.tls != tls and (lb.id, name) not in self.stale:
                server.configure(tls)
        for key in [k for k in self.servers if k[0] == lb.id and k[1] not in lb.state.listeners]:
            self.servers.pop(key).close()
