"""The monitor's pure parts: classification, re-alert decisions and memory, its settings, the digest."""
import datetime as dt

import pytest

from certmgr.settings.config import Config
from certmgr.errors import ConfigError
from certmgr.monitor import AlertMemory, Item, alert_reason, classify, region_of, remember, report
from certmgr.monitor import MonitorConfig

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
TODAY = NOW.date()
DAY = dt.timedelta(days=1)
SMTP = {
    "CERTMGR_MONITOR_SMTP_FROM": "certmgr@example.com",
    "CERTMGR_MONITOR_SMTP_TO": "ops@example.com, sec@example.com",
    "CERTMGR_MONITOR_SMTP_USERNAME_SECRET": "ocid1.vaultsecret.oc1.iad.aaaaaaaauser",
    "CERTMGR_MONITOR_SMTP_PASSWORD_SECRET": "ocid1.vaultsecret.oc1.iad.aaaaaaaapass",
}


# --------------------------------------------------------------------------------------------- classify

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


# ------------------------------------------------------------------------------------------ re-alerting

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


def item(key, severity, alert=None):
    return Item(severity, key, "us-ashburn-1", "certificates", key, alert=alert)


def test_remember_stamps_what_was_sent_and_forgets_ok_certificates():
    old = {"held": ("WARNING", TODAY - 2 * DAY), "now-ok": ("WARNING", TODAY - DAY),
           "unread": ("CRITICAL", TODAY - DAY), "deleted-recently": ("WARNING", TODAY - 3 * DAY),
           "deleted-long-ago": ("WARNING", TODAY - 30 * DAY)}
    old["still-crit"] = ("CRITICAL", TODAY - 4 * DAY)
    items = [item("held", "WARNING", "held"), item("now-ok", "OK"), item("unread", "UNKNOWN", "repeat"),
             item("new", "WARNING", "new"), item("crit", "CRITICAL", "new"), item("still-crit", "CRITICAL", "repeat")]
    assert remember(old, items, TODAY, True, 7) == {
        "held": ("WARNING", TODAY - 2 * DAY), "unread": ("CRITICAL", TODAY - DAY),
        "new": ("WARNING", TODAY), "crit": ("CRITICAL", TODAY), "still-crit": ("CRITICAL", TODAY - 4 * DAY),
        "deleted-recently": ("WARNING", TODAY - 3 * DAY)}


def test_an_unchanged_situation_leaves_the_memory_unchanged():
    """Each write is a Vault secret version (30 at most): a run that only repeats must not write."""
    old = {"w": ("WARNING", TODAY - DAY), "c": ("CRITICAL", TODAY - 3 * DAY), "e": ("EXPIRED", TODAY - 9 * DAY)}
    items = [item("w", "WARNING", "held"), item("c", "CRITICAL", "repeat"), item("e", "EXPIRED", "repeat")]
    assert remember(old, items, TODAY, True, 7) == old


def test_nothing_is_stamped_when_the_digest_reached_no_one():
    old = {"w": ("WARNING", TODAY - 8 * DAY)}
    assert remember(old, [item("w", "WARNING", "reminder"), item("n", "WARNING", "new")], TODAY, False, 7) == old


class MemoryStore:
    """certmgr's VaultStore interface (read/write by name), in memory."""

    def __init__(self):
        self.data = {}

    def read(self, name):
        return (self.data[name], None) if name in self.data else None

    def write(self, name, content):
        self.data[name] = content


def test_alert_memory_round_trip_and_trim_to_vault_size():
    store = MemoryStore()
    memory = AlertMemory(store, "x-monitor-state")
    assert memory.load() == {}
    small = {"ocid1.certificate.oc1.iad.a": ("WARNING", TODAY)}
    assert memory.save(small) == []
    assert memory.load() == small
    many = {f"ocid1.certificate.oc1.iad.{'a' * 60}{i:05d}": ("WARNING" if i % 2 else "CRITICAL", TODAY - i * DAY)
            for i in range(400)}
    warnings = memory.save(many)
    kept = memory.load()
    assert len(store.data["x-monitor-state"]) <= 18_000 and warnings and "did not fit" in warnings[0]
    assert all(severity == "WARNING" for severity, _ in kept.values())   # the entries that suppress mail stay
    assert max(TODAY - day for _, day in kept.values()) < min(TODAY - day for k, (_, day) in many.items()
                                                               if k not in kept and many[k][0] == "WARNING")


def test_memory_off_without_a_store():
    memory = AlertMemory(None, "x")
    assert memory.load() == {} and memory.save({"a": ("WARNING", TODAY)}) == []


@pytest.mark.parametrize("ocid, region", [
    ("ocid1.certificate.oc1.eu-frankfurt-1.aaaa", "eu-frankfurt-1"),
    ("ocid1.vault.oc1.iad.aaaa", "us-ashburn-1"),        # short codes, as real OCIDs carry them
    ("ocid1.onstopic.oc1.phx.aaaa", "us-phoenix-1"),
    ("ocid1.tenancy.oc1..aaaa", "home"),
    ("garbage", "home"),
])
def test_region_of(ocid, region):
    assert region_of(ocid, "home") == region


# -------------------------------------------------------------------------------------------- settings

def monitor_settings(env) -> MonitorConfig:
    """The monitor's settings as a monitor run gets them: read with the rest of the Config, in one place."""
    return Config.from_env({"CERTMGR_MODE": "monitor", **env}).monitor


def test_defaults():
    settings = monitor_settings({})
    assert (settings.warning_days, settings.critical_days, settings.realert_days) == (30, 7, 7)
    assert settings.always_send is False and settings.lb_ids == () and settings.channels == ()
    assert settings.smtp_port == 587 and settings.concurrency == 16
    assert settings.smtp_host_for("ap-seoul-1") == "smtp.email.ap-seoul-1.oci.oraclecloud.com"
    assert any("no notification channel" in w for w in settings.warnings)


