"""DNS-01 on OCI DNS: put TXT values in and take exactly them out again (`propagation.py` proves them visible).

Shaped like a lego DNS provider: `present` and `cleanup` take the same list of (name, value) pairs and
touch nothing else. Both are one PATCH per zone, by value, so an apex and a wildcard sharing one
`_acme-challenge` name, or another client's record there, are never disturbed.

`Zones` holds every zone of CERTMGR_DNS_ZONE_ID: a record goes to the zone with the longest matching
suffix, and an `_acme-challenge` name that is a CNAME (delegated to a validation zone, as lego and
cert-manager follow by default) is written, checked and cleaned at its target, which must be in one of
those zones. A run that orders reads the zones, and every `_acme-challenge` CNAME in each, at once (`route`:
one GetZoneRecords per zone, whatever the number of names); a run that only removes recorded values reads
the zones alone; other runs read no DNS at all.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import oci.dns

from .clients import all_items, together
from ..errors import ConfigError, DnsError, Problem, failing_as, oci_failure

TXT_TTL = 60
CHALLENGE = "_acme-challenge"


@dataclass(frozen=True)
class TxtRecord:
    name: str   # "_acme-challenge.example.com"
    value: str  # the key authorization digest, unquoted


def challenge_name(identifier: str) -> str:
    """`*.example.com` and `example.com` both validate at `_acme-challenge.example.com`."""
    return f"{CHALLENGE}." + identifier.removeprefix("*.")


class OciDns:
    """TXT records in one OCI DNS zone."""

    def __init__(self, client: oci.dns.DnsClient, zone_id: str):
        self.client = client
        self.zone_id = zone_id
        self.delegated: dict[str, str] | None = None  # its CNAMEs at `_acme-challenge` names, once read

    def zone(self) -> oci.dns.models.Zone:
        with failing_as(DnsError, f"dns: cannot read zone {self.zone_id}",
                        "check CERTMGR_DNS_ZONE_ID and that the function may read the zone"):
            return self.client.get_zone(self.zone_id).data

    def _patch(self, records: list[TxtRecord], operation: str) -> None:
        ttl = None if operation == "PROHIBIT" else TXT_TTL  # a precondition checks every field it is given
        items = [oci.dns.models.RecordOperation(domain=r.name, rtype="TXT", rdata=r.value, ttl=ttl,
                                                operation=operation) for r in records]
        try:
            self.client.patch_zone_records(self.zone_id, oci.dns.models.PatchZoneRecordsDetails(items=items))
        except oci.exceptions.ServiceError as exc:
            verb = {"ADD": "add", "REMOVE": "remove"}.get(operation, "write")
            names = ", ".join(sorted({r.name for r in records}))
            raise oci_failure(DnsError, f"dns: could not {verb} TXT records at {names} in zone {self.zone_id}",
                              exc) from None

    def present(self, records: list[TxtRecord]) -> None:
        self._patch(records, "ADD")

    def cleanup(self, records: list[TxtRecord]) -> None:
        self._patch(records, "REMOVE")

    def prohibit(self, record: TxtRecord) -> None:
        """A PATCH whose one item is a PROHIBIT precondition on `record` (a value nobody wrote): it changes
        nothing, yet needs the grant that writing TXT values does (CONFORMANCE.md, dns.patch_zone_records)."""
        self._patch([record], "PROHIBIT")

    def read_delegations(self) -> None:
        """Every CNAME of this zone at a name holding `_acme-challenge`, in one listing (GetZoneRecords filters by
        rtype and by `domainContains`: oci.dns.DnsClient.get_zone_records)."""
        with failing_as(DnsError, f"dns: cannot read the CNAME records of zone {self.zone_id}"):
            found = all_items(self.client.get_zone_records, self.zone_id, rtype="CNAME", domain_contains=CHALLENGE)
        self.delegated = {r.domain.rstrip(".").lower(): r.rdata.rstrip(".").lower() for r in found}

    def cname(self, domain: str) -> str | None:
        """The CNAME target at `domain` in this zone, or None (from the listing when it covers `domain`)."""
        if self.delegated is not None and CHALLENGE in domain:
            return self.delegated.get(domain)
        try:
            items = self.client.get_rr_set(self.zone_id, domain, "CNAME").data.items
        except oci.exceptions.ServiceError as exc:
            if exc.status == 404:
                return None
            raise oci_failure(DnsError, f"dns: cannot read records at {domain} in zone {self.zone_id}", exc) from None
        return items[0].rdata.rstrip(".").lower() if items else None


MAX_CNAMES = 8


class Zones:
    """The configured zones: which one holds a name, where a challenge really lives, and TXT writes routed."""

    def __init__(self, client: oci.dns.DnsClient, zone_ids: tuple[str, ...]):
        self.by_id = {zone_id: OciDns(client, zone_id) for zone_id in zone_ids}
        self.by_name: dict[str, OciDns] = {}
        self.models: dict[str, oci.dns.models.Zone] = {}
        self.targets: dict[str, str] = {}  # challenge name -> where its TXT value goes

    def load(self, cnames: bool = False) -> list[oci.dns.models.Zone]:
        """Read the configured zones not read yet and, with `cnames`, each one's `_acme-challenge` CNAMEs, all at
        once (a failure raised in this order)."""
        calls = [functools.partial(self.add, zone_id) for zone_id, dns in self.by_id.items()
                 if dns not in self.by_name.values()]
        calls += [dns.read_delegations for dns in self.by_id.values() if cnames and dns.delegated is None]
        if calls:
            together(*calls)
        return list(self.models.values())

    def route(self, names) -> None:
        """Before an order: each name's challenge is in one of the zones, and lands (followed through its CNAMEs)
        in one of them, where certmgr can write it; else the error that says which and how to fix it."""
        zones = self.load(cnames=True)
        outside = [name for name in names if self.zone_of(challenge_name(name)) is None]
        if outside:
            held = ", ".join(f"{z.name} ({z.id})" for z in zones)
            raise ConfigError([Problem("CERTMGR_DOMAIN", f"{', '.join(outside)} not in zone {held}",
                                       "list only names inside the zones, or add the OCID of the zone that holds "
                                       "them to CERTMGR_DNS_ZONE_ID")])
        for name in names:
            self.target(challenge_name(name))

    def add(self, zone_id: str) -> oci.dns.models.Zone:
        """Read one configured zone and route names to it; a PRIVATE zone is an error."""
        dns = self.by_id[zone_id]
        model = dns.zone()
        if model.scope == "PRIVATE":  # answered only inside its view's VCNs: the CA would never see the TXT
            raise DnsError(f"dns: zone {model.name} ({zone_id}) is a PRIVATE zone, which the CA cannot query, "
                           "so no DNS-01 challenge can be answered there; nothing was ordered",
                           hint=f"set CERTMGR_DNS_ZONE_ID to the public (GLOBAL) zone of {model.name}")
        self.by_name[model.name.rstrip(".").lower()] = dns
        self.models[model.name.rstrip(".").lower()] = model
        return model

    def zone_of(self, name: str) -> str | None:
        """The name of the configured zone holding `name` (the longest matching suffix), or None. The zones are
        read on first need."""
        self.load()
        name = name.rstrip(".").lower()
        holding = [z for z in self.by_name if name == z or name.endswith("." + z)]
        return max(holding, key=len) if holding else None

    def target(self, name: str) -> str:
        """Where the TXT value for challenge `name` goes: `name`, or the end of its CNAME chain."""
        if name not in self.targets:
            seen, at = [name], name
            while (zone := self.zone_of(at)) is not None and (next_name := self.by_name[zone].cname(at)):
                if next_name in seen or len(seen) > MAX_CNAMES:
                    raise DnsError(f"dns: the CNAME chain from {name} loops or is longer than {MAX_CNAMES}: "
                                   f"{' -> '.join(seen + [next_name])}", hint="fix the CNAME records")
                seen.append(next_name)
                at = next_name
            if self.zone_of(at) is None:
                raise DnsError(f"dns: {name} is a CNAME to {at}, in no zone of CERTMGR_DNS_ZONE_ID, so certmgr "
                               f"cannot write its TXT value; nothing was ordered",
                               hint=f"add the OCID of the zone holding {at} to CERTMGR_DNS_ZONE_ID, and allow the "
                                    "function to manage its records")
            self.targets[name] = at
        return self.targets[name]

    def routed(self, records: list[TxtRecord]) -> list[TxtRecord]:
        """`records` at their targets (see `target`)."""
        return [TxtRecord(self.target(r.name), r.value) for r in records]

    def _by_zone(self, records: list[TxtRecord]) -> dict[str | None, list[TxtRecord]]:
        grouped: dict[str | None, list[TxtRecord]] = {}
        for record in records:
            grouped.setdefault(self.zone_of(record.name), []).append(record)
        return grouped

    def present(self, records: list[TxtRecord]) -> None:
        for zone, group in self._by_zone(records).items():
            self.by_name[zone].present(group)  # routed records always have a zone (see `target`)

    def cleanup(self, records: list[TxtRecord]) -> list[TxtRecord]:
        """Remove `records` zone by zone, every zone even if one fails (the first failure is raised); return
        those in no configured zone (recorded by a run configured with other zones), which stay untouched."""
        grouped, failure = self._by_zone(records), None
        for zone, group in grouped.items():
            try:
                if zone is not None:
                    self.by_name[zone].cleanup(group)
            except DnsError as exc:
                failure = failure or exc
        if failure:
            raise failure
        return grouped.get(None, [])
