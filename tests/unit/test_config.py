"""Config.from_env over plain dicts: defaults, every variable's checks, all problems at once, no leaks."""
import dataclasses
import datetime as dt

import pytest
import trustme

from _renewer_env import ENV
from certmgr.errors import ConfigError
from certmgr.settings.config import (ACME_DIRECTORIES, DEFAULT_ACME_DIRECTORY, Config, Secret,
                                     normalise_name)

HMAC_KEY = "c2VjcmV0LWhtYWMta2V5LXRoYXQtbXVzdC1uZXZlci1sZWFr"  # base64url
REQUIRED = sorted(ENV)


def load(**changes):
    env = dict(ENV)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return Config.from_env(env)


def problems(**changes):
    with pytest.raises(ConfigError) as info:
        load(**changes)
    return {p.variable: p for p in info.value.problems}, info.value


def test_minimal_environment_gets_defaults():
    config = load()
    assert config.domains == ("example.com", "*.example.com")
    assert config.primary_name == "example.com"
    assert (config.renewal_days, config.propagation_timeout) == (30, 120)
    assert config.name_prefix == "tmi"
    assert config.acme_directory == DEFAULT_ACME_DIRECTORY == ACME_DIRECTORIES["staging"]
    assert config.dry_run is False
    assert config.lb_listeners == () and config.dns_nameservers == ()
    assert config.key_type == "ecdsa-p256"
    assert config.mode == "renew" and config.oci_profile == "DEFAULT"
    assert config.acme_ca_bundle is config.acme_eab_kid is config.acme_eab_hmac_key is None
    assert config.oci_endpoint is config.acme_profile is config.region is None
    assert config.auth == "config_file" and config.oci_config_file is None
    assert config.warnings == ()


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        load().renewal_days = 1


def test_every_variable_read():
    config = load(CERTMGR_RENEWAL_DAYS="14", CERTMGR_NAME_PREFIX="Prod-1", CERTMGR_ACME_DIRECTORY="Production",
                  CERTMGR_DRY_RUN="YES", CERTMGR_LB_LISTENERS=" https , https-alt ", CERTMGR_KEY_TYPE="RSA-3072",
                  CERTMGR_ACME_EAB_KID="kid-1", CERTMGR_ACME_EAB_HMAC_KEY=HMAC_KEY,
                  CERTMGR_DNS_NAMESERVERS="192.0.2.53, 127.0.0.1:5353,[2001:db8::1]:5300,::1",
                  CERTMGR_PROPAGATION_TIMEOUT="3600", CERTMGR_OCI_ENDPOINT="http://127.0.0.1:8080/regions/{region}/",
                  CERTMGR_ACME_PROFILE="tlsserver", CERTMGR_MODE="Monitor", CERTMGR_OCI_PROFILE="SANDBOX",
                  CERTMGR_REGION="eu-frankfurt-1")
    assert config.renewal_days == 14 and config.propagation_timeout == 3600
    assert config.name_prefix == "Prod-1"
    assert config.acme_directory == ACME_DIRECTORIES["production"]
    assert config.dry_run is True
    assert config.lb_listeners == ("https", "https-alt")
    assert config.key_type == "rsa-3072"
    assert config.acme_eab_kid == "kid-1" and config.acme_eab_hmac_key.reveal() == HMAC_KEY
    assert config.dns_nameservers == (("192.0.2.53", 53), ("127.0.0.1", 5353), ("2001:db8::1", 5300), ("::1", 53))
    assert config.oci_endpoint == "http://127.0.0.1:8080/regions/{region}"
    assert config.acme_profile == "tlsserver" and config.mode == "monitor"
    assert config.oci_profile == "SANDBOX" and config.region == "eu-frankfurt-1"


@pytest.mark.parametrize("variable", REQUIRED)
def test_each_required_variable_missing(variable):
    found, error = problems(**{variable: None})
    assert list(found) == [variable]
    assert found[variable].problem == "is not set"
    assert f"{variable}: is not set; set it to " in str(error)


