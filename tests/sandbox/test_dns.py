"""The DNS emulator through the real `oci` SDK and CLI, and the DNS server through real DNS queries."""
import socket
import subprocess
import time
import uuid

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import oci
import pytest
import requests
from oci.dns.models import (PatchDomainRecordsDetails, PatchRRSetDetails, PatchZoneRecordsDetails, RecordDetails,
                            RecordOperation, UpdateDomainRecordsDetails, UpdateRRSetDetails,
                            UpdateZoneRecordsDetails)

from _fixtures import sdk_client, service_backend
from sandbox.dns_server import DnsServer
from sandbox.oci import dns as dns_module


client = sdk_client(oci.dns.DnsClient, scope="module")
backend = service_backend(dns_module, scope="module")


@pytest.fixture
def zone(backend):
    """A fresh zone per test: the session sandbox is shared."""
    name = f"z{uuid.uuid4().hex[:10]}.example"
    backend.add_zone(name)
    return name


@pytest.fixture(scope="module")
def server(backend):
    dns_server = DnsServer(backend.lookup).start()
    yield dns_server
    dns_server.stop()


def op(operation, domain, rtype=None, rdata=None, ttl=None, **extra):
    return RecordOperation(operation=operation, domain=domain, rtype=rtype, rdata=rdata, ttl=ttl, **extra)


def patch(client, zone, *items, **kwargs):
    return client.patch_zone_records(zone, PatchZoneRecordsDetails(items=list(items)), **kwargs)


def records(client, zone, **kwargs):
    return client.get_zone_records(zone, **kwargs).data.items


def service_error(call, *args, **kwargs) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as err:
        call(*args, **kwargs)
    return err.value


def ask(server, name, rtype="TXT", tcp=False, **query_kwargs):
    query = dns.message.make_query(name, rtype, **query_kwargs)
    if tcp:
        return dns.query.tcp(query, "127.0.0.1", port=server.port, timeout=3)
    return dns.query.udp(query, "127.0.0.1", port=server.port, timeout=3)


def answer_texts(reply) -> list[str]:
    return sorted(rd.to_text() for rrset in reply.answer for rd in rrset)


# --- zones -------------------------------------------------------------------------------------------

def test_get_zone_by_name_and_id(client, zone, backend):
    by_name = client.get_zone(zone.upper() + ".", scope="GLOBAL")
    by_id = client.get_zone(by_name.data.id)
    assert by_name.data.id.startswith("ocid1.dns-zone.oc1..")
    assert by_id.data.name == zone and by_name.data.lifecycle_state == "ACTIVE"
    assert by_name.data.zone_type == "PRIMARY" and by_name.data.scope == "GLOBAL"
    assert (by_name.data.serial, by_name.data.version) == (1, "1")
    assert [ns.hostname for ns in by_name.data.nameservers][0].endswith(".dns.oraclecloud.net")
    assert len(by_name.data.nameservers) == 4
    assert by_name.headers["etag"] == by_id.headers["etag"]


def test_new_zone_has_protected_soa_and_apex_ns(client, zone):
    items = records(client, zone)
    assert sorted({r.rtype for r in items}) == ["NS", "SOA"]
    assert all(r.is_protected and r.domain == zone for r in items)
    soa = next(r for r in items if r.rtype == "SOA")
    assert soa.rdata.split()[2] == "1"
    assert all(r.rdata.endswith(".dns.oraclecloud.net.") for r in items if r.rtype == "NS")


def test_list_zones_filters_sorts_and_pages(client, sandbox, backend):
    compartment = sandbox.world.add_compartment(f"dns-{uuid.uuid4().hex[:6]}")
    names = [f"{p}-{uuid.uuid4().hex[:6]}.example" for p in ("alpha", "beta", "gamma")]
    for name in names:
        backend.add_zone(name, compartment)
    everything = oci.pagination.list_call_get_all_results(client.list_zones, compartment, limit=1).data
    assert sorted(z.name for z in everything) == sorted(names)
    first = client.list_zones(compartment, limit=2)
    assert len(first.data) == 2 and first.has_next_page
    assert [z.name for z in client.list_zones(compartment, sort_by="name", sort_order="DESC").data] == \
        sorted(names, reverse=True)
    assert [z.name for z in client.list_zones(compartment, name=names[1]).data] == [names[1]]
    assert [z.name for z in client.list_zones(compartment, name_contains="GAMMA").data] == [names[2]]
    assert client.list_zones(compartment, zone_type="SECONDARY").data == []
    assert client.list_zones(compartment, lifecycle_state="DELETED").data == []
    assert len(client.list_zones(compartment, lifecycle_state="ACTIVE", scope="GLOBAL").data) == 3


