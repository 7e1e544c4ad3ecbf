"""OCI DNS of one region: zones, record changes (PATCH / PUT with their preconditions), and the lookups
the authoritative server answers from."""
from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from typing import Callable

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT

from ..errors import Conflict, InvalidParameter, NotAuthorizedOrNotFound, PreconditionFailed, shown
from ..http import now
from ..world import Resettable, ocid
from .models import (MAX_SNAPSHOTS, NOT_FOUND, NS_TTL, OPERATIONS, SCOPES, SOA_TTL, _http_date, _rrsets, Lookup,
                     normalise_name, normalise_rdata, parse_rtype, parse_ttl, quote_txt, Rec,
                     RecordPreconditionFailed, Zone)


class Backend(Resettable):
    """The zones of one region (the stack uses the home region's: OCI DNS is global)."""

    def __init__(self, world, region):
        self.world, self.region = world, region
        self.zones: dict[str, Zone] = {}

    # --- seeding and knobs -------------------------------------------------------------------------

    def add_zone(self, name: str, compartment_id: str | None = None, scope: str = "GLOBAL",
                 view_id: str | None = None) -> str:
        """Create an ACTIVE primary zone with OCI's SOA and apex NS records; returns its OCID. A PRIVATE zone
        lives in a view (`view_id`, a new one when not given) and is never served to public DNS queries."""
        name = normalise_name(name)
        compartment_id = self.world.check_compartment(compartment_id or self.world.tenancy_id)
        if scope not in SCOPES:
            raise InvalidParameter(f"Invalid value for scope: {shown(scope)}; allowed: {', '.join(SCOPES)}")
        view_id = (view_id or ocid("dnsview")) if scope == "PRIVATE" else None
        with self.world.lock:
            if any(z.name == name and z.view_id == view_id for z in self.zones.values()):
                raise Conflict(f"Zone {name} already exists")
            pool = 1 + int(hashlib.md5(name.encode()).hexdigest(), 16) % 250
            nameservers = [f"ns{i}.p{pool}.dns.oraclecloud.net" for i in range(1, 5)]
            created = now()
            zone = Zone(id=f"ocid1.dns-zone.oc1..{hashlib.md5(f'{name}{time.time_ns()}'.encode()).hexdigest()}",
                        name=name, compartment_id=compartment_id, nameservers=nameservers,
                        time_created=created, modified=created, scope=scope, view_id=view_id)
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
        return {"zones": [{"id": z.id, "name": z.name, "scope": z.scope, "viewId": z.view_id,
                           "version": z.version, "serial": z.version,
                           "propagationDelay": z.propagation_delay, "wrongTxt": z.wrong_txt,
                           "records": [{"domain": r.domain, "rtype": r.rtype, "rdata": r.rdata, "ttl": r.ttl}
                                       for r in z.records]} for z in self.zones.values()]}

    # --- what DNS sees ------------------------------------------------------------------------------

    def lookup(self, qname: str) -> Lookup | None:
        """The visible state of `qname` in the most specific zone holding it; None if in no zone."""
        name = normalise_name(qname)
        with self.world.lock:
            zones = [z for z in self.zones.values() if z.contains(name) and z.scope == "GLOBAL"]
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

    def zone(self, name_or_id: str, scope: str | None = None, view_id: str | None = None) -> Zone:
        """The zone a request addresses. By OCID: that zone, if it has the `scope` and `view_id` asked for. By
        name: the public zone, or with `viewId` the private zone of that view (OCI requires `viewId` when a
        PRIVATE zone is named). `compartmentId`, deprecated on these operations, is not looked at."""
        if scope not in (None, *SCOPES):
            raise InvalidParameter(f"Invalid value for scope: {shown(scope)}; allowed: {', '.join(SCOPES)}")
        zone = self.zones.get(name_or_id)
        if zone is None:
            if scope == "PRIVATE" and not view_id:
                raise InvalidParameter("viewId is required when a PRIVATE zone is addressed by name")
            name = normalise_name(name_or_id)
            zone = next((z for z in self.zones.values() if z.name == name and z.view_id == view_id), None)
        if zone is None or scope not in (None, zone.scope) or view_id not in (None, zone.view_id):
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
        op = item.get("operation") or "ADD"   # absent: an ADD (see models.OPERATIONS)
        if op not in OPERATIONS:
            raise InvalidParameter(f"Invalid value for {where}.operation: '{op}'; allowed: {', '.join(OPERATIONS)}")
        domain = self._scoped(zone, item, where, scope_domain)
        rtype = item.get("rtype") or scope_rtype
        rtype = parse_rtype(rtype, where) if rtype or op == "ADD" else None
        if scope_rtype and rtype != scope_rtype:
            raise InvalidParameter(f"Invalid value for {where}.rtype: {rtype} is not {scope_rtype}")
        if item.get("rdata") and not rtype:
            raise InvalidParameter(f"{where}.rtype is required with {where}.rdata")
        rdata = normalise_rdata(rtype, item["rdata"], where) if item.get("rdata") else None
        ttl = parse_ttl(item.get("ttl"), where, required=op == "ADD")
        wanted, version = item.get("recordHash"), item.get("rrsetVersion")

        def matches(rec: Rec, every_field: bool) -> bool:
            """A precondition checks every field it gives, the read-only recordHash and rrsetVersion too
            (CONFORMANCE.md [py-recop]); ADD and REMOVE look at the record's identity."""
            return (rec.domain == domain and rtype in (None, rec.rtype) and rdata in (None, rec.rdata)
                    and wanted in (None, rec.record_hash)
                    and (not every_field or (ttl in (None, rec.ttl) and version in (None, rec.rrset_version))))

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
