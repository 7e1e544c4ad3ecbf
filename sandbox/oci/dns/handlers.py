"""OCI DNS's HTTP side: request handlers, control knobs and routes."""
from __future__ import annotations

import datetime as dt
import sys

import oci.dns.models as m

from ..errors import InvalidParameter, MissingParameter, NotAuthorizedOrNotFound
from ..http import Reply, Request, Route, page, sort_items, wire
from .backend import Backend
from .models import API, NOT_FOUND, normalise_name, parse_rtype, Rec, Zone


def _backend(req: Request) -> Backend:
    return req.backend(sys.modules[__package__])


def _zone(req: Request) -> Zone:
    return _backend(req).zone(req.params["zoneNameOrId"], req.arg("scope"), req.arg("viewId"))


def _scope(req: Request, zone: Zone) -> tuple[str | None, str | None]:
    domain = req.params.get("domain")
    rtype = req.params.get("rtype")
    return (_backend(req).domain(zone, domain) if domain else None,
            parse_rtype(rtype, "rtype") if rtype else None)


def _in_scope(records: list[Rec], domain: str | None, rtype: str | None) -> list[Rec]:
    return [r for r in records if domain in (None, r.domain) and rtype in (None, r.rtype)]


def _record(zone: Zone, rec: Rec) -> m.Record:
    return m.Record(domain=rec.domain, record_hash=rec.record_hash, is_protected=zone.is_protected(rec),
                    rdata=rec.rdata, rrset_version=rec.rrset_version, rtype=rec.rtype, ttl=rec.ttl)


def _zone_model(zone: Zone, summary: bool = False):
    fields = dict(name=zone.name, zone_type="PRIMARY", compartment_id=zone.compartment_id, scope=zone.scope,
                  view_id=zone.view_id,
                  freeform_tags={}, defined_tags={}, dnssec_state="DISABLED",
                  self_uri=f"https://dns.us-ashburn-1.oci.oraclecloud.com{API}/zones/{zone.id}", id=zone.id,
                  time_created=zone.time_created, version=str(zone.version), serial=zone.version,
                  lifecycle_state="ACTIVE", is_protected=False)
    if summary:
        return m.ZoneSummary(**fields)
    return m.Zone(**fields, external_masters=[], external_downstreams=[], zone_transfer_servers=[],
                  nameservers=[m.Nameserver(hostname=ns) for ns in zone.nameservers])


def _not_modified(req: Request, zone: Zone) -> Reply | None:
    if_none_match = req.headers.get("if-none-match")
    if if_none_match and (if_none_match.strip() == "*" or zone.etag in if_none_match):
        return Reply(304, None, {"etag": zone.etag})
    return None


def get_zone(req: Request) -> Reply:
    zone = _zone(req)
    return _not_modified(req, zone) or Reply(body=wire(_zone_model(zone)), headers={"etag": zone.etag})


def _time_arg(req: Request, name: str) -> dt.datetime | None:
    value = req.arg(name)
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(f"Invalid value for {name}: {value!r}") from None


def list_zones(req: Request) -> Reply:
    compartment_id = req.arg("compartmentId")
    if not compartment_id:
        raise MissingParameter("compartmentId is required")
    req.world.check_compartment(compartment_id)
    name, contains = req.arg("name"), (req.arg("nameContains") or "").lower()
    after, before = _time_arg(req, "timeCreatedGreaterThanOrEqualTo"), _time_arg(req, "timeCreatedLessThan")
    zones = [z for z in _backend(req).zones.values()
             if z.compartment_id == compartment_id and name in (None, z.name) and contains in z.name
             and req.arg("zoneType") in (None, "PRIMARY") and req.arg("lifecycleState") in (None, "ACTIVE")
             and req.arg("scope") in (None, z.scope) and req.arg("viewId") in (None, z.view_id)
             and req.arg("dnssecState") in (None, "DISABLED")
             and (after is None or z.time_created >= after) and (before is None or z.time_created < before)]
    zones = sort_items(req, zones, {"name": lambda z: z.name, "zoneType": lambda z: "PRIMARY",
                                    "timeCreated": lambda z: z.time_created}, "timeCreated")
    chunk, headers = page(req, zones, default_limit=50)
    return Reply(body=wire([_zone_model(z, summary=True) for z in chunk]), headers=headers)


def _records_page(req: Request, zone: Zone, records: list[Rec], sort_fields: dict, default: str,
                  collection=m.RecordCollection) -> Reply:
    records = sort_items(req, records, sort_fields, default)
    chunk, headers = page(req, records, default_limit=50)
    headers.update({"etag": zone.etag, "opc-total-items": str(len(records))})
    return Reply(body=wire(collection(items=[_record(zone, r) for r in chunk])), headers=headers)


def _versioned(req: Request, zone: Zone) -> list[Rec]:
    version = req.arg("zoneVersion")
    if version is not None and not version.isdigit():
        raise InvalidParameter(f"Invalid value for zoneVersion: {version!r}")
    return zone.records_at(int(version) if version else None)


SORT_RECORDS = {"domain": lambda r: r.domain, "rtype": lambda r: r.rtype, "ttl": lambda r: r.ttl}


def get_zone_records(req: Request) -> Reply:
    zone = _zone(req)
    if reply := _not_modified(req, zone):
        return reply
    domain, contains = req.arg("domain"), (req.arg("domainContains") or "").lower()
    rtype = (req.arg("rtype") or "").upper() or None
    records = [r for r in _versioned(req, zone)
               if (domain is None or r.domain == normalise_name(domain)) and contains in r.domain
               and rtype in (None, r.rtype)]
    return _records_page(req, zone, records, SORT_RECORDS, "domain")


