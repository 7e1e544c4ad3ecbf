"""DNS-01 on OCI DNS: put TXT values in and take exactly them out again (`propagation.py` proves them visible).

Shaped like a lego DNS provider: `present` and `cleanup` take the same list of (name, value) pairs and
touch nothing else. Both are one PATCH each, by value, so an apex and a wildcard sharing one
`_acme-challenge` name, or another client's record there, are never disturbed.
"""
from __future__ import annotations

from dataclasses import dataclass

import oci

from .errors import DnsError, oci_failure

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
            raise oci_failure(DnsError, f"dns: cannot read zone {self.zone_id}", exc,
                              "check CERTMGR_DNS_ZONE_ID and that the function may read the zone") from None

    def _patch(self, records: list[TxtRecord], operation: str) -> None:
        items = [oci.dns.models.RecordOperation(domain=r.name, rtype="TXT", rdata=r.value, ttl=TXT_TTL,
                                                operation=operation) for r in records]
        try:
            self.client.patch_zone_records(self.zone_id, oci.dns.models.PatchZoneRecordsDetails(items=items))
        except oci.exceptions.ServiceError as exc:
            verb = "add" if operation == "ADD" else "remove"
            names = ", ".join(sorted({r.name for r in records}))
            raise oci_failure(DnsError, f"dns: could not {verb} TXT records at {names} in zone {self.zone_id}",
                              exc) from None

    def present(self, records: list[TxtRecord]) -> None:
        self._patch(records, "ADD")

    def cleanup(self, records: list[TxtRecord]) -> None:
        self._patch(records, "REMOVE")