def test_list_zones_in_unknown_compartment_is_404(client):
    assert service_error(client.list_zones, "ocid1.compartment.oc1..aaaaaaaanothere").status == 404


def test_unknown_zone_is_404(client):
    for call, args in ((client.get_zone, ()), (client.get_zone_records, ()),
                       (client.get_domain_records, ("x.nowhere.example",)),
                       (client.patch_zone_records, (PatchZoneRecordsDetails(items=[]),))):
        err = service_error(call, "nowhere.example", *args)
        assert (err.status, err.code) == (404, "NotAuthorizedOrNotFound")


def test_deprecated_compartment_id_is_not_looked_at(client, zone):
    """OCI says compartmentId "should be omitted" and not what a mismatch does: the sandbox accepts it."""
    assert client.get_zone(zone, compartment_id="ocid1.compartment.oc1..aaaaaaaaother").data.name == zone


# --- records -----------------------------------------------------------------------------------------

def test_two_txt_values_added_in_one_call_removing_one_keeps_the_other(client, zone):
    name = f"_acme-challenge.{zone}"
    added = patch(client, zone, op("ADD", name, "TXT", "token-one", 60), op("ADD", name, "TXT", "token-two", 60))
    txt = [r for r in added.data.items if r.rtype == "TXT"]
    assert sorted(r.rdata for r in txt) == ['"token-one"', '"token-two"']
    assert {r.rrset_version for r in txt} == {"2"}
    assert client.get_zone(zone).data.serial == 2
    hashes = {r.rdata: r.record_hash for r in txt}

    patch(client, zone, op("REMOVE", name, "TXT", "token-one"))
    left = client.get_rr_set(zone, name, "TXT").data.items
    assert [(r.rdata, r.record_hash) for r in left] == [('"token-two"', hashes['"token-two"'])]
    zone_now = client.get_zone(zone).data
    assert (zone_now.serial, zone_now.version) == (3, "3")


def test_remove_matches_quoted_value_and_by_record_hash(client, zone):
    name = f"txt.{zone}"
    patch(client, zone, op("ADD", name, "TXT", "a", 60), op("ADD", name, "TXT", "b", 60))
    patch(client, zone, op("REMOVE", name, "TXT", '"a"'))
    remaining = client.get_rr_set(zone, name, "TXT").data.items
    assert [r.rdata for r in remaining] == ['"b"']
    patch(client, zone, RecordOperation(operation="REMOVE", domain=name, record_hash=remaining[0].record_hash))
    assert service_error(client.get_rr_set, zone, name, "TXT").status == 404


def test_add_and_remove_without_change_do_not_bump_the_serial(client, zone):
    name = f"same.{zone}"
    patch(client, zone, op("ADD", name, "A", "192.0.2.1", 300))
    serial = client.get_zone(zone).data.serial
    patch(client, zone, op("ADD", name, "A", "192.0.2.1", 300), op("REMOVE", f"gone.{zone}", "TXT", "x"))
    assert client.get_zone(zone).data.serial == serial


def test_add_without_rdata_sets_the_rrset_ttl(client, zone):
    name = f"ttl.{zone}"
    patch(client, zone, op("ADD", name, "A", "192.0.2.1", 300), op("ADD", name, "A", "192.0.2.2", 300))
    patch(client, zone, op("ADD", name, "A", ttl=30))
    assert {r.ttl for r in client.get_rr_set(zone, name, "A").data.items} == {30}


def test_rdata_is_normalised(client, zone):
    items = patch(client, zone, op("ADD", f"www.{zone}", "CNAME", f"target.{zone}", 60),
                  op("ADD", f"v6.{zone}", "AAAA", "2001:DB8:0:0::1", 60),
                  op("ADD", f"long.{zone}", "TXT", "x" * 300, 60)).data.items
    by_domain = {r.domain: r.rdata for r in items}
    assert by_domain[f"www.{zone}"] == f"target.{zone}."
    assert by_domain[f"v6.{zone}"] == "2001:db8::1"
    assert by_domain[f"long.{zone}"] == f'"{"x" * 255}" "{"x" * 45}"'


