"""Notifications, Logging ingestion, Identity and Resource Search through the real SDK."""
import datetime as dt

import oci
import pytest
import requests
import trustme

from _fixtures import service_backend
from sandbox.oci import certificates, observability

CA = trustme.CA()
ACTIVE_QUERY = "query certificate resources where lifecycleState = 'ACTIVE'"


def seed_certificates(sandbox, region, compartment, count, prefix="c"):
    """`count` imported certificates with spread-out expiry dates; returns their ids."""
    backend = sandbox.world.backend(certificates, region)
    ids = []
    for i in range(count):
        not_after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1 + i % 90)
        leaf = CA.issue_cert(f"{prefix}{i}.example.com", not_after=not_after)
        ids.append(backend.import_certificate(compartment, f"{prefix}-{i}", leaf.cert_chain_pems[0].bytes().decode(),
                                              CA.cert_pem.bytes().decode(), leaf.private_key_pem.bytes().decode()))
    return ids


def search_all(sandbox, region, query, **kwargs):
    client = sandbox.client(oci.resource_search.ResourceSearchClient, region)
    details = oci.resource_search.models.StructuredSearchDetails(type="Structured", query=query,
                                                                 matching_context_type="NONE")
    return oci.pagination.list_call_get_all_results(client.search_resources, details, **kwargs).data


@pytest.fixture
def compartment(sandbox, request):
    return sandbox.world.add_compartment(f"obs-{request.node.name}")


home = service_backend(observability)  # the home region's


def test_publish_message_is_recorded(sandbox, home, compartment):
    topic = home.add_topic(compartment, "cert-expiry")
    client = sandbox.client(oci.ons.NotificationDataPlaneClient)
    result = client.publish_message(topic, oci.ons.models.MessageDetails(title="Expiring", body="www in 3 days")).data
    assert result.message_id and result.time_stamp
    [message] = home.messages(topic)
    assert (message["messageId"], message["title"], message["body"]) == (result.message_id, "Expiring",
                                                                         "www in 3 days")
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.publish_message(topic.replace("aaaa", "bbbb", 1), oci.ons.models.MessageDetails(body="x"))
    assert err.value.status == 404

    state = requests.get(f"{sandbox.endpoint}/_control/state").json()
    topics = state["regions"][sandbox.world.home_region]["observability"]["topics"]
    assert [t["messages"] for t in topics if t["id"] == topic] == [[message]]


def test_put_logs_records_entries_and_validates(sandbox, home, compartment):
    log = home.add_log(compartment, "certmgr")
    client = sandbox.client(oci.loggingingestion.LoggingClient)
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    models = oci.loggingingestion.models
    batch = models.LogEntryBatch(source="certmgr", type="certmgr.expiry", subject="www", defaultlogentrytime=when,
                                 entries=[models.LogEntry(data='{"days": 3}', id="e1"),
                                          models.LogEntry(data="two", id="e2", time=when + dt.timedelta(seconds=1))])
    reply = client.put_logs(log, models.PutLogsDetails(specversion="1.0", log_entry_batches=[batch]))
    assert reply.status == 200
    entries = home.entries(log)
    assert [(e["id"], e["data"], e["source"], e["subject"]) for e in entries] == [
        ("e1", '{"days": 3}', "certmgr", "www"), ("e2", "two", "certmgr", "www")]
    assert dt.datetime.fromisoformat(entries[0]["time"]) == when

    for details in (models.PutLogsDetails(specversion="2.0", log_entry_batches=[batch]),
                    models.PutLogsDetails(specversion="1.0", log_entry_batches=[])):
        with pytest.raises(oci.exceptions.ServiceError) as err:
            client.put_logs(log, details)
        assert err.value.status == 400
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.put_logs(log.replace("aaaa", "bbbb", 1), models.PutLogsDetails(specversion="1.0",
                                                                              log_entry_batches=[batch]))
    assert err.value.status == 404
    assert len(home.entries(log)) == 2


def test_region_subscriptions_and_compartments(sandbox, compartment):
    world = sandbox.world
    identity = sandbox.client(oci.identity.IdentityClient)
    subscriptions = identity.list_region_subscriptions(world.tenancy_id).data
    assert [s.region_name for s in subscriptions] == world.regions
    assert all(s.status == "READY" for s in subscriptions)
    assert [s.region_name for s in subscriptions if s.is_home_region] == [world.home_region]
    assert {s.region_key for s in subscriptions} >= {"IAD"}
    assert identity.get_tenancy(world.tenancy_id).data.home_region_key == "IAD"

    child = world.add_compartment("obs-child", parent=compartment)
    assert identity.get_compartment(child).data.compartment_id == compartment
    assert [c.id for c in identity.list_compartments(compartment).data] == [child]
    everything = oci.pagination.list_call_get_all_results(
        identity.list_compartments, world.tenancy_id, compartment_id_in_subtree=True, access_level="ANY",
        limit=2).data
    assert {compartment, child} <= {c.id for c in everything}
    assert world.tenancy_id not in {c.id for c in everything}


def test_search_pages_through_active_certificates(sandbox, compartment):
    region = sandbox.world.home_region
    ids = seed_certificates(sandbox, region, compartment, 250)
    management = sandbox.client(oci.certificates_management.CertificatesManagementClient)
    management.schedule_certificate_deletion(
        ids[0], oci.certificates_management.models.ScheduleCertificateDeletionDetails())

    found = [r for r in search_all(sandbox, region, ACTIVE_QUERY, limit=100) if r.compartment_id == compartment]
    assert sorted(r.identifier for r in found) == sorted(ids[1:])
    assert {(r.resource_type, r.lifecycle_state) for r in found} == {("Certificate", "ACTIVE")}
    named = {r.identifier: r.display_name for r in found}
    assert named[ids[7]] == "c-7"

    mine = search_all(sandbox, region, f"QUERY Certificate RESOURCES WHERE compartmentId = '{compartment}'")
    assert len(mine) == 250
    assert {r.identifier for r in search_all(sandbox, region, "query all resources")} >= set(ids)


def test_search_is_per_region(sandbox, compartment):
    home, other = sandbox.world.home_region, sandbox.world.regions[-1]
    assert home != other
    ids = seed_certificates(sandbox, other, compartment, 3, prefix="far")
    query = f"{ACTIVE_QUERY} && compartmentId = '{compartment}'"
    assert sorted(r.identifier for r in search_all(sandbox, other, query)) == sorted(ids)
    assert search_all(sandbox, home, query) == []


def test_unsupported_query_is_400(sandbox):
    client = sandbox.client(oci.resource_search.ResourceSearchClient)
    query = "query instance resources where shape = 'VM'"
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.search_resources(oci.resource_search.models.StructuredSearchDetails(type="Structured", query=query))
    assert (err.value.status, err.value.code) == (400, "InvalidParameter")
    assert query in err.value.message
