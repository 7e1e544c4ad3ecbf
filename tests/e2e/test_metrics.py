"""What a renewer leaves for alerting. Its figures in OCI Monitoring, read back through the SDK's
SummarizeMetricsData: every run that ran posts renewal_success (1, or 0 when it failed) and the days left on the
certificate it leaves in place, so an Alarm can watch both, and notice when they stop coming. And in its run
record (the lock secret's metadata, which the monitor reads): why its runs fail, and since when."""
import datetime as dt

import oci
import pytest

from _runs import run
from certmgr.cloud.lock import RunRecord

LABEL = "metrics"


@pytest.fixture(scope="module")
def tenant(tenant):
    tenant.env.update(CERTMGR_METRICS="true")
    return tenant


def figures(tenant, query: str) -> list:
    client = tenant.sandbox.client(oci.monitoring.MonitoringClient)
    now = dt.datetime.now(dt.timezone.utc)
    details = oci.monitoring.models.SummarizeMetricsDataDetails(
        namespace="certmgr", query=query, start_time=now - dt.timedelta(minutes=10),
        end_time=now + dt.timedelta(minutes=1))
    return client.summarize_metrics_data(tenant.compartment_id, details).data


def lock_metadata(tenant) -> dict:
    bundle = tenant.secrets.get_secret_bundle_by_name(f"{tenant.prefix}-lock", tenant.vault_id).data
    return bundle.metadata or {}


def test_each_run_posts_its_outcome_and_the_days_left(issued_tenant, restore):
    quiet = run(issued_tenant.env)
    assert quiet.status == "ok" and quiet.action == "nothing", quiet.render()
    issued_tenant.control("POST", "/faults", {"operation": "lb.create_certificate", "status": 400})
    failed = run(issued_tenant.env, force=True)
    assert failed.status == "failed", failed.render()
    record = RunRecord.from_metadata(lock_metadata(issued_tenant))
    assert record.run_error.startswith("lb: uploading certificate") and record.run_failed_at > 0

    (success,) = figures(issued_tenant, f'renewal_success[1m]{{deployment = "{LABEL}"}}.count()')
    assert sum(p.value for p in success.aggregated_datapoints) == 3  # the first run, the quiet one, the failed one
    (worst,) = figures(issued_tenant, f'renewal_success[10m]{{deployment = "{LABEL}"}}.min()')
    assert worst.aggregated_datapoints[-1].value == 0
    (days,) = figures(issued_tenant, f'days_to_expiry[10m]{{deployment = "{LABEL}"}}.min()')
    assert days.dimensions["name"] == issued_tenant.zone
    assert 80 < days.aggregated_datapoints[-1].value <= 90  # Pebble's certificates last 90 days (less a little)


def test_a_run_that_succeeds_clears_the_failure_it_recorded(issued_tenant, restore):
    issued_tenant.control("POST", "/faults", {"operation": "lb.update_listener", "status": 400})
    assert run(issued_tenant.env, force=True).status == "failed"
    assert RunRecord.from_metadata(lock_metadata(issued_tenant)).run_error.startswith("lb: switching listener")
    issued_tenant.sandbox.world.faults.clear()
    assert run(issued_tenant.env).status == "ok"  # deploys what the failed run stored
    record = RunRecord.from_metadata(lock_metadata(issued_tenant))
    assert (record.run_error, record.run_failed_at) == ("", 0.0)
