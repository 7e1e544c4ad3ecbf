"""Every emulated service reads a request body through the SDK model of its operation, the same way: a field
of the wrong type is a 400 naming the model, and a key the model does not have never reaches the state."""
import oci
import pytest

from _fixtures import send
from sandbox.oci import dns, vault

# (method, path template, SDK model, body with a wrong type); {lb}, {zone}, {secret}, {topic}, {log}, {cert}
# are filled from the seeded tenancy
WRONG_TYPES = {
    "lb.create_certificate": ("POST", "/20170115/loadBalancers/{lb}/certificates", "CreateCertificateDetails",
                              {"certificateName": ["not", "a", "string"]}),
    "dns.patch_zone_records": ("PATCH", "/20180115/zones/{zone}/records", "PatchZoneRecordsDetails",
                               {"items": [{"domain": "a.example.com", "ttl": "sixty", "operation": "ADD"}]}),
    "dns.update_rr_set": ("PUT", "/20180115/zones/{zone}/records/www.example.com/TXT", "UpdateRRSetDetails",
                          {"items": "not a list"}),
    "vault.update_secret": ("PUT", "/20180608/secrets/{secret}", "UpdateSecretDetails",
                            {"metadata": "not an object", "currentVersionNumber": {"n": 1}}),
    "certificates.create_certificate": ("POST", "/20210224/certificates", "CreateCertificateDetails",
                                        {"name": 7, "compartmentId": {"x": 1}}),
    "ons.publish_message": ("POST", "/20181201/topics/{topic}/messages", "MessageDetails", {"title": ["x"]}),
    "logging.put_logs": ("POST", "/20200831/logs/{log}/actions/push", "PutLogsDetails",
                         {"specversion": "1.0", "logEntryBatches": "none"}),
    "search.search_resources": ("POST", "/20180409/resources", "SearchDetails",
                                {"type": "Structured", "query": ["query all resources"]}),
}


def ids(sandbox) -> dict:
    secret = sandbox.backend(vault).create_secret({
        "compartmentId": sandbox.ids["compartment"], "vaultId": sandbox.ids["vault"], "keyId": sandbox.ids["key"],
        "secretName": "shape-check", "secretContent": {"contentType": "BASE64", "content": "eA=="}}).id
    return dict(lb=sandbox.ids["lb"], zone=sandbox.ids["zone"], secret=secret, topic=sandbox.ids["topic"],
                log=sandbox.ids["log"])


@pytest.fixture(scope="module")
def seeded(sandbox):
    return ids(sandbox)


@pytest.mark.parametrize("method, path, model, body", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_a_field_of_the_wrong_type_is_a_400_naming_the_model(sandbox, seeded, method, path, model, body):
    reply = send(sandbox, method, path.format(**seeded), body)
    assert reply.status_code == 400, reply.text
    assert reply.json()["message"].startswith(f"Invalid {model}:"), reply.json()


def test_keys_the_model_does_not_have_are_dropped(sandbox, seeded):
    reply = send(sandbox, "PUT", f"/20180608/secrets/{seeded['secret']}",
                 {"metadata": {"kept": "yes"}, "metaData": {"dropped": "yes"}, "surprise": 1})
    assert reply.status_code == 200, reply.text
    secret = sandbox.backend(vault).secret(seeded["secret"])
    assert secret.metadata == {"kept": "yes"}
    reply = send(sandbox, "PATCH", f"/20180115/zones/{seeded['zone']}/records", {"items": [
        {"domain": "shape.example.com", "rtype": "TXT", "rdata": '"v"', "ttl": 30, "operation": "ADD",
         "colour": "blue"}]})
    assert reply.status_code == 200, reply.text
    (record,) = [r for r in reply.json()["items"] if r["domain"] == "shape.example.com"]
    assert "colour" not in record and record["ttl"] == 30
    zone = sandbox.backend(dns).zones[seeded["zone"]]
    assert [r.rdata for r in zone.records if r.domain == "shape.example.com"] == ['"v"']
    client = sandbox.client(oci.dns.DnsClient)
    client.patch_zone_records(seeded["zone"], oci.dns.models.PatchZoneRecordsDetails(items=[
        oci.dns.models.RecordOperation(domain="shape.example.com", rtype="TXT", operation="REMOVE")]))