@pytest.mark.parametrize("variable", REQUIRED)
def test_blank_counts_as_missing(variable):
    found, _ = problems(**{variable: "   "})
    assert list(found) == [variable]


def test_monitor_mode_needs_no_renewal_settings():
    config = Config.from_env({"CERTMGR_MODE": "monitor"})
    assert config.mode == "monitor" and config.domains == () and config.primary_name is None
    assert config.lb_id is None and config.vault_id is None


def test_monitor_mode_still_checks_what_is_given():
    with pytest.raises(ConfigError, match="CERTMGR_LB_ID"):
        Config.from_env({"CERTMGR_MODE": "monitor", "CERTMGR_LB_ID": "lb-1"})


@pytest.mark.parametrize("variable, value, expected", [
    ("CERTMGR_DNS_ZONE_ID", "example.com", "is not an OCID"),
    ("CERTMGR_DNS_ZONE_ID", "ocid1.dns-zone", "is not an OCID"),
    ("CERTMGR_LB_ID", "ocid2.loadbalancer.oc1.iad.aaaa", "is not an OCID"),
    ("CERTMGR_VAULT_ID", "ocid1.vault.oc1.iad.AAAA BBB", "is not an OCID"),
    ("CERTMGR_VAULT_KEY_ID", "key-1", "is not an OCID"),
    ("CERTMGR_COMPARTMENT_ID", "ocid1.compartment.oc1..", "is not an OCID"),
    ("CERTMGR_ACME_EMAIL", "admin", "is not an e-mail address"),
    ("CERTMGR_ACME_EMAIL", "@example.com", "is not an e-mail address"),
    ("CERTMGR_ACME_EMAIL", "a@b@example.com", "is not an e-mail address"),
    ("CERTMGR_ACME_EMAIL", "admin@localhost", "bad domain part"),
    ("CERTMGR_ACME_EMAIL", "mailto:admin@example.com", "starts with 'mailto:'"),
    ("CERTMGR_RENEWAL_DAYS", "thirty", "is not a whole number of days"),
    ("CERTMGR_RENEWAL_DAYS", "6", "outside 7..60 days"),
    ("CERTMGR_RENEWAL_DAYS", "61", "outside 7..60 days"),
    ("CERTMGR_RENEWAL_DAYS", "30.5", "is not a whole number"),
    ("CERTMGR_PROPAGATION_TIMEOUT", "9", "outside 10..3600 seconds"),
    ("CERTMGR_PROPAGATION_TIMEOUT", "3601", "outside 10..3600 seconds"),
    ("CERTMGR_PROPAGATION_TIMEOUT", "5m", "is not a whole number of seconds"),
    ("CERTMGR_RUN_BUDGET", "99", "outside 100..3600 seconds"),  # an order needs 100 s
    ("CERTMGR_NAME_PREFIX", "1tmi", "starting with a letter"),
    ("CERTMGR_NAME_PREFIX", "tmi_prod", "letters, digits or '-'"),
    ("CERTMGR_NAME_PREFIX", "t" * 33, "1-32"),
    ("CERTMGR_ACME_DIRECTORY", "prod", "neither 'staging', 'production' nor an http(s) URL"),
    ("CERTMGR_ACME_DIRECTORY", "ftp://ca.example/dir", "neither"),
    ("CERTMGR_ACME_DIRECTORY", "https://", "neither"),
    ("CERTMGR_DRY_RUN", "maybe", "is not a yes/no value"),
    ("CERTMGR_DRY_RUN", "on", "is not a yes/no value"),
    ("CERTMGR_LB_LISTENERS", "https,https", "https listed twice"),
    ("CERTMGR_KEY_TYPE", "rsa-1024", "is not a supported key type"),
    ("CERTMGR_KEY_TYPE", "ed25519", "is not a supported key type"),
    ("CERTMGR_DNS_NAMESERVERS", "ns1.example.com", "is not an IP address"),
    ("CERTMGR_DNS_NAMESERVERS", "192.0.2.1:0", "has a bad port"),
    ("CERTMGR_DNS_NAMESERVERS", "192.0.2.1:99999", "has a bad port"),
    ("CERTMGR_DNS_NAMESERVERS", "192.0.2.1:dns", "has a bad port"),
    ("CERTMGR_DNS_NAMESERVERS", "[::1]x", "has a bad port"),
    ("CERTMGR_OCI_ENDPOINT", "localhost:8080", "is not an http(s) URL"),
    ("CERTMGR_OCI_ENDPOINT", "http://127.0.0.1/{realm}", "placeholder other than {region}"),
    ("CERTMGR_ACME_PROFILE", "short lived", "is not a profile name"),
    ("CERTMGR_MODE", "audit", "is not a mode"),
    ("CERTMGR_OCI_PROFILE", "[DEFAULT]", "is not a config file profile name"),
    ("CERTMGR_REGION", "Ashburn", "is not an OCI region identifier"),
    ("CERTMGR_ACME_CA_BUNDLE", "/nonexistent/ca.pem", "cannot be read"),
])
def test_malformed_value(variable, value, expected):
    found, error = problems(**{variable: value})
    assert variable in found, error
    assert expected in found[variable].problem
    assert found[variable].fix


