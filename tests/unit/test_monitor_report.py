"""The monitor's digest: every item with what is needed to act (names, time left, where it lives, what to
do), in the given order, as text and as an HTML table; what changed since the last digest first; cut at an
item boundary to what a Notifications message holds."""
import datetime as dt
from html.parser import HTMLParser

from certmgr.cloud.lock import RunRecord
from certmgr.monitor import Item, classify, report
from certmgr.monitor.actions import action
from certmgr.monitor.deliver import TOPIC_MESSAGE_LIMIT

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
DAY, HOUR = dt.timedelta(days=1), dt.timedelta(hours=1)


def cert(severity, name, left, source="certificates", **extra):
    not_after = NOW + left
    fields = dict(compartment_id="ocid1.compartment.oc1..aaaa", compartment="apps", issuer="CN=R11,O=Let's Encrypt",
                  serial="0abc", names=(f"{name}.example.com", f"*.{name}.example.com"))
    item = Item(severity, name, "eu-frankfurt-1", source, f"ocid1.certificate.oc1.eu-frankfurt-1.{name}",
                not_after=not_after, days_left=classify(not_after, NOW, 30, 7)[1], checked_at=NOW,
                **{**fields, **extra})
    item.action = action(item, None)
    return item


class Cells(HTMLParser):
    """The text a reader sees in each table cell (tags, styles and attributes dropped)."""

    def __init__(self):
        super().__init__()
        self.rows, self.text = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.text = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append("".join(self.text).strip())
            self.text = None

    def handle_data(self, data):
        if self.text is not None:
            self.text.append(data)


def test_digest_lists_items_in_the_given_order_with_everything_needed_to_act():
    items = [cert("EXPIRED", "old", -(2 * DAY + 23 * HOUR), alert="new"), cert("CRITICAL", "soon", 3 * DAY + 23 * HOUR),
             cert("WARNING", "later", 20 * DAY + 5 * HOUR, alert="new"),
             Item("UNKNOWN", "broken", "ap-seoul-1", "certificates", "ocid1.certificate.oc1.ap-seoul-1.b",
                  reason="reading its certificate bundle failed: 500 InternalServerError: boom")]
    counts = {"EXPIRED": 1, "CRITICAL": 1, "WARNING": 2, "UNKNOWN": 1, "OK": 5}
    message = report.digest(items, counts=counts, held_back=1, checked_at=NOW, realert_days=7, renewed=2)
    assert message.title == ("certmgr: 1 new EXPIRED, 1 new WARNING, 2 certificates renewed; "
                             "1 EXPIRED, 1 CRITICAL, 2 WARNING, 1 could not check")
    text = message.text
    assert text.startswith("Since the last digest: 1 new EXPIRED, 1 new WARNING, 2 certificates renewed.\n")
    assert text.index("old") < text.index("soon") < text.index("later") < text.index("broken")
    assert "10 certificates checked" in text and "5 OK" in text
    assert "1 more WARNING certificate was reported in the last 7 days and is not repeated" in text
    assert "old.example.com, *.old.example.com (old)" in text
    assert "expired 2025-02-26 13:00 UTC (2 days 23 h ago)" in text
    assert "expires 2025-03-05 11:00 UTC (in 3 days 23 h)" in text
    assert "expires 2025-03-21 17:00 UTC (in 20 days 5 h)" in text
    assert "region eu-frankfurt-1; compartment apps" in text and "ocid1.compartment" not in text
    assert "do: imported into the Certificates service: renew it with its issuer and import the new version" in text
    assert "issuer CN=R11,O=Let's Encrypt, serial 0abc" in text
    assert "COULD NOT CHECK broken" in text and "reason: reading its certificate bundle failed: 500" in text


def test_the_html_part_is_a_table_a_person_reads_worst_first():
    items = [cert("CRITICAL", "soon", 30 * HOUR), cert("WARNING", "later", 20 * DAY)]
    message = report.digest(items, counts={"CRITICAL": 1, "WARNING": 1}, held_back=0, checked_at=NOW,
                            realert_days=7)
    cells = Cells()
    cells.feed(message.html)
    header, *rows = cells.rows
    assert header == ["Severity", "Expiry", "Names", "Where", "What to do"]
    assert [row[0] for row in rows] == ["CRITICAL", "WARNING"]
    assert rows[0][1] == "expires 2025-03-02 18:00 UTC (in 1 day 6 h)"
    assert rows[0][2] == "soon.example.com, *.soon.example.com (soon)"
    assert rows[0][3] == "region eu-frankfurt-1; compartment apps"
    assert rows[0][4].startswith("imported into the Certificates service")


def test_html_escapes_what_it_shows():
    item = cert("WARNING", "x", 20 * DAY, names=("<script>alert(1)</script>",))
    html = report.digest([item], counts={"WARNING": 1}, held_back=0, checked_at=NOW, realert_days=7).html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_digest_when_everything_is_ok():
    message = report.digest([], counts={"OK": 3}, held_back=0, checked_at=NOW, realert_days=7)
    assert message.title == "certmgr: no change; all 3 certificates OK"


def test_actions_say_what_to_do_and_how_certmgrs_renewer_is_doing():
    lb = cert("WARNING", "edge", 20 * DAY, source="load-balancer")
    assert action(lb, None).startswith("renew it with its issuer, add the new bundle to the load balancer")
    unused = cert("INFO", "old", 2 * DAY, source="load-balancer")
    assert action(unused, None) == "nothing is served with it: delete it from the load balancer, or ignore it"
    own = cert("CRITICAL", "own", 3 * DAY, source="vault", deployment="tmi")
    failing = RunRecord(failures=3, failing_since=(NOW - 26 * DAY).timestamp(), last_error="acme: CAA forbids")
    assert action(own, failing) == ("certmgr deployment tmi renews it, and its renewer is failing since 2025-02-03 "
                                    "12:00 UTC (3 failed orders in a row): acme: CAA forbids")
    assert action(own, RunRecord()).startswith("certmgr deployment tmi should have renewed it by now and has "
                                               "recorded no failed order")
    deploying = RunRecord(run_error="lb: switching listener https failed: 409 Conflict",
                          run_failed_at=(NOW - 2 * DAY).timestamp())
    assert action(own, deploying) == ("certmgr deployment tmi renews it, and its runs are failing since 2025-02-27 "
                                      "12:00 UTC: lb: switching listener https failed: 409 Conflict")
    assert action(cert("WARNING", "own", 20 * DAY, deployment="tmi"), RunRecord()) == \
        "certmgr deployment tmi renews it before it expires: nothing to do while its runs succeed"


def test_topic_message_is_cut_at_an_item_boundary():
    items = [cert("WARNING", f"c{i:04d}", 20 * DAY) for i in range(600)]
    message = report.digest(items, counts={"WARNING": 600}, held_back=0, checked_at=NOW, realert_days=7)
    assert len(message.text.encode()) > TOPIC_MESSAGE_LIMIT
    cut = report.fit(message.text, TOPIC_MESSAGE_LIMIT)
    assert len(cut.encode()) <= TOPIC_MESSAGE_LIMIT
    shown = cut.count("\nWARNING ")
    assert f"and {600 - shown} more, not shown" in cut and cut.rstrip().endswith("every certificate.")
