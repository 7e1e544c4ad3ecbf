"""OCI DNS (`/20180115`): public zones, their records, and what DNS queries see of them.

Records are kept as OCI presents them: names lower-case without the trailing dot, RDATA normalised
(TXT quoted, targets absolute). Every change bumps the zone's version and SOA serial and is kept as a
timestamped snapshot, so the authoritative DNS server (`sandbox.dns_server`) can answer from the zone
as it was `propagationDelay` seconds ago, the way OCI's edge servers lag behind its API.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import oci.dns.models as m

from .errors import (Conflict, InvalidParameter, MissingParameter, NotAuthorizedOrNotFound, OciError,
                     PreconditionFailed)
from .http import Reply, Request, Route, now, page, sort_items, wire
from .world import Resettable

API = "/20180115"
OPERATIONS = ("ADD", "REMOVE", "REQUIRE", "PROHIBIT")
SOA_TTL, NS_TTL = 300, 86400
MAX_SNAPSHOTS = 500
NOT_FOUND = "Authorization failed or requested resource not found."


class CannotParseRequest(OciError):
    """OCI's answer to RDATA it cannot parse (400, not InvalidParameter)."""
    status, code = 400, "CannotParseRequest"


class RecordPreconditionFailed(OciError):
    """A REQUIRE / PROHIBIT item of a PATCH did not hold."""
    status, code = 412, "PreconditionFailed"


@dataclass(frozen=True)
class Rec:
    domain: str
    rtype: str
    rdata: str
    ttl: int
    rrset_version: str = ""

    @property
    def rrset(self) -> tuple[str, str]:
        return self.domain, self.rtype

    @property
    def record_hash(self) -> str:
        """Identifies the record (not its TTL) so the hash survives reads and TTL changes."""
        return hashlib.md5(f"{self.domain}|{self.rtype}|{self.rdata}".encode()).hexdigest()

    def sort_key(self):
        return self.domain, self.rtype, self.rdata


@dataclass(frozen=True)
class Lookup:
    """What an authoritative server knows about one name: used by `sandbox.dns_server`."""
    apex: str
    name: str
    exists: bool                                # False: NXDOMAIN
    records: tuple[tuple[str, int, str], ...]   # (rtype, ttl, rdata) at the name
    soa: tuple[int, str]                        # (ttl, rdata) of the zone's SOA


@dataclass
class Zone:
    id: str
    name: str
    compartment_id: str
    nameservers: list[str]
    time_created: dt.datetime
    modified: dt.datetime
    version: int = 1
    records: list[Rec] = field(default_factory=list)
    snapshots: list[tuple[float, int, tuple[Rec, ...]]] = field(default_factory=list)
    propagation_delay: float | None = None      # None: world option `dns_propagation_delay`
    wrong_txt: str | None = None

    @property
    def etag(self) -> str:
        return f'"{self.version}#application/json"'

    def is_protected(self, rec: Rec) -> bool:
        return rec.rtype == "SOA" or (rec.rtype == "NS" and rec.domain == self.name)

    def contains(self, domain: str) -> bool:
        return domain == self.name or domain.endswith("." + self.name)

    def records_at(self, version: int | None) -> list[Rec]:
        if version is None or version == self.version:
            return self.records
        for _, snap_version, records in self.snapshots:
            if snap_version == version:
                return list(records)
        raise NotAuthorizedOrNotFound(f"Zone version {version} of {self.name} not found")

    def visible_records(self, at: float) -> tuple[Rec, ...]:
        """The newest snapshot whose propagation time has passed."""
        for visible_at, _, records in reversed(self.snapshots):
            if visible_at <= at:
                return records
        return self.snapshots[0][2]


def normalise_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


def quote_txt(value: str) -> str:
    """An unquoted TXT value as OCI stores it: one string, split every 255 bytes, quoted."""
    data = value.encode()
    chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks).to_text()