@pytest.mark.parametrize("value, expected", [
    ("Example.COM.", ("example.com",)),
    (" example.com , www.example.com ,", ("example.com", "www.example.com")),
    ("*.Example.com,example.com", ("*.example.com", "example.com")),
    ("bücher.example", ("xn--bcher-kva.example",)),
    ("BÜCHER.example", ("xn--bcher-kva.example",)),
    ("xn--bcher-kva.example", ("xn--bcher-kva.example",)),
    ("a-b.c-d.example", ("a-b.c-d.example",)),
])
def test_domain_normalised(value, expected):
    assert load(CERTMGR_DOMAIN=value).domains == expected


@pytest.mark.parametrize("value, expected", [
    ("example.com,Example.com.", "example.com is listed twice"),
    ("www.*.example.com", "only allowed as the whole leftmost label"),
    ("*example.com", "only allowed as the whole leftmost label"),
    ("*", "only allowed as the whole leftmost label"),
    ("a..example.com", "has an empty label"),
    ("-a.example.com", "must be 1-63 letters"),
    ("a_b.example.com", "must be 1-63 letters"),
    ("a" * 64 + ".example.com", "must be 1-63 letters"),
    (".".join(["a" * 60] * 5), "longer than 253"),
    ("localhost", "single label"),
    ("*.com.", "single label"),
    ("192.0.2.1", "IP address"),
    ("xn--zz.example", "not valid punycode"),
    ("a\u200db.example", "not a valid internationalised label"),
    (",", "lists no names"),
    ("*.example.com,www.example.com", "www.example.com is covered by *.example.com in the same list"),
    ("www.example.com,*.example.com", "remove www.example.com"),
    (".".join(["a" * 63] * 3 + ["b" * 34]) + ".example.com", "is 254 characters, over DNS's 253"),
    (",".join(f"n{i}.example.com" for i in range(101)), "at most 100"),
])
def test_domain_rejected(value, expected):
    found, _ = problems(CERTMGR_DOMAIN=value)
    assert expected in found["CERTMGR_DOMAIN"].problem


@pytest.mark.parametrize("value", ["example.com,*.example.com", "*.example.com,a.b.example.com",
                                   "*.example.com,*.www.example.com",
                                   ".".join(["a" * 63] * 3 + ["b" * 33]) + ".example.com"])  # a 253-character record
def test_names_a_wildcard_does_not_cover_and_challenge_names_of_253_are_accepted(value):
    assert load(CERTMGR_DOMAIN=value).domains


def test_every_bad_name_reported_together():
    found, _ = problems(CERTMGR_DOMAIN="a..example.com,ok.example.com,b_c.example.com,ok.example.com")
    problem = found["CERTMGR_DOMAIN"].problem
    assert "a..example.com" in problem and "b_c.example.com" in problem and "listed twice" in problem


