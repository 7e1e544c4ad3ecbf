"""One series of the renew bench in a process of its own, run a round at a time.

`python -m bench.series NAME` reads the sandbox's env (one JSON line), sets its series up untimed, says
`ready`, then runs once per line it reads and answers each with one JSON line: `seconds` (wall time of the
run) and whatever the series adds. `Series` is the bench's side. So each series keeps its own warm
interpreter and connections, as a hot function does, and none runs in the bench's or the emulator's.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

from bench.emulator import ROOT
from bench.floors import FullFloor, IssueFloor
from certmgr.renewal.runner import run as certmgr_run
from certmgr.settings.config import Config


class Certmgr:
    """A forced renewal: observe, issue, store in Vault, upload the bundle, switch the listener, delete the old
    bundle. Its step timings come along."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def run(self) -> dict:
        result = certmgr_run(Config.from_env(self.env), force=True)
        if (result.status, result.action) != ("ok", "issue"):
            raise RuntimeError(f"certmgr did not renew: {result.render()}")
        return {"timings": result.timings}


SERIES = {"floor-issue": IssueFloor, "floor-full": FullFloor, "certmgr": Certmgr}


class Series:
    """A series' process, from the bench: `run()` runs one round there and returns its answer."""

    def __init__(self, name: str, env: dict[str, str]):
        self.name = name
        self.process = subprocess.Popen([sys.executable, "-m", "bench.series", name], cwd=ROOT, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._say(json.dumps(env))
        if self._hear() != "ready":
            raise RuntimeError(f"the {name} series did not start (see its output above)")

    def _say(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def _hear(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError(f"the {self.name} series ended (see its output above)")
        return line.strip()

    def run(self) -> dict:
        self._say("run")
        return json.loads(self._hear())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(30)


def main(name: str) -> int:
    answers, sys.stdout = sys.stdout, sys.stderr  # only answers on stdout, whatever a run prints
    series = SERIES[name](json.loads(sys.stdin.readline()))
    print("ready", file=answers, flush=True)
    for _ in sys.stdin:
        start = time.monotonic()
        answer = series.run() or {}
        answer["seconds"] = time.monotonic() - start
        print(json.dumps(answer), file=answers, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