def normalise_rdata(rtype: str, rdata: str, where: str) -> str:
    """OCI's presentation of RDATA: TXT quoted, names absolute, addresses canonical."""
    if rtype in ("TXT", "SPF") and not rdata.lstrip().startswith('"'):
        return quote_txt(rdata)
    try:
        return dns.rdata.from_text(dns.rdataclass.IN, rtype, rdata, origin=dns.name.root,
                                  relativize=False).to_text()
    except (dns.exception.DNSException, ValueError) as exc:
        raise CannotParseRequest(f"Invalid value for {where}.rdata: bad {rtype} {rtype}: {rdata!r} ({exc})")


def parse_rtype(rtype: str | None, where: str) -> str:
    if not rtype:
        raise InvalidParameter(f"{where}.rtype is required")
    try:
        value = dns.rdatatype.from_text(rtype.upper())
    except dns.rdatatype.UnknownRdatatype:
        value = None
    if value is None or dns.rdatatype.is_metatype(value) or rtype.upper().startswith("TYPE"):
        raise InvalidParameter(f"Invalid value for {where}.rtype: unsupported record type {rtype!r}")
    return rtype.upper()


def parse_ttl(ttl, where: str, required: bool) -> int | None:
    if ttl is None:
        if required:
            raise InvalidParameter(f"{where}.ttl is required")
        return None
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= 2147483647:
        raise InvalidParameter(f"Invalid value for {where}.ttl: {ttl!r}")
    return ttl


def _rrsets(records) -> dict[tuple[str, str], frozenset]:
    sets: dict[tuple[str, str], set] = {}
    for rec in records:
        sets.setdefault(rec.rrset, set()).add((rec.rdata, rec.ttl))
    return {k: frozenset(v) for k, v in sets.items()}


def _http_date(value: str) -> dt.datetime:
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise InvalidParameter(f"Invalid If-Unmodified-Since date {value!r}") from None


