"""Challenges where they live: names in two zones, and an `_acme-challenge` delegated by CNAME into a
validation zone. Each ends issued and served, with no TXT record left in any zone."""
from __future__ import annotations

import oci

from _runs import run
from sandbox.oci import dns as dns_service

LABEL = "zones"


def add_zone(tenant, name: str) -> str:
    return tenant.sandbox.backend(dns_service).add_zone(name, tenant.compartment_id)


def txt_left(tenant, zone_id: str) -> list[str]:
    items = oci.pagination.list_call_get_all_results(tenant.dns.get_zone_records, zone_id, rtype="TXT").data.items
    return [r.domain for r in items if r.domain.startswith("_acme-challenge")]


def patched_zones(tenant, before) -> set[str]:
    return {c["path"].split("/")[3] for c in tenant.calls_since(before) if c["operation"] == "dns.patch_zone_records"}


def test_one_certificate_for_names_in_two_zones(tenant):
    second = f"second-{tenant.zone}"
    second_id = add_zone(tenant, second)
    env = dict(tenant.env, CERTMGR_DOMAIN=f"{tenant.zone},*.{tenant.zone},www.{second}",
               CERTMGR_DNS_ZONE_ID=f"{tenant.zone_id},{second_id}", CERTMGR_NAME_PREFIX="two")
    before = tenant.footprint()
    result = run(env)
    assert (result.status, result.action) == ("ok", "issue"), result.render()
    assert patched_zones(tenant, before) == {tenant.zone_id, second_id}  # each value written in its own zone
    assert txt_left(tenant, tenant.zone_id) == txt_left(tenant, second_id) == []
    assert tenant.served(f"www.{second}").serial_number == int(result.serial, 16)


def test_an_acme_challenge_cname_is_followed_into_the_validation_zone(tenant):
    validation = f"validation-{tenant.zone}"
    validation_id = add_zone(tenant, validation)
    target = f"{tenant.zone}.{validation}"
    tenant.dns.patch_zone_records(tenant.zone_id, oci.dns.models.PatchZoneRecordsDetails(items=[
        oci.dns.models.RecordOperation(domain=f"_acme-challenge.{tenant.zone}", rtype="CNAME", rdata=f"{target}.",
                                       ttl=60, operation="ADD")]))
    try:
        env = dict(tenant.env, CERTMGR_DNS_ZONE_ID=f"{tenant.zone_id},{validation_id}", CERTMGR_NAME_PREFIX="cname")
        tenant.hand_over()
        before = tenant.footprint()
        result = run(env)
        assert (result.status, result.action) == ("ok", "issue"), result.render()
        assert patched_zones(tenant, before) == {validation_id}  # the delegated zone, never the names' own
        assert txt_left(tenant, validation_id) == [] and txt_left(tenant, tenant.zone_id) == []

        outside = dict(env, CERTMGR_DNS_ZONE_ID=tenant.zone_id, CERTMGR_NAME_PREFIX="nowhere")
        tenant.hand_over()
        before = tenant.footprint()
        refused = run(outside, force=True)
        assert refused.status == "failed" and f"is a CNAME to {target}, in no zone of CERTMGR_DNS_ZONE_ID" in refused.error
        assert refused.error_component == "dns"
        assert tenant.mutations_since(before) == []  # refused before the lock, the account and any order
    finally:
        tenant.dns.patch_zone_records(tenant.zone_id, oci.dns.models.PatchZoneRecordsDetails(items=[
            oci.dns.models.RecordOperation(domain=f"_acme-challenge.{tenant.zone}", rtype="CNAME",
                                           rdata=f"{target}.", operation="REMOVE")]))


def test_a_private_zone_is_refused_before_any_order(tenant):
    """A PRIVATE zone answers only inside its VCNs: the CA could never see the challenge."""
    private_id = tenant.sandbox.backend(dns_service).add_zone(tenant.zone, tenant.compartment_id, scope="PRIVATE")
    before = tenant.footprint()
    result = run(dict(tenant.env, CERTMGR_DNS_ZONE_ID=private_id, CERTMGR_NAME_PREFIX="private"))
    assert result.status == "failed" and "is a PRIVATE zone" in result.error, result.render()
    assert "nothing was ordered" in result.error and "GLOBAL" in result.render()
    assert tenant.mutations_since(before) == [] and result.serial is None