def get_domain_records(req: Request) -> Reply:
    zone = _zone(req)
    domain, _ = _scope(req, zone)
    if reply := _not_modified(req, zone):
        return reply
    rtype = (req.arg("rtype") or "").upper() or None
    records = _in_scope(_versioned(req, zone), domain, rtype)
    return _records_page(req, zone, records, {k: SORT_RECORDS[k] for k in ("rtype", "ttl")}, "rtype")


def get_rr_set(req: Request) -> Reply:
    zone = _zone(req)
    domain, rtype = _scope(req, zone)
    if reply := _not_modified(req, zone):
        return reply
    records = _in_scope(_versioned(req, zone), domain, rtype)
    if not records:
        raise NotAuthorizedOrNotFound(NOT_FOUND)
    return _records_page(req, zone, records, {"rtype": SORT_RECORDS["rtype"]}, "rtype", collection=m.RRSet)


# (method, scope) -> the SDK model of the body; the scope is what the path names below the zone
_DETAILS = {("PATCH", "zone"): "PatchZoneRecordsDetails", ("PUT", "zone"): "UpdateZoneRecordsDetails",
            ("PATCH", "domain"): "PatchDomainRecordsDetails", ("PUT", "domain"): "UpdateDomainRecordsDetails",
            ("PATCH", "rrset"): "PatchRRSetDetails", ("PUT", "rrset"): "UpdateRRSetDetails"}


def _mutate(req: Request, operation: str) -> Reply:
    """Shared by every PATCH / PUT / DELETE: scope from the path, items from the body."""
    backend, zone = _backend(req), _zone(req)
    domain, rtype = _scope(req, zone)
    if req.method == "DELETE":
        items = []
    else:
        scope = "rrset" if rtype else "domain" if domain else "zone"
        items = req.details(_DETAILS[req.method, scope], m).get("items")
        if not isinstance(items, list):
            raise InvalidParameter("items must be a list of records")
    getattr(backend, operation)(zone, items, domain, rtype, req.headers)
    if req.method == "DELETE":
        return Reply(204, None, {"etag": zone.etag})
    records = _in_scope(zone.records, domain, rtype)
    return Reply(body=wire(m.RecordCollection(items=[_record(zone, r) for r in records])),
                 headers={"etag": zone.etag, "opc-total-items": str(len(records))})


def patch_records(req: Request) -> Reply:
    return _mutate(req, "patch")


def update_records(req: Request) -> Reply:
    return _mutate(req, "replace_records")


def _control_add_zone(req: Request) -> Reply:
    data = req.json()
    backend = _backend(req)
    zone_id = backend.add_zone(data.get("name", ""), data.get("compartmentId"), data.get("scope", "GLOBAL"),
                               data.get("viewId"))
    return Reply(body=wire(_zone_model(backend.zones[zone_id])))


def _control_zone(req: Request) -> Reply:
    backend = _backend(req)
    zone = backend.zone(req.params["zone"])
    data = req.json() if req.method == "POST" else {}
    if "propagationDelay" in data:
        backend.set_propagation_delay(zone.id, data["propagationDelay"])
    if "wrongTxt" in data:
        backend.set_wrong_txt(zone.id, data["wrongTxt"])
    return Reply(body={"id": zone.id, "name": zone.name, "version": zone.version,
                       "propagationDelay": zone.propagation_delay, "wrongTxt": zone.wrong_txt})


ZONE = f"{API}/zones/{{zoneNameOrId}}"
ROUTES = [
    Route("GET", f"{API}/zones", "dns.list_zones", list_zones),
    Route("GET", ZONE, "dns.get_zone", get_zone),
    Route("GET", f"{ZONE}/records", "dns.get_zone_records", get_zone_records),
    Route("PATCH", f"{ZONE}/records", "dns.patch_zone_records", patch_records),
    Route("PUT", f"{ZONE}/records", "dns.update_zone_records", update_records),
    Route("GET", f"{ZONE}/records/{{domain}}", "dns.get_domain_records", get_domain_records),
    Route("PATCH", f"{ZONE}/records/{{domain}}", "dns.patch_domain_records", patch_records),
    Route("PUT", f"{ZONE}/records/{{domain}}", "dns.update_domain_records", update_records),
    Route("DELETE", f"{ZONE}/records/{{domain}}", "dns.delete_domain_records", update_records),
    Route("GET", f"{ZONE}/records/{{domain}}/{{rtype}}", "dns.get_rr_set", get_rr_set),
    Route("PATCH", f"{ZONE}/records/{{domain}}/{{rtype}}", "dns.patch_rr_set", patch_records),
    Route("PUT", f"{ZONE}/records/{{domain}}/{{rtype}}", "dns.update_rr_set", update_records),
    Route("DELETE", f"{ZONE}/records/{{domain}}/{{rtype}}", "dns.delete_rr_set", update_records),
]

CONTROL_ROUTES = [
    Route("POST", "/_control/dns/zones", "control.dns.add_zone", _control_add_zone),
    Route("GET", "/_control/dns/zones/{zone}", "control.dns.zone", _control_zone),
    Route("POST", "/_control/dns/zones/{zone}", "control.dns.configure_zone", _control_zone),
]
