"""Which CAA property sets allow a CA (RFC 8659 4.2, 4.3; RFC 8657 4), and which RRset is the relevant one
(RFC 8659 3): the rules `check_caa` applies per name, on plain data."""
import pytest

from certmgr.ca.caa import _allows, forbidden, relevant

LE = {"letsencrypt.org"}


@pytest.mark.parametrize("records, wildcard, allowed", [
    ([("issue", "letsencrypt.org")], False, True),
    ([("issue", "letsencrypt.org; validationmethods=dns-01")], False, True),   # parameters after ';'
    ([("issue", "letsencrypt.org; validationmethods=http-01,dns-01")], False, True),
    ([("issue", "letsencrypt.org; validationmethods=http-01")], False, False),  # not by DNS-01
    ([("issue", "letsencrypt.org; accounturi=https://ca.example/acct/1")], False, True),  # not known before ordering
    ([("issue", "other.example")], False, False),
    ([("issue", ";")], False, False),                                          # no CA at all
    ([("issue", "other.example"), ("issue", "LetsEncrypt.org")], False, True),  # any one naming it
    ([("iodef", "mailto:sec@example.com")], False, True),                      # no issue property: no limit
    ([("issue", "letsencrypt.org"), ("issuewild", ";")], True, False),          # issuewild wins for wildcards
    ([("issue", "other.example"), ("issuewild", "letsencrypt.org")], True, True),
    ([("issue", "other.example"), ("issuewild", "letsencrypt.org")], False, False),
    ([("issue", "letsencrypt.org")], True, True),                              # no issuewild: issue applies
])
def test_caa_property_sets(records, wildcard, allowed):
    assert _allows(records, LE, wildcard) is allowed


# Two zones certmgr manages, one inside the other: the climb goes on into the parent zone, and stops where no
# managed zone holds the name any more.
ZONES = ("example.com", "dev.example.com")
RECORDS = {"example.com": [("issue", "other.example")]}


def zone_of(name):
    holding = [z for z in ZONES if name == z or name.endswith("." + z)]
    return max(holding, key=len) if holding else None


def test_the_climb_crosses_into_a_parent_zone_certmgr_manages():
    asked = []

    def lookup(name, zone):
        asked.append((name, zone))
        return RECORDS.get(name)
    assert relevant("*.api.dev.example.com", zone_of, lookup) == ("example.com", RECORDS["example.com"])
    assert asked == [("api.dev.example.com", "dev.example.com"), ("dev.example.com", "dev.example.com"),
                     ("example.com", "example.com")]
    assert forbidden(["api.dev.example.com"], zone_of, lambda name, zone: RECORDS.get(name), LE) == [
        'api.dev.example.com: CAA at example.com (issue "other.example") does not name letsencrypt.org for dns-01']


def test_the_nearest_rrset_is_the_relevant_one_and_no_rrset_allows():
    records = {**RECORDS, "dev.example.com": [("issue", "letsencrypt.org")]}
    assert forbidden(["www.dev.example.com"], zone_of, lambda name, zone: records.get(name), LE) == []
    assert relevant("www.elsewhere.org", zone_of, lambda name, zone: records.get(name)) is None  # no zone: no look
    assert forbidden(["www.dev.example.com"], zone_of, lambda name, zone: None, LE) == []


def test_a_ca_without_identities_is_not_checked():
    assert forbidden(["example.com"], zone_of, lambda name, zone: RECORDS.get(name), ()) == []
