"""The monitor's model: how close to expiry a certificate is (classify), whether to alert about it again
(alert_reason), and which region an OCID names (region_of)."""
import datetime as dt

import pytest

from certmgr.monitor import alert_reason, classify, region_of

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
TODAY = NOW.date()
DAY = dt.timedelta(days=1)


@pytest.mark.parametrize("left, expected", [
    (400 * DAY, ("OK", 400)),
    (30 * DAY + dt.timedelta(seconds=1), ("OK", 30)),
    (30 * DAY, ("WARNING", 30)),          # thresholds are inclusive
    (7 * DAY + dt.timedelta(hours=1), ("WARNING", 7)),
    (7 * DAY, ("CRITICAL", 7)),
    (dt.timedelta(hours=1), ("CRITICAL", 0)),
    (dt.timedelta(0), ("EXPIRED", 0)),
    (-dt.timedelta(hours=1), ("EXPIRED", 0)),
    (-dt.timedelta(hours=36), ("EXPIRED", -1)),
    (-3 * DAY, ("EXPIRED", -3)),
])
def test_classify_thresholds(left, expected):
    assert classify(NOW + left, NOW, 30, 7) == expected


def test_critical_zero_means_only_expired_is_worse_than_warning():
    assert classify(NOW + dt.timedelta(hours=1), NOW, 30, 0)[0] == "WARNING"


@pytest.mark.parametrize("severity, last, expected", [
    ("OK", None, None),
    ("OK", ("WARNING", TODAY - DAY), None),
    ("WARNING", None, "new"),
    ("WARNING", ("WARNING", TODAY - DAY), "held"),
    ("WARNING", ("WARNING", TODAY - 6 * DAY), "held"),
    ("WARNING", ("WARNING", TODAY - 7 * DAY), "reminder"),
    ("WARNING", ("CRITICAL", TODAY), "new"),       # severity changed: news again
    ("CRITICAL", ("WARNING", TODAY), "new"),
    ("CRITICAL", ("CRITICAL", TODAY), "repeat"),   # every run
    ("EXPIRED", ("EXPIRED", TODAY), "repeat"),
    ("UNKNOWN", None, "repeat"),
])
def test_alert_reason(severity, last, expected):
    assert alert_reason(severity, last, TODAY, 7) == expected


def test_realert_zero_repeats_warnings_every_run():
    assert alert_reason("WARNING", ("WARNING", TODAY), TODAY, 0) == "reminder"


@pytest.mark.parametrize("ocid, region", [
    ("ocid1.certificate.oc1.eu-frankfurt-1.aaaa", "eu-frankfurt-1"),
    ("ocid1.vault.oc1.iad.aaaa", "us-ashburn-1"),        # short codes, as real OCIDs carry them
    ("ocid1.onstopic.oc1.phx.aaaa", "us-phoenix-1"),
    ("ocid1.tenancy.oc1..aaaa", "home"),
    ("garbage", "home"),
])
def test_region_of(ocid, region):
    assert region_of(ocid, "home") == region
