"""Which configured zone holds a challenge name: the longest matching suffix, or none."""
import pytest

from certmgr.cloud.dns import Zones, challenge_name


def zones(*names: str) -> Zones:
    z = Zones(None, ())
    z.by_name = {n.rstrip(".").lower(): None for n in names}
    return z


@pytest.mark.parametrize("names, zone, outside", [
    (["example.com", "*.example.com", "a.b.example.com"], "example.com", []),
    (["example.com", "*.example.com"], "Example.COM.", []),
    (["example.com", "www.example.com"], "www.example.com", ["example.com"]),
    (["badexample.com", "example.org"], "example.com", ["badexample.com", "example.org"]),
    (["*.sub.example.com"], "sub.example.com", []),
])
def test_names_outside_the_zone(names, zone, outside):
    held = zones(zone)
    assert [n for n in names if held.zone_of(challenge_name(n)) is None] == outside


def test_the_longest_matching_zone_holds_a_name():
    held = zones("example.com", "sub.example.com", "other.org")
    assert held.zone_of("_acme-challenge.a.sub.example.com") == "sub.example.com"
    assert held.zone_of("_acme-challenge.example.com") == "example.com"
    assert held.zone_of("_acme-challenge.www.other.org") == "other.org"
    assert held.zone_of("_acme-challenge.example.net") is None
