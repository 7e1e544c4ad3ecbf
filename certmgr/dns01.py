"""DNS-01 on OCI DNS: put TXT values in, prove they are visible, take exactly them out again.

Shaped like a lego DNS provider: `present` and `cleanup` take the same list of (name, value) pairs and
touch nothing else. Both are one PATCH each, by value, so an apex and a wildcard sharing one
`_acme-challenge` name, or another client's record there, are never disturbed.
"""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import oci

from .config import DNS_PORT
from .errors import DnsError, PropagationTimeout

TXT_TTL = 60


@dataclass(frozen=True)
class TxtRecord:
    name: str   # "_acme-challenge.example.com"
    value: str  # the key authorization digest, unquoted


def challenge_name(identifier: str) -> str:
    """`*.example.com` and `example.com` both validate at `_acme-challenge.example.com`."""
    return "_acme-challenge." + identifier.removeprefix("*.")


class OciDns:
    """TXT records in one OCI DNS zone."""

    def __init__(self, client: oci.dns.DnsClient, zone_id: str):
        self.client = client
        self.zone_id = zone_id

    def zone(self) -> oci.dns.models.Zone:
        try:
            return self.client.get_zone(self.zone_id).data
        except oci.exceptions.ServiceError as exc:
            raise DnsError(f"dns: cannot read zone {self.zone_id}: {exc.status} {exc.code}: {exc.message}",
                           hint="check CERTMGR_DNS_ZONE_ID and that the function may read the zone") from None

    def _patch(self, records: list[TxtRecord], operation: str) -> None:
        items = [oci.dns.models.RecordOperation(domain=r.name, rtype="TXT", rdata=r.value, ttl=TXT_TTL,
                                                operation=operation) for r in records]
        try:
            self.client.patch_zone_records(self.zone_id, oci.dns.models.PatchZoneRecordsDetails(items=items))
        except oci.exceptions.ServiceError as exc:
            verb = "add" if operation == "ADD" else "remove"
            names = ", ".join(sorted({r.name for r in records}))
            raise DnsError(f"dns: could not {verb} TXT records at {names} in zone {self.zone_id}: "
                           f"{exc.status} {exc.code}: {exc.message}") from None

    def present(self, records: list[TxtRecord]) -> None:
        self._patch(records, "ADD")

    def cleanup(self, records: list[TxtRecord]) -> None:
        self._patch(records, "REMOVE")


def zone_nameservers(zone: oci.dns.models.Zone) -> list[tuple[str, int]]:
    """The zone's authoritative servers as addresses, resolved through the system resolver."""
    servers = []
    for ns in zone.nameservers or []:
        try:
            for info in socket.getaddrinfo(ns.hostname.rstrip("."), DNS_PORT, type=socket.SOCK_DGRAM):
                servers.append((info[4][0], DNS_PORT))
                break
        except socket.gaierror as exc:
            raise DnsError(f"dns: cannot resolve nameserver {ns.hostname}: {exc}",
                           hint="set CERTMGR_DNS_NAMESERVERS to the zone's authoritative servers") from None
    if not servers:
        raise DnsError(f"dns: zone {zone.name} lists no nameservers",
                       hint="set CERTMGR_DNS_NAMESERVERS")
    return servers


def txt_values(server: tuple[str, int], name: str, timeout: float = 3.0) -> set[str]:
    """TXT values at `name` as one authoritative server answers them right now (TCP when truncated)."""
    query = dns.message.make_query(name, dns.rdatatype.TXT, use_edns=0, payload=1232)
    query.flags &= ~dns.flags.RD
    reply, _ = dns.query.udp_with_fallback(query, server[0], timeout=timeout, port=server[1])
    values = set()
    for rrset in reply.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            values |= {b"".join(r.strings).decode() for r in rrset}
    return values


def wait_for_propagation(records: list[TxtRecord], servers: list[tuple[str, int]], *, timeout: float,
                         interval: float = 2.0, clock=time.monotonic, sleep=time.sleep) -> float:
    """Poll every server until each shows every value; return the seconds it took.

    Bounded by `timeout`; on expiry the error says which server is missing which value.
    """
    start = clock()
    wanted: dict[str, set[str]] = {}
    for r in records:
        wanted.setdefault(r.name, set()).add(r.value)
    pending = {(s, n) for s in servers for n in wanted}
    last_error: dict = {}
    while True:
        for server, name in sorted(pending):
            try:
                if wanted[name] <= txt_values(server, name):
                    pending.discard((server, name))
                    last_error.pop((server, name), None)
            except (dns.exception.DNSException, OSError) as exc:
                last_error[(server, name)] = exc
        if not pending:
            return clock() - start
        if clock() - start >= timeout:
            missing = "; ".join(f"{host}:{port} lacks {name}" +
                                (f" ({last_error[((host, port), name)]})" if ((host, port), name) in last_error else "")
                                for (host, port), name in sorted(pending))
            raise PropagationTimeout(f"dns: TXT records not visible after {timeout:.0f}s: {missing}",
                                     hint="raise CERTMGR_PROPAGATION_TIMEOUT or check the zone's delegation")
        sleep(min(interval, max(0.0, timeout - (clock() - start))))