def test_all_problems_reported_at_once():
    found, error = problems(CERTMGR_DOMAIN=None, CERTMGR_LB_ID="lb", CERTMGR_RENEWAL_DAYS="90",
                            CERTMGR_DRY_RUN="perhaps", CERTMGR_KEY_TYPE="dsa", CERTMGR_ACME_EAB_KID="kid")
    assert set(found) == {"CERTMGR_DOMAIN", "CERTMGR_LB_ID", "CERTMGR_RENEWAL_DAYS", "CERTMGR_DRY_RUN",
                          "CERTMGR_KEY_TYPE", "CERTMGR_ACME_EAB_HMAC_KEY"}
    text = str(error)
    assert text.startswith("config: 6 problems in the environment:")
    assert all(f"  - {name}: " in text for name in found)
    assert error.to_dict()["problems"][0]["variable"] == "CERTMGR_DOMAIN"


@pytest.mark.parametrize("kid, key, missing", [
    ("kid-1", None, "CERTMGR_ACME_EAB_HMAC_KEY"),
    (None, HMAC_KEY, "CERTMGR_ACME_EAB_KID"),
])
def test_eab_needs_both_halves(kid, key, missing):
    found, error = problems(CERTMGR_ACME_EAB_KID=kid, CERTMGR_ACME_EAB_HMAC_KEY=key)
    assert list(found) == [missing]
    assert "set both" in found[missing].fix
    assert HMAC_KEY not in str(error)


@pytest.mark.parametrize("key", [HMAC_KEY + "+/", "abcde", HMAC_KEY + "!"])
def test_bad_hmac_key_never_quoted(key):
    found, error = problems(CERTMGR_ACME_EAB_KID="kid", CERTMGR_ACME_EAB_HMAC_KEY=key)
    assert list(found) == ["CERTMGR_ACME_EAB_HMAC_KEY"]
    for text in (str(error), repr(error), repr(error.to_dict())):
        assert key not in text and HMAC_KEY not in text


def test_secret_never_in_repr():
    config = load(CERTMGR_ACME_EAB_KID="kid", CERTMGR_ACME_EAB_HMAC_KEY=HMAC_KEY)
    assert HMAC_KEY not in repr(config) and HMAC_KEY not in str(config)
    assert "acme_eab_hmac_key=Secret('***')" in repr(config)
    assert repr(Secret("x")) == str(Secret("x")) == "Secret('***')"
    assert Secret("x") == Secret("x") != Secret("y")
    assert hash(config)  # frozen configs can key caches


def test_padded_hmac_key_accepted():
    assert load(CERTMGR_ACME_EAB_KID="k", CERTMGR_ACME_EAB_HMAC_KEY="YWJj" + "ZA==").acme_eab_hmac_key


@pytest.fixture
def ca_bundle(tmp_path):
    path = tmp_path / "ca.pem"
    path.write_bytes(b"# a comment, as in distribution bundles\n" + trustme.CA().cert_pem.bytes())
    return path


def test_ca_bundle(ca_bundle, tmp_path):
    assert load(CERTMGR_ACME_CA_BUNDLE=str(ca_bundle)).acme_ca_bundle == str(ca_bundle)
    (tmp_path / "junk.pem").write_text("not a certificate")
    found, _ = problems(CERTMGR_ACME_CA_BUNDLE=str(tmp_path / "junk.pem"))
    assert "holds no PEM certificate" in found["CERTMGR_ACME_CA_BUNDLE"].problem
    found, _ = problems(CERTMGR_ACME_CA_BUNDLE=str(tmp_path))
    assert "cannot be read" in found["CERTMGR_ACME_CA_BUNDLE"].problem


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("1", True), ("Yes", True), ("FALSE", False), ("0", False), ("no", False), ("", False),
])
def test_dry_run_values(value, expected):
    assert load(CERTMGR_DRY_RUN=value).dry_run is expected


