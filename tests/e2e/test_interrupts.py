"""The CLI as a person uses it, in a process of its own: Ctrl-C (or SIGTERM) in the middle of a run ends with a
result and its exit code, no traceback and no TXT value left; a reader that closes the pipe early (`| head -1`)
gets no traceback either."""
from __future__ import annotations

import signal
import subprocess
import time

import pytest

from _runs import CLI, ROOT, cli_env
from _slice import lock_holders

LABEL = "interrupts"


@pytest.fixture
def slow_zone(tenant):
    """TXT values reach the nameservers only after a minute: a run sits in its propagation wait."""
    tenant.control("POST", f"/dns/zones/{tenant.zone}", {"propagationDelay": 60})
    yield
    tenant.control("POST", f"/dns/zones/{tenant.zone}", {"propagationDelay": 0})


@pytest.mark.parametrize("sent, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_run_ends_with_a_result_and_no_txt_left(tenant, slow_zone, sent, code):
    run = subprocess.Popen([*CLI, "run", "--force"], env=cli_env(tenant.env), cwd=ROOT, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not tenant.challenge_records():  # the values are in the zone: the run waits for the nameservers
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.05)
        run.send_signal(sent)
        out, err = run.communicate(timeout=60)
    finally:
        run.kill()
    name = signal.Signals(sent).name
    assert run.returncode == code, (out, err)
    assert out.startswith("INTERRUPTED: issue a new certificate - "), out
    assert f"error:     run: interrupted by {name}" in out and "TXT records added by this run were removed" in out
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert tenant.challenge_records() == []
    assert set(lock_holders(tenant).values()) <= {None}


def test_a_reader_that_closes_the_pipe_early_gets_no_traceback(tenant):
    status = subprocess.Popen([*CLI, "status"], env=cli_env(tenant.env), cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    status.stdout.close()  # gone before the result is written, as `| head -1` is after its line
    err = status.stderr.read()
    assert status.wait(timeout=60) == 0 and err == "", err
