"""The rows of sandbox/oci/CONFORMANCE.md that no third-party client exercises, as raw signed HTTP: the requests
real clients send, byte for byte where it matters, and the answers OCI documents for them."""
import uuid

import pytest

from _fixtures import fresh_zone, send, service_backend
from sandbox.oci import dns

dns_backend = service_backend(dns, scope="module")


zone = fresh_zone("dns_backend", "c")


def txt_at(sandbox, zone: str, domain: str) -> list[str]:
    reply = send(sandbox, "GET", f"/20180115/zones/{zone}/records/{domain}?rtype=TXT")
    assert reply.status_code == 200, reply.text
    return sorted(item["rdata"] for item in reply.json()["items"])


# --- DNS: PATCH items without `operation` -------------------------------------------------------------

def test_patch_item_without_operation_is_an_add_as_lego_sends_it(sandbox, zone):
    """lego's oraclecloud provider (providers/dns/oraclecloud/oraclecloud.go, OCI Go SDK: `operation` is
    `omitempty`) presents a challenge with a PatchDomainRecords item that has no `operation`, and cleans it
    up by its recordHash after reading opc-total-items."""
    domain, compartment = f"_acme-challenge.{zone}", sandbox.ids["compartment"]
    added = send(sandbox, "PATCH", f"/20180115/zones/{zone}/records/{domain}?compartmentId={compartment}",
                 {"items": [{"domain": domain, "rdata": "lego-token", "rtype": "TXT", "ttl": 120,
                             "isProtected": False}]})
    assert added.status_code == 200, added.text
    assert txt_at(sandbox, zone, domain) == ['"lego-token"']
    found = send(sandbox, "GET", f"/20180115/zones/{zone}/records/{domain}?rtype=TXT&compartmentId={compartment}")
    assert found.headers["opc-total-items"] == "1"
    (record,) = found.json()["items"]
    assert (record["rdata"], record["ttl"]) == ('"lego-token"', 120)
    removed = send(sandbox, "PATCH", f"/20180115/zones/{zone}/records/{domain}?compartmentId={compartment}",
                   {"items": [{"recordHash": record["recordHash"], "operation": "REMOVE"}]})
    assert removed.status_code == 200, removed.text
    assert txt_at(sandbox, zone, domain) == []


def test_zone_patch_item_without_operation_or_rdata_sets_the_rrset_ttl(sandbox, zone):
    """The SDK's own example of a RecordOperation, `{"domain", "rtype", "ttl"}` with no operation, "specifies a
    new TTL for every record in the ... RRSet" (oci.dns.models.RecordOperation.operation)."""
    domain = f"www.{zone}"
    for body in ({"items": [{"domain": domain, "rtype": "A", "rdata": "192.0.2.1", "ttl": 300}]},
                 {"items": [{"domain": domain, "rtype": "A", "ttl": 60}]}):
        assert send(sandbox, "PATCH", f"/20180115/zones/{zone}/records", body).status_code == 200
    (record,) = send(sandbox, "GET", f"/20180115/zones/{zone}/records/{domain}/A").json()["items"]
    assert (record["rdata"], record["ttl"]) == ("192.0.2.1", 60)


def test_an_unknown_operation_is_a_400_without_a_python_repr(sandbox, zone):
    reply = send(sandbox, "PATCH", f"/20180115/zones/{zone}/records",
                 {"items": [{"domain": f"x.{zone}", "rtype": "TXT", "rdata": "v", "ttl": 60, "operation": "UPSERT"}]})
    assert reply.status_code == 400 and reply.json()["code"] == "InvalidParameter"
    assert "operation" in reply.json()["message"] and "None" not in reply.json()["message"]


# --- DNS: scope and viewId ----------------------------------------------------------------------------

@pytest.fixture
def private_zone(sandbox, dns_backend):
    """A PRIVATE zone with the same name as a public one, in a view of its own."""
    name = f"p{uuid.uuid4().hex[:10]}.example"
    public_id = dns_backend.add_zone(name, sandbox.ids["compartment"])
    private_id = dns_backend.add_zone(name, sandbox.ids["compartment"], scope="PRIVATE")
    return name, public_id, private_id, dns_backend.zones[private_id].view_id


def test_scope_and_view_id_select_the_zone(sandbox, private_zone):
    name, public_id, private_id, view_id = private_zone
    for query, expected in (("", public_id), ("?scope=GLOBAL", public_id),
                            (f"?scope=PRIVATE&viewId={view_id}", private_id), (f"?viewId={view_id}", private_id)):
        reply = send(sandbox, "GET", f"/20180115/zones/{name}{query}")
        assert reply.status_code == 200, (query, reply.text)
        assert reply.json()["id"] == expected, query
    assert send(sandbox, "GET", f"/20180115/zones/{private_id}").json()["scope"] == "PRIVATE"


