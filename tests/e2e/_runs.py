"""How the e2e tests run certmgr: in this process on a fast or virtual-time policy (`run`), or as the real CLI
in a process of its own (`cli`, `cli_env`)."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

from certmgr.renewal import runner
from certmgr.settings.config import Config
from certmgr.timing import DEFAULT, Policy

ROOT = Path(__file__).resolve().parents[2]
CLI = (sys.executable, "-m", "certmgr")


class Sleeps:
    """A Policy's `sleep` for tests: records every wait the run asks for, and sleeps at most `cap` of it, so
    retries and polls keep their counts and order while the suite stays fast."""

    def __init__(self, cap: float = 0.05):
        self.cap, self.asked = cap, []

    def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        time.sleep(min(seconds, self.cap))


class VirtualTime(Sleeps):
    """A Policy's `clock` and `sleep` together: every wait asked for passes in full on `clock`, but only `cap`
    of it in real time. A run then sees its deadlines and timeouts come exactly as they would (the same polls,
    the same attempts) in a fraction of the time."""

    def __init__(self, cap: float = 0.01):
        super().__init__(cap)
        self.skipped = 0.0

    def clock(self) -> float:
        return time.monotonic() + self.skipped

    def __call__(self, seconds: float) -> None:
        super().__call__(seconds)
        self.skipped += max(0.0, seconds - self.cap)


def virtual_policy(**changes) -> Policy:
    """The default policy on virtual time (see VirtualTime)."""
    virtual = VirtualTime()
    return DEFAULT.replace(**{"sleep": virtual, "clock": virtual.clock, **changes})


def fast_policy(**changes) -> Policy:
    """The default policy (same attempt counts, same backoff asked for) with a recording, capped sleep; the
    post-deploy check gives the endpoints one second (the sandbox's listeners serve a deploy at once)."""
    return DEFAULT.replace(**{"sleep": Sleeps(), "verify_for": 1.0, **changes})


def run(env: dict, *, budget: int | None = None, **options) -> runner.Result:
    """A run in this process on `env`, waiting by the fast policy unless the test passes its own; `budget`
    (seconds) is below the variable's range: tests wait seconds, not minutes."""
    config = Config.from_env(env)
    if budget is not None:
        config = dataclasses.replace(config, run_budget=budget)
    return runner.run(config, **{"policy": fast_policy(), **options})


def cli_env(env: dict[str, str]) -> dict[str, str]:
    """Exactly `env` plus PATH and the project on PYTHONPATH: no stray CERTMGR_* from the test runner."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1",
            **env}


def cli(env: dict[str, str], *args: str, cwd: str | Path = ROOT, timeout: float = 180) -> subprocess.CompletedProcess:
    """`python -m certmgr ARGS` in a process of its own, with `cli_env(env)`."""
    return subprocess.run([*CLI, *args], env=cli_env(env), cwd=cwd, capture_output=True, text=True, timeout=timeout)
