"""CAA (RFC 8659) before ordering: a CAA record that forbids the CA makes it refuse the order, and each such
refusal counts against Let's Encrypt's failed-validation limit. So a run that orders first asks the zone's
authoritative nameservers for CAA at each name and its parents up to the zone's apex (the tree climb of RFC
8659 3, inside the zones certmgr manages), and refuses with the record found and the record to add.

The CA's identities are its directory's `meta.caaIdentities` (RFC 8555 7.1.1); a CA that publishes none is
not checked."""
from __future__ import annotations

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rdatatype

from ..errors import AcmeError

Server = tuple[str, int]


def caa_records(server: Server, name: str, timeout: float) -> list[tuple[str, str]] | None:
    """(tag, value) of the CAA RRset at `name`, as `server` answers it; None when there is none."""
    query = dns.message.make_query(name, dns.rdatatype.CAA, use_edns=0, payload=1232)
    query.flags &= ~dns.flags.RD
    reply, _ = dns.query.udp_with_fallback(query, server[0], timeout=timeout, port=server[1])
    found = [(r.tag.decode().lower(), r.value.decode()) for rrset in reply.answer
             if rrset.rdtype == dns.rdatatype.CAA for r in rrset]
    return found or None


def _allows(records: list[tuple[str, str]], identities: set[str], wildcard: bool) -> bool:
    """RFC 8659 4.2/4.3: the issue (or, for a wildcard, issuewild when present) properties must name the CA."""
    tags = {"issuewild"} if wildcard and any(tag == "issuewild" for tag, _ in records) else {"issue"}
    values = [value for tag, value in records if tag in tags]
    if not values:
        return True  # no property of that kind: the RRset does not restrict issuance
    return any(value.split(";", 1)[0].strip().lower() in identities for value in values)


def check_caa(names, zone_of, servers_of, identities, timeout: float) -> None:
    """Raise AcmeError when a CAA record forbids the CA for one of `names`.

    `zone_of(name)` is the zone holding a name; `servers_of(zone)` its authoritative servers."""
    allowed = {i.lower() for i in identities}
    if not allowed:
        return
    refused = []
    for name in names:
        wildcard, at = name.startswith("*."), name.removeprefix("*.")
        zone = zone_of(at)
        servers = servers_of(zone)
        while True:
            records = _lookup(servers, at, timeout)
            if records is not None:
                if not _allows(records, allowed, wildcard):
                    shown = ", ".join(f'{tag} "{value}"' for tag, value in records)
                    refused.append(f"{name}: CAA at {at} ({shown}) does not name {' or '.join(sorted(allowed))}")
                break
            if at == zone or "." not in at:
                break
            at = at.split(".", 1)[1]
    if refused:
        first = sorted(allowed)[0]
        raise AcmeError(f"acme: a CAA record forbids the CA: {'; '.join(refused)}; nothing was ordered",
                        hint=f'add the CAA record `0 issue "{first}"` (and `0 issuewild "{first}"` where issuewild '
                             "records stand) beside the one found, or set CERTMGR_ACME_DIRECTORY to a CA it names")


def _lookup(servers: list[Server], name: str, timeout: float) -> list[tuple[str, str]] | None:
    """The first server's answer that can be had; a lookup no server answers is treated as no CAA (the CA
    decides then; refusing here on a network error would stop renewals for nothing)."""
    for server in servers:
        try:
            return caa_records(server, name, timeout)
        except (dns.exception.DNSException, OSError):
            continue
    return None