@pytest.mark.parametrize("path, query, status, code", [
    ("{private_id}", "scope=GLOBAL", 404, "NotAuthorizedOrNotFound"),   # a PRIVATE zone asked for as public
    ("{public_id}", "scope=PRIVATE", 404, "NotAuthorizedOrNotFound"),   # and the other way round
    ("{name}", "scope=PRIVATE", 400, "InvalidParameter"),               # a private zone by name needs viewId
    ("{name}", "scope=LOCAL", 400, "InvalidParameter"),
    ("{public_id}/records", "scope=PRIVATE", 404, "NotAuthorizedOrNotFound"),
])
def test_a_zone_outside_the_scope_asked_for_is_refused(sandbox, private_zone, path, query, status, code):
    name, public_id, private_id, _ = private_zone
    reply = send(sandbox, "GET", "/20180115/zones/" + path.format(name=name, public_id=public_id,
                                                                   private_id=private_id) + "?" + query)
    assert (reply.status_code, reply.json()["code"]) == (status, code), reply.text


def test_private_records_are_not_served_to_public_dns(sandbox, dns_backend, private_zone):
    name, public_id, private_id, view_id = private_zone
    body = {"items": [{"domain": f"_acme-challenge.{name}", "rtype": "TXT", "rdata": "private", "ttl": 60}]}
    assert send(sandbox, "PATCH", f"/20180115/zones/{private_id}/records", body).status_code == 200
    assert dns_backend.lookup(f"_acme-challenge.{name}").records == ()
    listed = send(sandbox, "GET", f"/20180115/zones?compartmentId={sandbox.ids['compartment']}&scope=PRIVATE"
                                  f"&viewId={view_id}").json()
    assert [z["id"] for z in listed] == [private_id]


# --- paging and If-Match ------------------------------------------------------------------------------

def test_records_page_by_opc_next_page_with_the_total_in_opc_total_items(sandbox, zone):
    items = [{"domain": f"t{i}.{zone}", "rtype": "TXT", "rdata": f"v{i}", "ttl": 60, "operation": "ADD"}
             for i in range(5)]
    assert send(sandbox, "PATCH", f"/20180115/zones/{zone}/records", {"items": items}).status_code == 200
    seen, query = [], "rtype=TXT&limit=2"
    while query is not None:
        reply = send(sandbox, "GET", f"/20180115/zones/{zone}/records?{query}")
        assert reply.status_code == 200 and reply.headers["opc-total-items"] == "5" and reply.headers["etag"]
        assert len(reply.json()["items"]) <= 2
        seen += [item["domain"] for item in reply.json()["items"]]
        token = reply.headers.get("opc-next-page")
        query = None if token is None else f"rtype=TXT&limit=2&page={token}"
    assert seen == [f"t{i}.{zone}" for i in range(5)]


def test_a_stale_if_match_is_a_412_and_changes_nothing(sandbox, zone):
    etag = send(sandbox, "GET", f"/20180115/zones/{zone}/records").headers["etag"]
    body = {"items": [{"domain": f"a.{zone}", "rtype": "TXT", "rdata": "first", "ttl": 60, "operation": "ADD"}]}
    assert send(sandbox, "PATCH", f"/20180115/zones/{zone}/records", body, {"If-Match": etag}).status_code == 200
    body["items"][0]["rdata"] = "second"
    stale = send(sandbox, "PATCH", f"/20180115/zones/{zone}/records", body, {"If-Match": etag})
    assert (stale.status_code, stale.json()["code"]) == (412, "NoEtagMatch")
    assert txt_at(sandbox, zone, f"a.{zone}") == ['"first"']


# --- DNS: a PATCH of preconditions only -----------------------------------------------------------------

def zone_version(sandbox, zone: str) -> str:
    return send(sandbox, "GET", f"/20180115/zones/{zone}").json()["version"]


def test_a_prohibit_precondition_alone_changes_nothing_and_fails_on_what_exists(sandbox, zone):
    """REQUIRE / PROHIBIT: "record data must (not) already exist", and "preconditions check all fields, including
    read-only data like recordHash and rrsetVersion" (oci.dns.models.RecordOperation)."""
    domain = f"_acme-challenge.{zone}"
    before = zone_version(sandbox, zone)
    absent = {"domain": domain, "rtype": "TXT", "rdata": "never-there", "operation": "PROHIBIT"}
    reply = send(sandbox, "PATCH", f"/20180115/zones/{zone}/records", {"items": [absent]})
    assert reply.status_code == 200, reply.text
    assert zone_version(sandbox, zone) == before
    send(sandbox, "PATCH", f"/20180115/zones/{zone}/records",
         {"items": [{"domain": domain, "rtype": "TXT", "rdata": "there", "ttl": 60, "operation": "ADD"}]})
    (record,) = send(sandbox, "GET", f"/20180115/zones/{zone}/records/{domain}?rtype=TXT").json()["items"]
    present = {"domain": domain, "rtype": "TXT", "rdata": "there"}
    refused = send(sandbox, "PATCH", f"/20180115/zones/{zone}/records",
                   {"items": [{**present, "operation": "PROHIBIT"}]})
    assert (refused.status_code, refused.json()["code"]) == (412, "PreconditionFailed")
    for version, status in ((record["rrsetVersion"], 200), ("0", 412)):
        required = {**present, "rrsetVersion": version, "operation": "REQUIRE"}
        reply = send(sandbox, "PATCH", f"/20180115/zones/{zone}/records", {"items": [required]})
        assert reply.status_code == status, (version, reply.text)