def test_patch_is_atomic(client, zone):
    before = client.get_zone(zone).data.version
    err = service_error(patch, client, zone, op("ADD", f"ok.{zone}", "TXT", "v", 60),
                        op("ADD", "elsewhere.example.org", "TXT", "v", 60))
    assert (err.status, err.code) == (400, "InvalidParameter")
    assert "items[1].domain" in err.message and "not a subdomain" in err.message
    assert client.get_zone(zone).data.version == before
    assert not [r for r in records(client, zone) if r.rtype == "TXT"]


def test_require_and_prohibit_preconditions(client, zone):
    name = f"pre.{zone}"
    patch(client, zone, op("ADD", name, "TXT", "present", 60))
    err = service_error(patch, client, zone, op("ADD", f"new.{zone}", "TXT", "v", 60),
                        op("REQUIRE", name, "TXT", "absent"))
    assert err.status == 412
    assert service_error(patch, client, zone, op("PROHIBIT", name, "TXT", "present")).status == 412
    patch(client, zone, op("REQUIRE", name, "TXT", "present"), op("PROHIBIT", name, "TXT", "absent"),
          op("ADD", f"new.{zone}", "TXT", "v", 60))
    assert [r.rdata for r in client.get_rr_set(zone, f"new.{zone}", "TXT").data.items] == ['"v"']


def test_stale_if_match_and_if_unmodified_since_are_412(client, zone):
    etag = client.get_zone_records(zone).headers["etag"]
    patch(client, zone, op("ADD", f"a.{zone}", "TXT", "v", 60), if_match=etag)
    err = service_error(patch, client, zone, op("ADD", f"b.{zone}", "TXT", "v", 60), if_match=etag)
    assert err.status == 412
    assert service_error(patch, client, zone, op("ADD", f"b.{zone}", "TXT", "v", 60),
                         if_unmodified_since="Mon, 01 Jan 2024 00:00:00 GMT").status == 412
    fresh = client.get_zone(zone).headers["etag"]
    assert fresh != etag
    patch(client, zone, op("ADD", f"b.{zone}", "TXT", "v", 60), if_match=fresh)


def test_protected_records_cannot_be_changed(client, zone):
    err = service_error(patch, client, zone, op("REMOVE", zone, "NS"))
    assert (err.status, err.code) == (400, "InvalidParameter")
    assert service_error(client.delete_rr_set, zone, zone, "SOA").status == 400


def test_invalid_rdata_and_operation_are_400(client, zone):
    err = service_error(patch, client, zone, op("ADD", f"a.{zone}", "A", "not-an-address", 60))
    assert (err.status, err.code) == (400, "CannotParseRequest")
    assert service_error(patch, client, zone, op("ADD", f"a.{zone}", "A", "192.0.2.1")).status == 400  # no ttl


def test_get_zone_records_filters_pages_and_versions(client, zone):
    patch(client, zone, *[op("ADD", f"host{i:02d}.{zone}", "A", f"192.0.2.{i}", 60) for i in range(25)])
    version = client.get_zone(zone).data.version
    patch(client, zone, op("ADD", f"_acme-challenge.{zone}", "TXT", "t", 60))

    first = client.get_zone_records(zone, limit=10)
    assert len(first.data.items) == 10 and first.has_next_page
    assert first.headers["opc-total-items"] == "31"   # 25 A + TXT + 4 NS + SOA
    everything = oci.pagination.list_call_get_all_results(client.get_zone_records, zone, limit=10).data.items
    assert len(everything) == 31 and len({r.record_hash for r in everything}) == 31
    assert [r.domain for r in everything] == sorted(r.domain for r in everything)

    assert len(records(client, zone, rtype="a")) == 25
    assert [r.rdata for r in records(client, zone, domain=f"HOST07.{zone}")] == ["192.0.2.7"]
    assert len(records(client, zone, domain_contains="host1")) == 10
    assert records(client, zone, sort_by="ttl", sort_order="DESC")[0].ttl == 86400
    assert not [r for r in records(client, zone, zone_version=version) if r.rtype == "TXT"]


def test_get_zone_records_if_none_match(client, zone):
    etag = client.get_zone_records(zone).headers["etag"]
    assert service_error(client.get_zone_records, zone, if_none_match=etag).status == 304


