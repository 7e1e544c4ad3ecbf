"""What a person watching a run sees: each step's start, a line every few seconds of a long wait saying what it
waits for, no line twice, and none of the SDK's own chatter."""
from __future__ import annotations

import logging
import re
import time

from _runs import cli, fast_policy, run

LABEL = "progress"


def test_a_slow_propagation_says_what_it_waits_for_while_it_waits(tenant, caplog):
    tenant.control("POST", f"/dns/zones/{tenant.zone}", {"propagationDelay": 1.5})
    try:
        with caplog.at_level(logging.INFO, logger="certmgr"):
            result = run(tenant.env, policy=fast_policy(progress_every=0.4, sleep=time.sleep))
    finally:
        tenant.control("POST", f"/dns/zones/{tenant.zone}", {"propagationDelay": 0})
    assert result.status == "ok", result.render()
    said = [r.getMessage() for r in caplog.records if r.name == "certmgr"]
    waits = [m for m in said if m.startswith("waiting for TXT at 1 name: 0 of 1 nameservers answer; ")]
    seconds = [float(re.search(r"; (\d+) s$", m)[1]) for m in waits]
    assert len(waits) >= 2 and seconds == sorted(seconds), said  # the wildcard and the apex share one name
    for step in ("reading Vault, the listeners, the zones and the CA's advice", "taking the run lock",
                 "presenting 2 TXT values at _acme-challenge.progress.test", "storing the certificate, chain and key",
                 "uploading the certificate bundle", "switching the listeners"):
        assert any(m.startswith(step) for m in said), (step, said)
    assert len([m for m in said if m.startswith("plan: ")]) == 1, said


def test_verbose_prints_each_line_once_and_no_sdk_chatter(tenant):
    done = cli(tenant.env, "run", "--force", "-v")  # it plans twice: before the lock and under it
    lines = done.stderr.splitlines()
    assert done.returncode == 0 and any(l.startswith("INFO certmgr: plan: ") for l in lines), done.stderr
    assert len(lines) == len(set(lines)), done.stderr
    assert not [l for l in lines if not l.startswith(("INFO certmgr", "WARNING certmgr"))], done.stderr
