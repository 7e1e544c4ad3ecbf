"""The monitor's settings (CERTMGR_MONITOR_*), read with the rest of the Config: defaults, every channel,
every problem at once."""
import pytest

from certmgr.errors import ConfigError
from certmgr.monitor import MonitorConfig
from certmgr.settings.config import Config

SMTP = {
    "CERTMGR_MONITOR_EMAIL_FROM": "certmgr@example.com",
    "CERTMGR_MONITOR_EMAIL_TO": "ops@example.com, sec@example.com",
    "CERTMGR_MONITOR_SMTP_USERNAME_SECRET": "ocid1.vaultsecret.oc1.iad.aaaaaaaauser",
    "CERTMGR_MONITOR_SMTP_PASSWORD_SECRET": "ocid1.vaultsecret.oc1.iad.aaaaaaaapass",
}


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
    assert settings.email_to == ("ops@example.com", "sec@example.com")
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
        "CERTMGR_MONITOR_EMAIL_TO": "ops@example.com", "CERTMGR_MONITOR_TOPIC_ID": "my-topic",
        "CERTMGR_MONITOR_SMTP_PORT": "587x", "CERTMGR_MONITOR_LB_IDS": "ocid1.loadbalancer.oc1.iad.aaaaaaaa1,lb2",
        "CERTMGR_MONITOR_CONCURENCY": "8"})
    assert set(found) == {"CERTMGR_MONITOR_WARNING_DAYS", "CERTMGR_MONITOR_REALERT_DAYS",
                          "CERTMGR_MONITOR_EMAIL_FROM", "CERTMGR_MONITOR_SMTP_USERNAME_SECRET",
                          "CERTMGR_MONITOR_SMTP_PASSWORD_SECRET", "CERTMGR_MONITOR_TOPIC_ID",
                          "CERTMGR_MONITOR_SMTP_PORT", "CERTMGR_MONITOR_LB_IDS"}
    assert "'thirty' is not a whole number of days" in str(error)
    assert "is not set, but CERTMGR_MONITOR_EMAIL_TO, CERTMGR_MONITOR_SMTP_PORT are" in found[
        "CERTMGR_MONITOR_EMAIL_FROM"].problem
    assert "approved sender" in found["CERTMGR_MONITOR_EMAIL_FROM"].fix
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
    found, _ = problems({**SMTP, "CERTMGR_MONITOR_EMAIL_TO": "ops@example.com, not-an-address",
                         "CERTMGR_MONITOR_SMTP_CA_BUNDLE": str(tmp_path / "missing.pem")})
    assert set(found) == {"CERTMGR_MONITOR_EMAIL_TO", "CERTMGR_MONITOR_SMTP_CA_BUNDLE"}
    assert "'not-an-address' is not an e-mail address" in found["CERTMGR_MONITOR_EMAIL_TO"].problem


def test_email_without_smtp_credentials_goes_through_the_api_and_smtp_settings_need_them():
    api = monitor_settings({"CERTMGR_MONITOR_EMAIL_FROM": "certmgr@example.com",
                            "CERTMGR_MONITOR_EMAIL_TO": "ops@example.com"})
    assert api.email and api.email_api and api.channels == ("email",)
    found, _ = problems({"CERTMGR_MONITOR_EMAIL_FROM": "certmgr@example.com",
                         "CERTMGR_MONITOR_EMAIL_TO": "ops@example.com", "CERTMGR_MONITOR_SMTP_HOST": "smtp.example"})
    assert set(found) == {"CERTMGR_MONITOR_SMTP_USERNAME_SECRET", "CERTMGR_MONITOR_SMTP_PASSWORD_SECRET"}
    assert "to send through the Email Delivery API" in found["CERTMGR_MONITOR_SMTP_USERNAME_SECRET"].fix


def test_endpoints_are_host_port_pairs():
    settings = monitor_settings({"CERTMGR_MONITOR_ENDPOINTS": "www.example.com:443, [2001:db8::1]:8443"})
    assert settings.endpoints == (("www.example.com", 443), ("2001:db8::1", 8443))
    found, _ = problems({"CERTMGR_MONITOR_ENDPOINTS": "www.example.com"})
    assert "'www.example.com' is not host:port" in found["CERTMGR_MONITOR_ENDPOINTS"].problem
