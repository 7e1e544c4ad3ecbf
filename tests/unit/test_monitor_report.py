"""The monitor's digest: every item with what is needed to act, in the given order, and cut at an item
boundary to what a Notifications message holds."""
import datetime as dt

from certmgr.monitor import Item, classify, report
from certmgr.monitor.deliver import TOPIC_MESSAGE_LIMIT

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


def cert(severity, name, days, **extra):
    not_after = NOW + days * DAY
    return Item(severity, name, "eu-frankfurt-1", "certificates", f"ocid1.certificate.oc1.eu-frankfurt-1.{name}",
                compartment_id="ocid1.compartment.oc1..aaaa", compartment="apps", not_after=not_after,
                days_left=classify(not_after, NOW, 30, 7)[1], issuer="CN=R11,O=Let's Encrypt", serial="0abc",
                **extra)


def test_digest_lists_items_in_the_given_order_with_everything_needed_to_act():
    items = [cert("EXPIRED", "old", -2), cert("CRITICAL", "soon", 3), cert("WARNING", "later", 20),
             Item("UNKNOWN", "broken", "ap-seoul-1", "certificates", "ocid1.certificate.oc1.ap-seoul-1.b",
                  reason="reading its certificate bundle failed: 500 InternalServerError: boom")]
    counts = {"EXPIRED": 1, "CRITICAL": 1, "WARNING": 2, "UNKNOWN": 1, "OK": 5}
    message = report.digest(items, counts=counts, held_back=1, checked_at=NOW, realert_days=7)
    assert message.title == "certmgr: 1 EXPIRED, 1 CRITICAL, 2 WARNING, 1 could not check"
    text = message.text
    assert text.index("old") < text.index("soon") < text.index("later") < text.index("broken")
    assert "10 certificates checked" in text and "5 OK" in text
    assert "1 more WARNING certificate was reported in the last 7 days and is not repeated" in text
    assert "expired 2025-02-27 12:00 UTC (2 days ago)" in text
    assert "expires 2025-03-04 12:00 UTC (in 3 days)" in text
    assert "region eu-frankfurt-1, compartment apps (ocid1.compartment.oc1..aaaa)" in text
    assert "issuer CN=R11,O=Let's Encrypt, serial 0abc" in text
    assert "COULD NOT CHECK broken" in text and "reason: reading its certificate bundle failed: 500" in text


def test_digest_when_everything_is_ok():
    message = report.digest([], counts={"OK": 3}, held_back=0, checked_at=NOW, realert_days=7)
    assert message.title == "certmgr: all 3 certificates OK"


def test_topic_message_is_cut_at_an_item_boundary():
    items = [cert("WARNING", f"c{i:04d}", 20) for i in range(600)]
    message = report.digest(items, counts={"WARNING": 600}, held_back=0, checked_at=NOW, realert_days=7)
    assert len(message.text.encode()) > TOPIC_MESSAGE_LIMIT
    cut = report.fit(message.text, TOPIC_MESSAGE_LIMIT)
    assert len(cut.encode()) <= TOPIC_MESSAGE_LIMIT
    shown = cut.count("\nWARNING ")
    assert f"and {600 - shown} more, not shown" in cut and cut.rstrip().endswith("every certificate.")
