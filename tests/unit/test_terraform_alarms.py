"""The module's Alarms on certmgr's metrics: on the monitor's topic, one per condition a person must hear of (a
certificate close to expiry, a renewer failing, a renewer silent), and only when the metrics are posted; each
argument one the Monitoring API takes, within its documented range.

The oci provider's oci_monitoring_alarm arguments are the Monitoring API's CreateAlarmDetails (the provider's
website/docs/r/monitoring_alarm.html.markdown); the oci SDK installed here carries that model, its required
fields, allowed values and documented ranges, so the alarms are held to it rather than to a copy."""
import re

import oci.monitoring.models
import pytest

from test_terraform import MODULE, load
from test_terraform_eval import evaluate, tfvars
from test_terraform_plan import each_instance, planned, resources
from test_terraform_seed import GUIDE_TFVARS

TOPIC = {"monitor_topic_id": "ocid1.onstopic.oc1.iad.aaaatopic"}
API = oci.monitoring.models.CreateAlarmDetails
META = {"for_each", "count", "provider", "lifecycle", "depends_on"}  # Terraform's, not the resource's
ISO = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?")  # ISO 8601 durations of days, hours, minutes


@pytest.fixture(scope="module")
def module():
    return load(MODULE)


def alarms(module, fields=("query", "severity", "destinations", "namespace", "pending_duration"), **settings) -> dict:
    body = resources(module)["oci_monitoring_alarm.this"]
    return {key: {k: evaluate(body[k], scope) for k in fields}
            for scope, key in each_instance(body, planned(module, {**tfvars(GUIDE_TFVARS), **settings}))}


def test_three_alarms_on_the_monitors_topic(module):
    found = alarms(module, **TOPIC, monitor_critical_days=10)
    assert found["expiring"]["query"] == "days_to_expiry[1d].groupBy(name).min() < 10"
    assert found["renewal-failing"]["query"] == "renewal_success[1d].groupBy(deployment).max() < 1"
    assert found["renewer-silent"]["query"] == "renewal_success[1d].groupBy(deployment).absent(72h)"
    assert found["renewer-silent"]["pending_duration"] == "PT1H"  # a day-long window, then the longest pending
    assert {a["severity"] for a in found.values()} == {"CRITICAL", "ERROR"}
    assert all(a["destinations"] == [TOPIC["monitor_topic_id"]] and a["namespace"] == "certmgr" for a in found.values())


@pytest.mark.parametrize("settings", [{**TOPIC, "enable_metrics": False}, {**TOPIC, "create_alarms": False},
                                      {"create_monitor_topic": False}, {**TOPIC, "enable_monitor": False}])
def test_no_alarm_without_metrics_a_topic_or_the_monitor(module, settings):
    assert alarms(module, **settings) == {}


def minutes(duration: str) -> int | None:
    found = ISO.fullmatch(duration)
    if not found or duration in ("P", "PT"):
        return None
    days, hours, mins = (int(n or 0) for n in found.groups())
    return (days * 24 + hours) * 60 + mins


def documented_range(field: str) -> tuple[int, int]:
    """`Minimum: PT1M. Maximum: PT1H.` from the SDK model's documentation of `field`, in minutes."""
    low, high = re.search(r"Minimum: (PT\w+)\. Maximum: (PT\w+)\.", getattr(API, field).__doc__).groups()
    return minutes(low), minutes(high)


def test_every_argument_is_one_the_api_takes_and_every_required_one_is_set(module):
    body = resources(module)["oci_monitoring_alarm.this"]
    arguments = set(body) - META
    assert arguments - set(API().swagger_types) - {"defined_tags", "freeform_tags"} == set()
    required = {f for f in API().swagger_types if "**[Required]**" in (getattr(API, f).__doc__ or "")}
    assert required and required - arguments == set(), "required by CreateAlarmDetails but not set"


def test_each_alarms_values_are_within_what_the_api_documents(module):
    low, high = documented_range("pending_duration")
    for key, alarm in alarms(module, **TOPIC, fields=("severity", "message_format", "pending_duration", "query")).items():
        # The severities an alarm has (the Alarm model's; CreateAlarmDetails gives only an example).
        assert alarm["severity"] in {v for k, v in vars(oci.monitoring.models.Alarm).items() if k.startswith("SEVERITY_")}, key
        assert alarm["message_format"] in {v for k, v in vars(API).items() if k.startswith("MESSAGE_FORMAT_")}, key
        taken = minutes(alarm["pending_duration"])
        assert taken is not None and low <= taken <= high, f"{key}: pending_duration {alarm['pending_duration']} is not {low} to {high} minutes"
        # The longest interval an alarm query offers is a day; an absence detection period is 1 minute to 3 days.
        interval = re.match(r"\w+\[(\d+)([mhd])\]", alarm["query"]).groups()
        assert int(interval[0]) * {"m": 1, "h": 60, "d": 1440}[interval[1]] <= 1440, key
        for number, unit in re.findall(r"absent\((\d+)([mhd])\)", alarm["query"]):
            assert 1 <= int(number) * {"m": 1, "h": 60, "d": 1440}[unit] <= 3 * 1440, key
