"""The Fn body, checked like the environment: what is allowed passes, everything else is refused by name."""
import pytest

from certmgr.app import Request, parse_request


@pytest.mark.parametrize("body, expected", [
    (None, Request()), ({}, Request()),
    ({"action": "plan"}, Request(action="plan")),
    ({"force": True, "dry_run": False}, Request(force=True)),
    ({"action": "monitor", "dry_run": True}, Request(action="monitor", dry_run=True)),
    ({"action": "check"}, Request(action="check")),
])
def test_allowed_bodies(body, expected):
    assert parse_request(body) == expected


@pytest.mark.parametrize("body, said", [
    ({"force": "false"}, "force must be a JSON boolean (true or false), not str 'false'"),
    ({"force": 1}, "force must be a JSON boolean"),
    ({"dry-run": True}, "unknown key 'dry-run' (did you mean 'dry_run'?)"),
    ({"Force": True}, "unknown key 'Force' (did you mean 'force'?)"),
    ({"action": "renew", "verbose": True}, "unknown key 'verbose';"),
    ({"action": None}, "action must be one of 'renew', 'plan', 'monitor', 'check', not None"),
    ("plan", "request body must be a JSON object"),
    ([{"force": True}], "request body must be a JSON object"),
])
def test_refused_bodies_name_the_problem_and_what_is_allowed(body, said):
    with pytest.raises(ValueError) as refused:
        parse_request(body)
    assert said in str(refused.value)


def test_every_problem_is_named_at_once():
    with pytest.raises(ValueError) as refused:
        parse_request({"force": "yes", "dry-run": True})
    assert "force must be" in str(refused.value) and "'dry-run'" in str(refused.value)
