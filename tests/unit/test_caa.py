"""Which CAA property sets allow a CA (RFC 8659 4.2, 4.3): the rules `check_caa` applies per name."""
import pytest

from certmgr.ca.caa import _allows

LE = {"letsencrypt.org"}


@pytest.mark.parametrize("records, wildcard, allowed", [
    ([("issue", "letsencrypt.org")], False, True),
    ([("issue", "letsencrypt.org; validationmethods=dns-01")], False, True),   # parameters after ';'
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