def test_update_zone_records_replaces_everything_but_protected(client, zone):
    patch(client, zone, op("ADD", f"old.{zone}", "TXT", "old", 60))
    current = records(client, zone)
    details = [RecordDetails(domain=r.domain, rtype=r.rtype, rdata=r.rdata, ttl=r.ttl) for r in current
               if r.is_protected] + [RecordDetails(domain=f"new.{zone}", rtype="A", rdata="192.0.2.9", ttl=120)]
    result = client.update_zone_records(zone, UpdateZoneRecordsDetails(items=details)).data.items
    assert sorted((r.domain, r.rtype) for r in result if not r.is_protected) == [(f"new.{zone}", "A")]
    assert len([r for r in result if r.is_protected]) == 5


def test_domain_records_operations(client, zone):
    name = f"multi.{zone}"
    patched = client.patch_domain_records(zone, name, PatchDomainRecordsDetails(items=[
        op("ADD", name, "A", "192.0.2.1", 60), op("ADD", name, "TXT", "hello", 60)]))
    assert sorted(r.rtype for r in patched.data.items) == ["A", "TXT"]
    got = client.get_domain_records(zone, name, rtype="TXT")
    assert [r.rdata for r in got.data.items] == ['"hello"'] and got.headers["etag"]

    updated = client.update_domain_records(zone, name, UpdateDomainRecordsDetails(items=[
        RecordDetails(domain=name, rtype="AAAA", rdata="2001:db8::5", ttl=60)]))
    assert [(r.rtype, r.rdata) for r in updated.data.items] == [("AAAA", "2001:db8::5")]

    err = service_error(client.patch_domain_records, zone, name, PatchDomainRecordsDetails(items=[
        op("ADD", f"other.{zone}", "A", "192.0.2.1", 60)]))
    assert err.status == 400

    client.delete_domain_records(zone, name)
    assert client.get_domain_records(zone, name).data.items == []
    assert service_error(client.get_domain_records, zone, "outside.example.org").status == 400


def test_rr_set_operations(client, zone):
    name = f"rr.{zone}"
    client.update_rr_set(zone, name, "TXT", UpdateRRSetDetails(items=[
        RecordDetails(domain=name, rtype="TXT", rdata="one", ttl=60),
        RecordDetails(domain=name, rtype="TXT", rdata="two", ttl=60)]))
    rrset = client.get_rr_set(zone, name, "TXT")
    assert sorted(r.rdata for r in rrset.data.items) == ['"one"', '"two"']
    assert rrset.headers["opc-total-items"] == "2"

    patched = client.patch_rr_set(zone, name, "TXT", PatchRRSetDetails(items=[
        op("REMOVE", name, "TXT", "one"), op("ADD", name, "TXT", "three", 60)]))
    assert sorted(r.rdata for r in patched.data.items) == ['"three"', '"two"']

    client.delete_rr_set(zone, name, "TXT")
    err = service_error(client.get_rr_set, zone, name, "TXT")
    assert (err.status, err.code) == (404, "NotAuthorizedOrNotFound")


def test_cli_reads_domain_records(sandbox, client, zone):
    name = f"_acme-challenge.{zone}"
    patch(client, zone, op("ADD", name, "TXT", "from-cli", 60))
    result = subprocess.run(
        [".venv/bin/oci", "dns", "record", "domain", "get", "--zone-name-or-id", zone, "--domain", name,
         "--endpoint", sandbox.endpoint, "--config-file", sandbox.env["OCI_CONFIG_FILE"]],
        capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "SUPPRESS_LABEL_WARNING": "True",
             "OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True"})
    assert result.returncode == 0, result.stderr
    assert '"rdata": "\\"from-cli\\""' in result.stdout
    assert '"etag"' in result.stdout


# --- the DNS server ----------------------------------------------------------------------------------

def test_txt_answer_is_authoritative_and_edns_mirrors_the_query(client, zone, server):
    name = f"_acme-challenge.{zone}"
    patch(client, zone, op("ADD", name, "TXT", "token-one", 60), op("ADD", name, "TXT", "token-two", 60))
    for edns_query in ({}, {"use_edns": 0, "payload": 4096}, {"use_edns": 0, "payload": 1232}):
        reply = ask(server, name, **edns_query)
        assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA
        assert answer_texts(reply) == ['"token-one"', '"token-two"']
        assert reply.edns == (0 if edns_query else -1)
        if edns_query:
            assert reply.payload == 1232
    assert answer_texts(ask(server, name, tcp=True)) == ['"token-one"', '"token-two"']