@pytest.mark.parametrize("value", ["https://pebble:14000/dir", "http://127.0.0.1:4001/directory"])
def test_directory_url_kept(value):
    assert load(CERTMGR_ACME_DIRECTORY=value).acme_directory == value


@pytest.mark.parametrize("variable, value, kind", [
    ("CERTMGR_DNS_ZONE_ID", "ocid1.vault.oc1..aaaa", "'vault'"),
    ("CERTMGR_LB_ID", "ocid1.networkloadbalancer.oc1.iad.aaaa", "'networkloadbalancer'"),
    ("CERTMGR_VAULT_KEY_ID", "ocid1.vault.oc1.iad.aaaa", "'vault'"),
])
def test_ocid_of_unexpected_kind_is_accepted_with_a_warning(variable, value, kind):
    config = load(**{variable: value})
    assert getattr(config, {"CERTMGR_DNS_ZONE_ID": "dns_zone_id", "CERTMGR_LB_ID": "lb_id",
                            "CERTMGR_VAULT_KEY_ID": "vault_key_id"}[variable]) == value
    assert len(config.warnings) == 1 and config.warnings[0].startswith(variable) and kind in config.warnings[0]


@pytest.mark.parametrize("value", ["ocid1.dnszone.oc1..aaaa", "ocid1.dns-zone.oc1.iad.aaaa",
                                   "ocid1.dns-zone.oc1.iad.future.aaaa"])
def test_zone_ocid_shapes(value):
    config = load(CERTMGR_DNS_ZONE_ID=value)
    assert config.dns_zone_id == value and config.warnings == ()


def test_tenancy_is_a_compartment():
    assert load(CERTMGR_COMPARTMENT_ID="ocid1.tenancy.oc1..aaaa").warnings == ()


def test_unknown_variables_are_named():
    config = load(CERTMGR_RENEW_DAYS="10", CERTMGR_MONITOR_WARNING_DAYS="30", OTHER="x")
    assert config.renewal_days == 30
    assert config.warnings == ("CERTMGR_RENEW_DAYS is not a certmgr setting and is ignored; "
                               "did you mean CERTMGR_RENEWAL_DAYS?",)


def test_misspelt_variable_explains_missing_one():
    _, error = problems(CERTMGR_DOMAIN=None, CERTMGR_DOMAINS="example.com")
    assert "note: CERTMGR_DOMAINS is not a certmgr setting and is ignored; did you mean CERTMGR_DOMAIN?" \
        in str(error)


@pytest.mark.parametrize("extra, auth, path", [
    ({}, "config_file", None),
    ({"OCI_CONFIG_FILE": "/etc/oci/config"}, "config_file", "/etc/oci/config"),
    ({"OCI_CLI_CONFIG_FILE": "/cli/config"}, "config_file", "/cli/config"),
    ({"OCI_CONFIG_FILE": "/a", "OCI_CLI_CONFIG_FILE": "/b"}, "config_file", "/a"),
    ({"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2", "OCI_CONFIG_FILE": "/a"}, "resource_principal", None),
    ({"OCI_RESOURCE_PRINCIPAL_VERSION": ""}, "config_file", None),
])
def test_auth_mode(extra, auth, path):
    config = Config.from_env({**ENV, **extra})
    assert (config.auth, config.oci_config_file) == (auth, path)


def test_the_fallback_ca_is_validated_like_the_primary_and_ordered_from_second():
    assert [ca.role for ca in load().cas] == ["primary"]
    config = load(CERTMGR_ACME_FALLBACK_DIRECTORY="https://acme.fallback.example/directory",
                  CERTMGR_ACME_FALLBACK_EAB_KID="kid-2", CERTMGR_ACME_FALLBACK_EAB_HMAC_KEY="c2VjcmV0LWtleS0yMDI2")
    primary, fallback = config.cas
    assert (primary.role, primary.account_key) == ("primary", "account_key")
    assert (fallback.directory, fallback.eab_kid, fallback.account_key) == (
        "https://acme.fallback.example/directory", "kid-2", "fallback_account_key")
    assert "c2VjcmV0" not in repr(config) and "c2VjcmV0" not in repr(fallback)
    found, _ = problems(CERTMGR_ACME_FALLBACK_DIRECTORY="ftp://x", CERTMGR_ACME_FALLBACK_EAB_KID="kid-2")
    assert "neither 'staging', 'production' nor an http(s) URL" in found["CERTMGR_ACME_FALLBACK_DIRECTORY"].problem
    assert "is not set, but CERTMGR_ACME_FALLBACK_EAB_KID is" in found["CERTMGR_ACME_FALLBACK_EAB_HMAC_KEY"].problem


