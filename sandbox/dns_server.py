"""An authoritative DNS server over UDP and TCP on one port, answering from the emulated OCI zones.

Pebble validates DNS-01 challenges by asking this server, so replies must be well-formed for strict
clients (Go's miekg/dns): EDNS0 only when the query used it, UDP replies never larger than the size
the client advertised (TC set instead, the client retries over TCP), long TXT values split into
255-byte strings. `lookup_fn(name)` returns a `sandbox.oci.dns.Lookup` or None (name in no zone).
A CNAME is followed within its zone; into another zone it serves only when the query asks for recursion
(RD), as the CA's resolver does, while certmgr's propagation check (RD clear) sees the authoritative answer.
"""
from __future__ import annotations

import socket
import struct
import threading
import traceback
from typing import Callable

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

OUR_PAYLOAD = 1232          # the DNS Flag Day 2020 size: no IP fragmentation
PLAIN_UDP_LIMIT = 512       # RFC 1035, for queries without EDNS
MAX_CNAME_CHAIN = 8


class DnsServer:
    def __init__(self, lookup_fn: Callable, host: str = "127.0.0.1", port: int = 0):
        self.lookup_fn = lookup_fn
        self.host, self.port = host, port
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> "DnsServer":
        self._udp, self._tcp = self._bind()
        self.port = self._udp.getsockname()[1]
        for target, name in ((self._serve_udp, "dns-udp"), (self._serve_tcp, "dns-tcp")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for sock in (self._udp, self._tcp):
            if sock:
                sock.close()
        for thread in self._threads:
            thread.join(timeout=2)

    def _bind(self) -> tuple[socket.socket, socket.socket]:
        """UDP and TCP on the same port; with port 0, retry until a free UDP port is free for TCP too."""
        for _ in range(50):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((self.host, self.port))
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((self.host, udp.getsockname()[1]))
            except OSError:
                udp.close()
                tcp.close()
                if self.port:
                    raise
                continue
            tcp.listen(64)
            udp.settimeout(0.2)
            tcp.settimeout(0.2)
            return udp, tcp
        raise OSError("no port free for both UDP and TCP")

    # --- transports ---------------------------------------------------------------------------------

    def _serve_udp(self) -> None:
        while not self._stopping.is_set():
            try:
                data, peer = self._udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self.answer(data, udp=True)
            if reply:
                try:
                    self._udp.sendto(reply, peer)
                except OSError:
                    pass

    def _serve_tcp(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve_connection, args=(conn,), name="dns-tcp-conn",
                             daemon=True).start()

    def _serve_connection(self, conn: socket.socket) -> None:
        """RFC 7766: several length-prefixed queries may share one connection."""
        conn.settimeout(10)
        with conn:
            try:
                while not self._stopping.is_set():
                    header = _read_exactly(conn, 2)
                    if not header:
                        return
                    data = _read_exactly(conn, struct.unpack("!H", header)[0])
                    if data is None:
                        return
                    reply = self.answer(data, udp=False)
                    if reply:
                        conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                return

    # --- the answer ---------------------------------------------------------------------------------

    def answer(self, wire: bytes, udp: bool) -> bytes | None:
        """The reply to one query in wire format, or None to stay silent (no usable header)."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:       # garbage of any kind must not stop the server
            return _header_only(wire, dns.rcode.FORMERR)
        try:
            return self._answer(query, udp)
        except Exception:       # a bug here must cost one answer, not the server
            traceback.print_exc()
            return _header_only(wire, dns.rcode.SERVFAIL)

    def _answer(self, query: dns.message.Message, udp: bool) -> bytes | None:
        if query.flags & dns.flags.QR:
            return None
        response = dns.message.make_response(query, our_payload=OUR_PAYLOAD)
        if query.edns > 0:
            response.set_rcode(dns.rcode.BADVERS)
        elif query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
        elif len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
        elif query.question[0].rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
        else:
            self._resolve(query.question[0], response)
        limit = 65535
        if udp:
            limit = max(query.payload, PLAIN_UDP_LIMIT) if query.edns >= 0 else PLAIN_UDP_LIMIT
        return _to_wire(response, limit)

    def _resolve(self, question: dns.rrset.RRset, response: dns.message.Message) -> None:
        qname, qtype = question.name, question.rdtype
        found = self.lookup_fn(qname.to_text())
        if found is None:
            response.set_rcode(dns.rcode.REFUSED)
            return
        response.flags |= dns.flags.AA
        apex, owner = found.apex, qname
        for _ in range(MAX_CNAME_CHAIN):
            records = [r for r in found.records if qtype == dns.rdatatype.ANY or r[0] == dns.rdatatype.to_text(qtype)]
            cname = [r for r in found.records if r[0] == "CNAME"]
            if records:
                response.answer.extend(_rrsets(owner, records))
                return
            if cname and qtype != dns.rdatatype.CNAME:
                response.answer.extend(_rrsets(owner, cname))
                owner = dns.name.from_text(cname[0][2])
                found = self.lookup_fn(owner.to_text())
                if found is None:
                    return      # the target is in no zone served here: the resolver follows it
                if found.apex != apex and not response.flags & dns.flags.RD:
                    return      # asked authoritatively (no recursion desired): the answer ends at the zone
                apex = found.apex  # recursion desired, as the CA's resolver asks: follow into the other zone
                continue
            break
        if not found.exists:
            response.set_rcode(dns.rcode.NXDOMAIN)
        soa_ttl, soa_rdata = found.soa
        soa = _rdata(dns.rdatatype.SOA, soa_rdata)
        negative_ttl = min(soa_ttl, soa.minimum)   # RFC 2308
        response.authority.append(dns.rrset.from_rdata(dns.name.from_text(apex), negative_ttl, soa))


def _rrsets(owner: dns.name.Name, records) -> list[dns.rrset.RRset]:
    sets: dict[str, dns.rrset.RRset] = {}
    for rtype, ttl, rdata in records:
        rdtype = dns.rdatatype.from_text(rtype)
        rrset = sets.setdefault(rtype, dns.rrset.RRset(owner, dns.rdataclass.IN, rdtype))
        rrset.add(_rdata(rdtype, rdata), ttl)
    return list(sets.values())


def _rdata(rdtype: int, text: str) -> dns.rdata.Rdata:
    """Zone RDATA holds absolute names (OCI's presentation), so no origin is applied."""
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, text, origin=dns.name.root, relativize=False)


def _to_wire(response: dns.message.Message, limit: int) -> bytes:
    """Whole answer if it fits in `limit`, else an empty one with TC so the client retries on TCP."""
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        response.answer.clear()
        response.authority.clear()
        response.additional.clear()
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=limit)


def _header_only(wire: bytes, rcode: int) -> bytes | None:
    """A bare reply to an unparseable query: its id and opcode, QR set, no sections."""
    if len(wire) < 12 or wire[2] & 0x80:      # no header, or itself a response: never answer those
        return None
    query_id, flags = struct.unpack("!HH", wire[:4])
    flags = 0x8000 | (flags & 0x7900) | rcode     # QR, opcode and RD copied
    return struct.pack("!HHHHHH", query_id, flags, 0, 0, 0, 0)


def _read_exactly(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