def test_every_channel():
    settings = monitor_settings({
        **SMTP, "CERTMGR_MONITOR_SMTP_HOST": "smtp.example.net", "CERTMGR_MONITOR_SMTP_PORT": "2525",
        "CERTMGR_MONITOR_TOPIC_ID": "ocid1.onstopic.oc1.iad.aaaaaaaat",
        "CERTMGR_MONITOR_LOG_ID": "ocid1.log.oc1.iad.aaaaaaaal",
        "CERTMGR_MONITOR_LB_IDS": "ocid1.loadbalancer.oc1.iad.aaaaaaaa1, ocid1.loadbalancer.oc1.iad.aaaaaaaa1,"
                                  "ocid1.loadbalancer.oc1.phx.aaaaaaaa2",
        "CERTMGR_MONITOR_ALWAYS_SEND": "yes", "CERTMGR_MONITOR_WARNING_DAYS": "45",
        "CERTMGR_MONITOR_CRITICAL_DAYS": "10", "CERTMGR_MONITOR_REALERT_DAYS": "0"})
    assert settings.channels == ("email", "notifications", "logging") and settings.warnings == ()
    assert settings.smtp_to == ("ops@example.com", "sec@example.com")
    assert settings.smtp_host_for("us-ashburn-1") == "smtp.example.net" and settings.smtp_port == 2525
    assert settings.lb_ids == ("ocid1.loadbalancer.oc1.iad.aaaaaaaa1", "ocid1.loadbalancer.oc1.phx.aaaaaaaa2")
    assert (settings.warning_days, settings.critical_days, settings.realert_days, settings.always_send) == \
        (45, 10, 0, True)


def problems(env):
    with pytest.raises(ConfigError) as info:
        monitor_settings(env)
    return {p.variable: p for p in info.value.problems}, info.value


def test_every_problem_is_listed_at_once():
    found, error = problems({
        "CERTMGR_MONITOR_WARNING_DAYS": "thirty", "CERTMGR_MONITOR_REALERT_DAYS": "-1",
        "CERTMGR_MONITOR_SMTP_TO": "ops@example.com", "CERTMGR_MONITOR_TOPIC_ID": "my-topic",
        "CERTMGR_MONITOR_SMTP_PORT": "587x", "CERTMGR_MONITOR_LB_IDS": "ocid1.loadbalancer.oc1.iad.aaaaaaaa1,lb2",
        "CERTMGR_MONITOR_CONCURENCY": "8"})
    assert set(found) == {"CERTMGR_MONITOR_WARNING_DAYS", "CERTMGR_MONITOR_REALERT_DAYS",
                          "CERTMGR_MONITOR_SMTP_FROM", "CERTMGR_MONITOR_SMTP_USERNAME_SECRET",
                          "CERTMGR_MONITOR_SMTP_PASSWORD_SECRET", "CERTMGR_MONITOR_TOPIC_ID",
                          "CERTMGR_MONITOR_SMTP_PORT", "CERTMGR_MONITOR_LB_IDS"}
    assert "'thirty' is not a whole number of days" in str(error)
    assert "is not set, but CERTMGR_MONITOR_SMTP_PORT, CERTMGR_MONITOR_SMTP_TO are" in found[
        "CERTMGR_MONITOR_SMTP_FROM"].problem
    assert "approved sender" in found["CERTMGR_MONITOR_SMTP_FROM"].fix
    assert "'lb2' is not" in found["CERTMGR_MONITOR_LB_IDS"].problem
    assert error.notes == ("CERTMGR_MONITOR_CONCURENCY is not a monitor setting and is ignored; "
                           "did you mean CERTMGR_MONITOR_CONCURRENCY?",)
    assert str(error).startswith("config: 8 problems in the environment:")


@pytest.mark.parametrize("env", [
    {"CERTMGR_MONITOR_WARNING_DAYS": "7", "CERTMGR_MONITOR_CRITICAL_DAYS": "14"},
    {"CERTMGR_MONITOR_WARNING_DAYS": "7", "CERTMGR_MONITOR_CRITICAL_DAYS": "7"},
    {"CERTMGR_MONITOR_CRITICAL_DAYS": "40"},          # against the default warning threshold, 30
])
def test_critical_must_be_lower_than_warning(env):
    found, _ = problems(env)
    assert list(found) == ["CERTMGR_MONITOR_CRITICAL_DAYS"]
    assert "is not lower than CERTMGR_MONITOR_WARNING_DAYS" in found["CERTMGR_MONITOR_CRITICAL_DAYS"].problem


def test_bad_recipient_and_missing_ca_bundle(tmp_path):
    found, _ = problems({**SMTP, "CERTMGR_MONITOR_SMTP_TO": "ops@example.com, not-an-address",
                         "CERTMGR_MONITOR_SMTP_CA_BUNDLE": str(tmp_path / "missing.pem")})
    assert set(found) == {"CERTMGR_MONITOR_SMTP_TO", "CERTMGR_MONITOR_SMTP_CA_BUNDLE"}
    assert "'not-an-address' is not an e-mail address" in found["CERTMGR_MONITOR_SMTP_TO"].problem


# ---------------------------------------------------------------------------------------------- digest

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
    assert len(message.text.encode()) > 64 * 1024
    cut = report.fit(message.text, 64 * 1024)
    assert len(cut.encode()) <= 64 * 1024
    shown = cut.count("\nWARNING ")
    assert f"and {600 - shown} more, not shown" in cut and cut.rstrip().endswith("every certificate.")
