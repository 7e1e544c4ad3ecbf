"""The module's Alarms on certmgr's metrics: on the monitor's topic, one per condition a person must hear of (a
certificate close to expiry, a renewer failing, a renewer silent), and only when the metrics are posted."""
import pytest

from test_terraform import MODULE, load
from test_terraform_eval import evaluate, tfvars
from test_terraform_plan import each_instance, planned, resources
from test_terraform_seed import GUIDE_TFVARS

TOPIC = {"monitor_topic_id": "ocid1.onstopic.oc1.iad.aaaatopic"}


@pytest.fixture(scope="module")
def module():
    return load(MODULE)


def alarms(module, **settings) -> dict:
    body = resources(module)["oci_monitoring_alarm.this"]
    return {key: {k: evaluate(body[k], scope) for k in ("query", "severity", "destinations", "namespace",
                                                          "pending_duration")}
            for scope, key in each_instance(body, planned(module, {**tfvars(GUIDE_TFVARS), **settings}))}


def test_three_alarms_on_the_monitors_topic(module):
    found = alarms(module, **TOPIC, monitor_critical_days=10)
    assert found["expiring"]["query"] == "days_to_expiry[1d].groupBy(name).min() < 10"
    assert found["renewal-failing"]["query"] == "renewal_success[1d].groupBy(deployment).max() < 1"
    assert found["renewer-silent"]["query"] == "renewal_success[1d].groupBy(deployment).absent(72h)"
    assert found["renewer-silent"]["pending_duration"] == "PT1D"  # a day-long window, then a day more
    assert {a["severity"] for a in found.values()} == {"CRITICAL", "ERROR"}
    assert all(a["destinations"] == [TOPIC["monitor_topic_id"]] and a["namespace"] == "certmgr" for a in found.values())


@pytest.mark.parametrize("settings", [{**TOPIC, "enable_metrics": False}, {**TOPIC, "create_alarms": False},
                                      {"create_monitor_topic": False}, {**TOPIC, "enable_monitor": False}])
def test_no_alarm_without_metrics_a_topic_or_the_monitor(module, settings):
    assert alarms(module, **settings) == {}
