"""OCI DNS state: zones and their records, and the rules for names, record types, TTLs and rdata."""
from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT

from ..errors import InvalidParameter, NotAuthorizedOrNotFound, OciError


API = "/20180115"
# A PATCH item's `operation`. It is optional (the SDK models' `mandatory:"false"`, `omitempty` in the Go SDK) and
# an item without one is an ADD: the SDK's own example `{"domain", "rtype", "ttl"}` sets an RRSet's TTL, and lego's
# oraclecloud provider has added its TXT records that way since 2019 (CONFORMANCE.md, dns.patch_*).
OPERATIONS = ("ADD", "REMOVE", "REQUIRE", "PROHIBIT")
SCOPES = ("GLOBAL", "PRIVATE")
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
    scope: str = "GLOBAL"                       # PRIVATE: resolvable only inside its view's VCNs
    view_id: str | None = None                  # the private view holding a PRIVATE zone

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
