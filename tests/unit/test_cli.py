"""The command line's shape: help per command, options a command does not take refused, and a result that
failed before it had a plan headed by its error, once."""
import pytest

from certmgr.__main__ import COMMANDS, main
from certmgr.renewal.result import Result


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_command_has_its_own_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"], environ={})
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"python -m certmgr {command}" in text and " ".join(COMMANDS[command][1].split())[:60] in text


@pytest.mark.parametrize("argv, refused", [(["status", "--force"], "--force"), (["check", "--dry-run"], "--dry-run"),
                                           (["plan", "--dry-run"], "--dry-run"), (["monitor", "--force"], "--force")])
def test_an_option_the_command_does_not_take_is_refused(argv, refused, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv, environ={})
    assert done.value.code == 2 and f"unrecognized arguments: {refused}" in capsys.readouterr().err


def test_a_run_that_failed_before_it_had_a_plan_is_headed_by_its_error_once():
    failed = Result(status="failed", error="lb: cannot read load balancer x: 404", state="nothing was changed")
    text = failed.render()
    assert text.splitlines()[0] == "FAILED: lb: cannot read load balancer x: 404"
    assert text.count("cannot read load balancer") == 1
    planned = Result(status="failed", action="issue", reason="no certificate is stored", error="acme: refused")
    assert planned.render().splitlines()[:1] == ["FAILED: issue a new certificate - no certificate is stored"]
    assert "  error:     acme: refused" in planned.render()
