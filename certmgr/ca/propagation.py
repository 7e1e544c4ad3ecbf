"""Proof that TXT values are visible: every authoritative nameserver of the zone answers them, asked directly.

Only a run that orders needs this (and dnspython), so it lives apart from the DNS API adapter.
"""
from __future__ import annotations

import socket

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import oci.dns

from ..settings.parsers import DNS_PORT
from ..cloud.dns import TxtRecord
from ..errors import DnsError, PropagationTimeout
from ..timing import Deadline, Policy


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


def authoritative(zones, zone: str, configured: tuple[tuple[str, int], ...]) -> list[tuple[str, int]]:
    """The servers to ask about `zone` (a name in `zones`, cloud.dns.Zones): CERTMGR_DNS_NAMESERVERS when set, else
    the zone's own."""
    return list(configured) or zone_nameservers(zones.models[zone])


def txt_values(server: tuple[str, int], name: str, timeout: float) -> set[str]:
    """TXT values at `name` as one authoritative server answers them right now (TCP when truncated)."""
    query = dns.message.make_query(name, dns.rdatatype.TXT, use_edns=0, payload=1232)
    query.flags &= ~dns.flags.RD
    reply, _ = dns.query.udp_with_fallback(query, server[0], timeout=timeout, port=server[1])
    values = set()
    for rrset in reply.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            values |= {b"".join(r.strings).decode() for r in rrset}
    return values


def unanswered(server: tuple[str, int], zone: str, timeout: float) -> list[str]:
    """How `server` fails to answer for `zone` (its SOA, asked without recursion) over UDP and over TCP: a CA
    asks over UDP and retries a long answer over TCP. Empty when it answers both."""
    query = dns.message.make_query(zone, dns.rdatatype.SOA)
    query.flags &= ~dns.flags.RD
    problems = []
    for transport, ask in (("UDP", dns.query.udp), ("TCP", dns.query.tcp)):
        try:
            reply = ask(query, server[0], timeout=timeout, port=server[1])
        except (dns.exception.DNSException, OSError) as exc:
            problems.append(f"no answer over {transport} ({getattr(exc, 'strerror', None) or type(exc).__name__})")
            continue
        if not any(rrset.rdtype == dns.rdatatype.SOA for rrset in reply.answer):
            problems.append(f"over {transport}, {dns.rcode.to_text(reply.rcode())} without the zone's SOA "
                            f"(not authoritative for {zone})")
    return problems


def wait_for_propagation(records: list[TxtRecord], servers: list[tuple[str, int]], *, policy: Policy,
                         deadline: Deadline) -> float:
    """Poll every server until each shows every value; return the seconds it took.

    Bounded by `deadline`; on expiry the error says which server is missing which value.
    """
    wanted: dict[str, set[str]] = {}
    for r in records:
        wanted.setdefault(r.name, set()).add(r.value)
    pending = {(s, n) for s in servers for n in wanted}
    last_error: dict = {}
    def waiting() -> str:
        answering = sum(1 for s in servers if not any((s, n) in pending for n in wanted))
        names = f"{len(wanted)} name{'s' if len(wanted) != 1 else ''}"
        return f"TXT at {names}: {answering} of {len(servers)} nameservers answer"
    polls = policy.polls(deadline, every=policy.dns_poll, waiting=waiting)
    for elapsed in polls:
        for server, name in sorted(pending):
            try:
                if wanted[name] <= txt_values(server, name, policy.dns_timeout):
                    pending.discard((server, name))
                    last_error.pop((server, name), None)
            except (dns.exception.DNSException, OSError) as exc:
                last_error[(server, name)] = exc
        if not pending:
            return elapsed
    missing = "; ".join(f"{host}:{port} lacks {name}" +
                        (f" ({last_error[((host, port), name)]})" if ((host, port), name) in last_error else "")
                        for (host, port), name in sorted(pending))
    raise PropagationTimeout(f"dns: TXT records not visible after {polls.elapsed:.0f}s: {missing}",
                             pending=tuple(f"{host}:{port} {name}" for (host, port), name in sorted(pending)),
                             hint="raise CERTMGR_PROPAGATION_TIMEOUT or check the zone's delegation")
