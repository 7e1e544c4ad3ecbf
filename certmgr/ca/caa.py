"""CAA (RFC 8659) before ordering: a CAA record that forbids the CA makes it refuse the order, and each such
refusal counts against Let's Encrypt's failed-validation limit. So a run that orders first asks the zones'
authoritative nameservers for CAA at each name and its parents (the tree climb of RFC 8659 3), for as long as
a zone certmgr manages holds them, and refuses with the record found and the record to add.

The CA's identities are its directory's `meta.caaIdentities` (RFC 8555 7.1.1); a CA that publishes none is
not checked. An issue property allows the CA when it names one of them and, with RFC 8657's
`validationmethods` parameter, lists dns-01 (Let's Encrypt's validation authority reads them so:
letsencrypt/boulder va/caa.go). A lookup no server answers counts as no record: the CA decides then."""
from __future__ import annotations

from typing import Callable

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rdatatype

from ..errors import CaaForbidden
from .propagation import authoritative

Server = tuple[str, int]
Records = list[tuple[str, str]]  # (tag, value) of one CAA RRset


def caa_records(server: Server, name: str, timeout: float) -> Records | None:
    """(tag, value) of the CAA RRset at `name`, as `server` answers it; None when there is none."""
    query = dns.message.make_query(name, dns.rdatatype.CAA, use_edns=0, payload=1232)
    query.flags &= ~dns.flags.RD
    reply, _ = dns.query.udp_with_fallback(query, server[0], timeout=timeout, port=server[1])
    found = [(r.tag.decode().lower(), r.value.decode()) for rrset in reply.answer
             if rrset.rdtype == dns.rdatatype.CAA for r in rrset]
    return found or None


def _names_the_ca(value: str, identities: set[str]) -> bool:
    """Whether one issue/issuewild value allows the CA to validate by DNS-01 (RFC 8659 4.2, RFC 8657 4)."""
    domain, *parameters = value.split(";")
    if domain.strip().lower() not in identities:
        return False
    for parameter in parameters:
        tag, _, methods = parameter.partition("=")
        if tag.strip().lower() == "validationmethods" and "dns-01" not in methods.strip().split(","):
            return False
    return True


def _allows(records: Records, identities: set[str], wildcard: bool) -> bool:
    """RFC 8659 4.2/4.3: the issue (or, for a wildcard, issuewild when present) properties must name the CA."""
    tags = {"issuewild"} if wildcard and any(tag == "issuewild" for tag, _ in records) else {"issue"}
    values = [value for tag, value in records if tag in tags]
    if not values:
        return True  # no property of that kind: the RRset does not restrict issuance
    return any(_names_the_ca(value, identities) for value in values)


def relevant(name: str, zone_of: Callable[[str], str | None],
             lookup: Callable[[str, str], Records | None]) -> tuple[str, Records] | None:
    """The Relevant RRset of `name` (RFC 8659 3): the first CAA RRset at it or a parent, climbing while a zone
    certmgr manages holds the name; `lookup(name, zone)` asks that zone's servers. None when there is none."""
    at = name.removeprefix("*.")
    while (zone := zone_of(at)) is not None:
        records = lookup(at, zone)
        if records is not None:
            return at, records
        if "." not in at:
            return None
        at = at.split(".", 1)[1]
    return None


def forbidden(names, zone_of, lookup, identities) -> list[str]:
    """One sentence for each name whose Relevant RRset does not allow a CA of `identities`."""
    allowed = {i.lower() for i in identities}
    refused = []
    for name in names if allowed else ():  # a CA that publishes no identities is not checked
        found = relevant(name, zone_of, lookup)
        if found and not _allows(found[1], allowed, name.startswith("*.")):
            shown = ", ".join(f'{tag} "{value}"' for tag, value in found[1])
            refused.append(f"{name}: CAA at {found[0]} ({shown}) does not name {' or '.join(sorted(allowed))}"
                           " for dns-01")
    return refused


def check_caa(names, zones, nameservers: tuple[Server, ...], identities, timeout: float, *,
              variable: str = "CERTMGR_ACME_DIRECTORY") -> None:
    """Raise CaaForbidden when a CAA record forbids the CA of `identities` for one of `names`. `zones` is the
    run's cloud.dns.Zones; `nameservers` CERTMGR_DNS_NAMESERVERS (else each zone's own are asked);
    `variable` the setting that names this CA."""
    def lookup(name: str, zone: str) -> Records | None:
        for server in authoritative(zones, zone, nameservers):
            try:
                return caa_records(server, name, timeout)
            except (dns.exception.DNSException, OSError):
                continue
        return None
    refused = forbidden(names, zones.zone_of, lookup, identities)
    if refused:
        first = sorted(i.lower() for i in identities)[0]
        raise CaaForbidden(f"acme: a CAA record forbids the CA: {'; '.join(refused)}; nothing was ordered",
                           configuration=True,
                           hint=f'add the CAA record `0 issue "{first}"` (and `0 issuewild "{first}"` where '
                                f"issuewild records stand) beside the one found, or set {variable} to a CA it names")