def test_secret_and_lb_names():
    config = load(CERTMGR_NAME_PREFIX="shop")
    assert config.secret_names == {"certificate": "shop-certificate", "private_key": "shop-private-key",
                                   "chain": "shop-chain", "account_key": "shop-acme-account-key",
                                   "fallback_account_key": "shop-acme-fallback-account-key"}
    issued = dt.datetime(2026, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
    assert config.lb_certificate_name("04A1B2C3D4E5F60718293A", issued) == "shop-04a1b2c3d4e5f607-20260304"
    assert config.lb_certificate_name("0abc", issued) == "shop-0abc-20260304"


def test_normalise_name_is_public_for_other_inputs():
    assert normalise_name("WWW.Example.com.") == "www.example.com"
    with pytest.raises(ValueError, match="single label"):
        normalise_name("intranet")


# --- one read for both modes, and a Config that cannot be built invalid ---------------------------------

def test_monitor_mode_reports_the_problems_of_both_tables_at_once():
    found, error = problems(CERTMGR_MODE="monitor", CERTMGR_RENEWAL_DAYS="soon",
                            CERTMGR_MONITOR_CRITICAL_DAYS="90", CERTMGR_MONITOR_CONCURENCY="4")
    assert set(found) == {"CERTMGR_RENEWAL_DAYS", "CERTMGR_MONITOR_CRITICAL_DAYS"}
    assert any("did you mean CERTMGR_MONITOR_CONCURRENCY?" in note for note in error.notes)


def test_the_monitor_settings_come_with_the_config_in_monitor_mode_only():
    assert load().monitor is None
    monitor = load(CERTMGR_MODE="monitor", CERTMGR_MONITOR_WARNING_DAYS="45").monitor
    assert (monitor.warning_days, monitor.critical_days) == (45, 7)
    assert load(CERTMGR_MONITOR_WARNING_DAYS="nonsense").monitor is None  # a renewer never reads that table


@pytest.mark.parametrize("changes, variable", [
    ({"domains": ()}, "CERTMGR_DOMAIN"),
    ({"domains": ("Example.COM",)}, "CERTMGR_DOMAIN"),
    ({"domains": ("example.com", "example.com")}, "CERTMGR_DOMAIN"),
    ({"lb_id": None}, "CERTMGR_LB_ID"),
    ({"key_type": "dsa"}, "CERTMGR_KEY_TYPE"),
    ({"name_prefix": "-x"}, "CERTMGR_NAME_PREFIX"),
    ({"run_budget": 0}, "CERTMGR_RUN_BUDGET"),
    ({"renewal_days": "30"}, "CERTMGR_RENEWAL_DAYS"),
    ({"mode": "monitor"}, "CERTMGR_MODE"),
    ({"acme_eab_kid": "kid"}, "CERTMGR_ACME_EAB_KID"),
    ({"auth": "password"}, "OCI_RESOURCE_PRINCIPAL_VERSION"),
])
def test_a_config_that_breaks_a_rule_cannot_be_built(changes, variable):
    with pytest.raises(ConfigError) as info:
        dataclasses.replace(load(), **changes)
    assert [p.variable for p in info.value.problems] == [variable]


def test_a_shorter_budget_than_operators_may_set_is_still_a_config():
    assert dataclasses.replace(load(), run_budget=3).run_budget == 3  # tests run on budgets of seconds