def test_negative_answers_and_refused(client, zone, server):
    patch(client, zone, op("ADD", f"deep.below.{zone}", "A", "192.0.2.1", 60))
    nxdomain = ask(server, f"missing.{zone}", "A")
    assert nxdomain.rcode() == dns.rcode.NXDOMAIN and nxdomain.flags & dns.flags.AA
    assert nxdomain.authority[0].rdtype == dns.rdatatype.SOA and nxdomain.authority[0].ttl == 300
    nodata = ask(server, f"deep.below.{zone}", "TXT")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA
    empty_non_terminal = ask(server, f"below.{zone}", "A")
    assert empty_non_terminal.rcode() == dns.rcode.NOERROR and not empty_non_terminal.answer
    refused = ask(server, "www.not-emulated.example.org", "A")
    assert refused.rcode() == dns.rcode.REFUSED and not refused.flags & dns.flags.AA


def test_soa_ns_a_aaaa_and_in_zone_cname(client, zone, server):
    patch(client, zone, op("ADD", f"www.{zone}", "CNAME", f"host.{zone}", 60),
          op("ADD", f"host.{zone}", "A", "192.0.2.10", 60), op("ADD", f"host.{zone}", "AAAA", "2001:db8::10", 60))
    assert len(ask(server, zone, "NS").answer[0]) == 4
    soa = ask(server, zone.upper(), "SOA")
    assert soa.answer[0].name.to_text() == zone.upper() + "."
    assert soa.answer[0][0].serial == client.get_zone(zone).data.serial
    cname = ask(server, f"www.{zone}", "A")
    assert [r.rdtype for r in cname.answer] == [dns.rdatatype.CNAME, dns.rdatatype.A]
    assert answer_texts(ask(server, f"www.{zone}", "AAAA")) == ["2001:db8::10", f"host.{zone}."]


def test_small_payload_truncates_then_tcp_answers_in_full(client, zone, server):
    name = f"big.{zone}"
    patch(client, zone, *[op("ADD", name, "TXT", f"value-{i:02d}-" + "x" * 40, 60) for i in range(40)])
    plain = ask(server, name)
    assert plain.flags & dns.flags.TC and not plain.answer
    small = ask(server, name, use_edns=0, payload=1232)
    assert small.flags & dns.flags.TC and small.edns == 0
    large = ask(server, name, use_edns=0, payload=4096)
    assert not large.flags & dns.flags.TC and len(large.answer[0]) == 40
    full = ask(server, name, tcp=True)
    assert not full.flags & dns.flags.TC and len(full.answer[0]) == 40


def test_long_txt_is_served_as_several_strings(client, zone, server):
    value = "v" * 300
    patch(client, zone, op("ADD", f"long.{zone}", "TXT", value, 60))
    rdata = ask(server, f"long.{zone}", use_edns=0, payload=4096).answer[0][0]
    assert [len(s) for s in rdata.strings] == [255, 45] and b"".join(rdata.strings) == value.encode()


def test_garbage_gets_formerr_and_the_server_keeps_serving(zone, server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x09not a name", ("127.0.0.1", server.port))
        reply = dns.message.from_wire(sock.recvfrom(512)[0])
    assert reply.id == 0xBEEF and reply.rcode() == dns.rcode.FORMERR
    assert ask(server, zone, "SOA").rcode() == dns.rcode.NOERROR


def test_propagation_delay(sandbox, client, zone, server):
    reply = requests.post(f"{sandbox.endpoint}/_control/dns/zones/{zone}", json={"propagationDelay": 1.0})
    assert reply.status_code == 200 and reply.json()["propagationDelay"] == 1.0
    name = f"_acme-challenge.{zone}"
    started = time.monotonic()
    patch(client, zone, op("ADD", name, "TXT", "slow", 60))
    assert ask(server, name).rcode() == dns.rcode.NXDOMAIN
    assert [r.rdata for r in client.get_rr_set(zone, name, "TXT").data.items] == ['"slow"']
    time.sleep(max(0.0, 1.2 - (time.monotonic() - started)))
    assert answer_texts(ask(server, name)) == ['"slow"']


def test_wrong_txt_answers(backend, client, zone, server):
    name = f"_acme-challenge.{zone}"
    patch(client, zone, op("ADD", name, "TXT", "right", 60))
    backend.set_wrong_txt(zone, "bogus")
    assert answer_texts(ask(server, name)) == ['"bogus"']
    assert [r.rdata for r in client.get_rr_set(zone, name, "TXT").data.items] == ['"right"']
    backend.set_wrong_txt(zone, None)
    assert answer_texts(ask(server, name)) == ['"right"']
