"""What a refused call lacks, read from the table: the region an OCID names, and the statements of an operation
filled in with a deployment's names."""
from _renewer_env import ENV
from certmgr.app import config_for
from certmgr.cloud.grants import Grants, region_of, span


def test_an_ocid_names_its_region_by_name_or_short_code():
    assert region_of("ocid1.vault.oc1.iad.aaaaexample") == "us-ashburn-1"
    assert region_of("ocid1.vault.oc1.eu-frankfurt-1.aaaaexample") == "eu-frankfurt-1"
    assert region_of("ocid1.dns-zone.oc1..aaaaexample") is None  # a global resource
    assert region_of("not an ocid") is None


def test_a_secret_operation_names_the_secret_when_known_and_each_secret_otherwise():
    grants = Grants(config_for(ENV, "renew"))
    one = grants.statements("secrets.get_secret_bundle_by_name", secret_name="tmi-lock")
    assert len(one) == 1 and "target.secret.name = 'tmi-lock'" in one[0]
    assert len(grants.statements("secrets.get_secret_bundle_by_name")) == 5  # certificate, key, chain, account key, lock
    assert grants.statements("dns.list_zones") == []  # not a call certmgr makes


def test_spans_read_as_a_person_would_say_them():
    assert [span(s) for s in (42, -600, 3600, 5 * 3600)] == ["42 s", "10 min", "1.0 h", "5.0 h"]


def test_a_fallback_ca_adds_its_account_keys_secret_to_the_policy():
    plain = Grants(config_for(ENV, "renew")).policy()
    fallback = Grants(config_for({**ENV, "CERTMGR_ACME_FALLBACK_DIRECTORY": "https://acme.example/dir"}, "renew"))
    added = set(fallback.policy()) - set(plain)
    assert added and all("target.secret.name = 'tmi-acme-fallback-account-key'" in s for s in added)