class Backend(Resettable):
    """The zones of one region (the stack uses the home region's: OCI DNS is global)."""

    def __init__(self, world, region):
        self.world, self.region = world, region
        self.zones: dict[str, Zone] = {}

    # --- seeding and knobs -------------------------------------------------------------------------

    def add_zone(self, name: str, compartment_id: str | None = None) -> str:
        """Create an ACTIVE primary zone with OCI's SOA and apex NS records; returns its OCID."""
        name = normalise_name(name)
        compartment_id = self.world.check_compartment(compartment_id or self.world.tenancy_id)
        with self.world.lock:
            if any(z.name == name for z in self.zones.values()):
                raise Conflict(f"Zone {name} already exists")
            pool = 1 + int(hashlib.md5(name.encode()).hexdigest(), 16) % 250
            nameservers = [f"ns{i}.p{pool}.dns.oraclecloud.net" for i in range(1, 5)]
            created = now()
            zone = Zone(id=f"ocid1.dns-zone.oc1..{hashlib.md5(f'{name}{time.time_ns()}'.encode()).hexdigest()}",
                        name=name, compartment_id=compartment_id, nameservers=nameservers,
                        time_created=created, modified=created)
            zone.records = sorted([Rec(name, "NS", f"{ns}.", NS_TTL, "1") for ns in nameservers]
                                  + [self._soa(zone)], key=Rec.sort_key)
            zone.snapshots.append((time.time(), zone.version, tuple(zone.records)))
            self.zones[zone.id] = zone
            return zone.id

    def set_propagation_delay(self, name_or_id: str, seconds: float | None) -> None:
        """Changes made from now on reach DNS answers `seconds` later (None: world default)."""
        with self.world.lock:
            self.zone(name_or_id).propagation_delay = None if seconds is None else float(seconds)

    def set_wrong_txt(self, name_or_id: str, value: str | None) -> None:
        """DNS answers carry `value` instead of the zone's TXT records (None: answer truthfully)."""
        with self.world.lock:
            self.zone(name_or_id).wrong_txt = value

    def snapshot(self) -> dict:
        return {"zones": [{"id": z.id, "name": z.name, "version": z.version, "serial": z.version,
                           "propagationDelay": z.propagation_delay, "wrongTxt": z.wrong_txt,
                           "records": [{"domain": r.domain, "rtype": r.rtype, "rdata": r.rdata, "ttl": r.ttl}
                                       for r in z.records]} for z in self.zones.values()]}

    # --- what DNS sees ------------------------------------------------------------------------------

    def lookup(self, qname: str) -> Lookup | None:
        """The visible state of `qname` in the most specific zone holding it; None if in no zone."""
        name = normalise_name(qname)
        with self.world.lock:
            zones = [z for z in self.zones.values() if z.contains(name)]
            if not zones:
                return None
            zone = max(zones, key=lambda z: len(z.name))
            records = zone.visible_records(time.time())
            wrong_txt = zone.wrong_txt
        soa = next(r for r in records if r.rtype == "SOA")
        owners = {r.domain for r in records}
        at_name = [r for r in records if r.domain == name]
        exists = bool(at_name) or any(o.endswith("." + name) for o in owners)
        if not exists:
            at_name = self._wildcard(zone.name, name, owners, records)
            exists = bool(at_name)
        found = tuple((r.rtype, r.ttl, r.rdata) for r in at_name)
        if wrong_txt is not None and any(rtype == "TXT" for rtype, _, _ in found):
            ttl = min(t for rtype, t, _ in found if rtype == "TXT")
            found = tuple(f for f in found if f[0] != "TXT") + (("TXT", ttl, quote_txt(wrong_txt)),)
        return Lookup(apex=zone.name, name=name, exists=exists, records=found, soa=(soa.ttl, soa.rdata))

    @staticmethod
    def _wildcard(apex: str, name: str, owners: set[str], records) -> list[Rec]:
        """RFC 4592: records of `*.<closest encloser>` answer for names that do not exist."""
        encloser = name
        while encloser != apex:
            encloser = encloser.split(".", 1)[1]
            if encloser == apex or encloser in owners or any(o.endswith("." + encloser) for o in owners):
                break
        return [r for r in records if r.domain == f"*.{encloser}"]

    # --- API state ----------------------------------------------------------------------------------

    def zone(self, name_or_id: str, compartment_id: str | None = None) -> Zone:
        key = name_or_id
        zone = self.zones.get(key) or next((z for z in self.zones.values() if z.name == normalise_name(key)), None)
        if zone is None or (compartment_id and compartment_id != zone.compartment_id):
            raise NotAuthorizedOrNotFound(NOT_FOUND)
        return zone

    def domain(self, zone: Zone, domain: str, where: str = "domain") -> str:
        name = normalise_name(domain or "")
        if not name:
            raise InvalidParameter(f"{where} is required")
        try:
            dns.name.from_text(name)
        except dns.exception.DNSException as exc:
            raise InvalidParameter(f"Invalid value for {where}: {domain!r} is not a valid domain name ({exc})")
        if not zone.contains(name):
            raise InvalidParameter(f"Invalid value for {where}: domain '{name}' is not a subdomain of "
                                   f"zone '{zone.name}'")
        return name

    def change(self, zone: Zone, headers: dict, build: Callable[[list[Rec]], list[Rec]]) -> None:
        """Check If-Match / If-Unmodified-Since, compute the new records, commit them atomically."""
        with self.world.lock:
            self._check_preconditions(zone, headers)
            self._commit(zone, build(list(zone.records)))

    @staticmethod
    def _check_preconditions(zone: Zone, headers: dict) -> None:
        if_match = headers.get("if-match")
        if if_match and if_match.strip() != "*" and zone.etag not in [t.strip() for t in if_match.split(",")]:
            raise PreconditionFailed(f"The If-Match etag {if_match} does not match the zone's etag {zone.etag}")
        since = headers.get("if-unmodified-since")
        if since and zone.modified.replace(microsecond=0) > _http_date(since):
            raise PreconditionFailed(f"Zone {zone.name} was modified after {since}")

    def _commit(self, zone: Zone, new: list[Rec]) -> None:
        old_sets, new_sets = _rrsets(zone.records), _rrsets(new)
        if old_sets == new_sets:
            return
        self._check_cname(new_sets)
        zone.version += 1
        old_versions = {r.rrset: r.rrset_version for r in zone.records}
        changed = {k for k in old_sets.keys() | new_sets.keys() if old_sets.get(k) != new_sets.get(k)}
        records = [replace(r, rrset_version=str(zone.version) if r.rrset in changed else old_versions[r.rrset])
                   for r in new if r.rtype != "SOA"]
        zone.records = sorted(records + [self._soa(zone)], key=Rec.sort_key)
        zone.modified = now()
        delay = zone.propagation_delay
        if delay is None:
            delay = float(self.world.options.get("dns_propagation_delay", 0.0))
        zone.snapshots.append((time.time() + delay, zone.version, tuple(zone.records)))
        del zone.snapshots[:-MAX_SNAPSHOTS]

    @staticmethod
    def _soa(zone: Zone) -> Rec:
        rdata = f"{zone.nameservers[0]}. hostmaster.oracle.com. {zone.version} 3600 600 604800 1800"
        return Rec(zone.name, "SOA", rdata, SOA_TTL, str(zone.version))

    @staticmethod
    def _check_cname(rrsets) -> None:
        by_name: dict[str, set[str]] = {}
        for domain, rtype in rrsets:
            by_name.setdefault(domain, set()).add(rtype)
        for domain, rtypes in by_name.items():
            if "CNAME" in rtypes and len(rtypes) > 1:
                raise InvalidParameter(f"Domain '{domain}' has a CNAME record and other records; a CNAME "
                                       f"cannot coexist with other data")

    # --- PATCH and PUT ------------------------------------------------------------------------------

    def patch(self, zone: Zone | str, items: list[dict], domain: str | None = None, rtype: str | None = None,
              headers: dict | None = None) -> None:
        """Apply RecordOperations (wire-format dicts) in order; any failure leaves the zone untouched."""
        zone = self.zone(zone) if isinstance(zone, str) else zone

        def build(records: list[Rec]) -> list[Rec]:
            for i, item in enumerate(items):
                records = self._apply(zone, records, item, f"items[{i}]", domain, rtype)
            return records
        self.change(zone, headers or {}, build)

    def _apply(self, zone, records, item, where, scope_domain, scope_rtype) -> list[Rec]:
        op = item.get("operation")
        if op not in OPERATIONS:
            raise InvalidParameter(f"Invalid value for {where}.operation: {op!r}; allowed: {', '.join(OPERATIONS)}")
        domain = self._scoped(zone, item, where, scope_domain)
        rtype = item.get("rtype") or scope_rtype
        rtype = parse_rtype(rtype, where) if rtype or op == "ADD" else None
        if scope_rtype and rtype != scope_rtype:
            raise InvalidParameter(f"Invalid value for {where}.rtype: {rtype} is not {scope_rtype}")
        if item.get("rdata") and not rtype:
            raise InvalidParameter(f"{where}.rtype is required with {where}.rdata")
        rdata = normalise_rdata(rtype, item["rdata"], where) if item.get("rdata") else None
        ttl = parse_ttl(item.get("ttl"), where, required=op == "ADD")
        wanted = item.get("recordHash")

        def matches(rec: Rec, with_ttl: bool) -> bool:
            return (rec.domain == domain and rtype in (None, rec.rtype) and rdata in (None, rec.rdata)
                    and wanted in (None, rec.record_hash) and (not with_ttl or ttl in (None, rec.ttl)))

        if op in ("REQUIRE", "PROHIBIT"):
            found = any(matches(r, True) for r in records)
            if found != (op == "REQUIRE"):
                raise RecordPreconditionFailed(f"Precondition {op} of {where} failed for domain '{domain}'")
            return records
        if op == "REMOVE":
            removed = [r for r in records if matches(r, False)]
            if rtype or wanted:
                self._refuse_protected(zone, removed, where)
            return [r for r in records if r not in removed or zone.is_protected(r)]
        self._refuse_protected(zone, [Rec(domain, rtype, "", 0)], where)
        if rdata is None:   # ADD without rdata: a new TTL for the whole RRSet
            return [replace(r, ttl=ttl) if r.rrset == (domain, rtype) else r for r in records]
        existing = [r for r in records if r.rrset == (domain, rtype) and r.rdata == rdata]
        if existing and existing[0].ttl == ttl:
            return records
        return [r for r in records if r not in existing] + [Rec(domain, rtype, rdata, ttl)]

    def replace_records(self, zone: Zone | str, items: list[dict], domain: str | None = None,
                        rtype: str | None = None, headers: dict | None = None) -> None:
        """PUT: the scope (zone, domain or RRSet) holds exactly `items`; protected records stay."""
        zone = self.zone(zone) if isinstance(zone, str) else zone

        def in_scope(rec: Rec) -> bool:
            return domain in (None, rec.domain) and rtype in (None, rec.rtype)

        if domain and rtype:
            self._refuse_protected(zone, [Rec(domain, rtype, "", 0)], "rtype")

        def build(records: list[Rec]) -> list[Rec]:
            wanted = []
            for i, item in enumerate(items):
                where = f"items[{i}]"
                name = self._scoped(zone, item, where, domain)
                kind = parse_rtype(item.get("rtype") or rtype, where)
                if rtype and kind != rtype:
                    raise InvalidParameter(f"Invalid value for {where}.rtype: {kind} is not {rtype}")
                rec = Rec(name, kind, "", 0)
                if zone.is_protected(rec):
                    continue        # OCI ignores protected records sent back in a full replacement
                if not item.get("rdata"):
                    raise InvalidParameter(f"{where}.rdata is required")
                wanted.append(replace(rec, rdata=normalise_rdata(kind, item["rdata"], where),
                                      ttl=parse_ttl(item.get("ttl"), where, required=True)))
            kept = [r for r in records if not in_scope(r) or zone.is_protected(r)]
            unique = {(r.domain, r.rtype, r.rdata): r for r in wanted}
            return kept + list(unique.values())
        self.change(zone, headers or {}, build)

    def _scoped(self, zone: Zone, item: dict, where: str, scope_domain: str | None) -> str:
        raw = item.get("domain")
        if raw is None and scope_domain:
            return scope_domain
        name = self.domain(zone, raw, f"{where}.domain")
        if scope_domain and name != scope_domain:
            raise InvalidParameter(f"Invalid value for {where}.domain: '{name}' is not '{scope_domain}'")
        return name

    @staticmethod
    def _refuse_protected(zone: Zone, records: list[Rec], where: str) -> None:
        for rec in records:
            if zone.is_protected(rec):
                raise InvalidParameter(f"Invalid value for {where}: the {rec.rtype} records of "
                                       f"'{rec.domain}' are protected and cannot be changed")


# --- handlers ------------------------------------------------------------------------------------------

def _backend(req: Request) -> Backend:
    return req.backend(sys.modules[__name__])


def _zone(req: Request) -> Zone:
    return _backend(req).zone(req.params["zoneNameOrId"], req.arg("compartmentId"))


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
    fields = dict(name=zone.name, zone_type="PRIMARY", compartment_id=zone.compartment_id, scope="GLOBAL",
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
             and req.arg("scope") in (None, "GLOBAL") and req.arg("dnssecState") in (None, "DISABLED")
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


def _mutate(req: Request, operation: str) -> Reply:
    """Shared by every PATCH / PUT / DELETE: scope from the path, items from the body."""
    backend, zone = _backend(req), _zone(req)
    domain, rtype = _scope(req, zone)
    if req.method == "DELETE":
        items = []
    else:
        items = req.json().get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
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
    zone_id = backend.add_zone(data.get("name", ""), data.get("compartmentId"))
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
