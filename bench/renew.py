"""How much a certmgr renewal costs over the least work a renewal needs, at a real cloud's latency per OCI
call, and what a no-op daily run costs as a fresh process. Every figure is set beside a baseline measured in
the same run on the same sandbox, because the machines are shared and noisy: absolute seconds only mean
something side by side.

The sandbox runs in a process of its own (bench.emulator) and adds `--latency` to every OCI call; each
series (the two floors of bench.floors, certmgr) runs in a process of its own (bench.series), one run per
round, rounds interleaved; before each run the load balancers' work requests have all ended.

    python -m bench renew [--rounds N] [--latency S] [--work-request S]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.emulator import DOMAINS, ROOT, Emulator
from bench.series import Series

ROUNDS = 5
MAX_ROUNDS = 25             # the full-work floor adds a version to each of its secrets per run; OCI allows 30
LATENCY = 0.05              # seconds added to every OCI call, about a call to an OCI region nearby
WORK_REQUEST = 0.3          # seconds per LB work request (the sandbox's default)
RENEW_TARGET = 1.5          # certmgr / full-work floor
FORCED_CALLS_TARGET = 22   # besides the looks at work OCI finishes in its own time, which the floors make too
LOOKS = ("lb.get_work_request", "certificates_management.get_certificate")
NOOP_CALLS_TARGET = 5
NOOP_WALL_TARGET = 1.0      # seconds
NOOP_RSS_TARGET = 100.0     # MB
PYTHON = sys.executable
SERIES = {"floor-issue": "floor: issue only", "floor-full": "floor: issue + Vault + LB",
          "certmgr": "certmgr forced renewal"}


# Spawns one command from a small interpreter and reports its wall time and peak RSS. A child spawned
# straight from this process would inherit this process's RSS high-water mark (vfork + exec keeps it), so
# `python -c pass` would read as large as the bench itself.
LAUNCHER = """
import os, sys, time
out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
start = time.monotonic()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ,
                     file_actions=[(os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, out, 2)])
_, status, usage = os.wait4(pid, 0)
print(time.monotonic() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


@dataclass
class Process:
    wall: float   # seconds
    rss: float    # peak resident set, MB
    output: str


def measure(args: list[str], env: dict[str, str]) -> Process:
    """Wall time and peak RSS of one fresh process (`wait4` on its own pid, not RUSAGE_CHILDREN)."""
    with tempfile.NamedTemporaryFile() as out:
        done = subprocess.run([PYTHON, "-I", "-S", "-c", LAUNCHER, out.name, *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, check=True)
        output = Path(out.name).read_text()
    wall, rss_kb, code = done.stdout.split()
    if code != "0":
        raise RuntimeError(f"{' '.join(args)} exited {code}: {output[-2000:]}")
    return Process(float(wall), int(rss_kb) / 1024, output)


NOOP = [PYTHON, "-m", "certmgr", "run", "--json"]
BASELINES = {"python -c pass": [PYTHON, "-c", "pass"],
             "import oci, acme, cryptography": [PYTHON, "-c", "import oci, acme, cryptography"]}


def import_costs(env: dict[str, str], top: int = 8) -> list[tuple[str, float]]:
    """The slowest top-level imports of a no-op run (cumulative ms, from `-X importtime`)."""
    done = subprocess.run([PYTHON, "-X", "importtime", *NOOP[1:]], env=env, cwd=ROOT, capture_output=True,
                          text=True)
    costs = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part for part in line[len("import time:"):].split("|"))
            if cumulative.strip().isdigit() and not name.startswith("  "):  # top level only
                costs.append((name.strip(), int(cumulative) / 1000))
    return sorted(costs, key=lambda c: -c[1])[:top]


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _spread(values) -> str:
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


def bench_renewal(emulator: Emulator, rounds: int) -> bool:
    """Each series in its own process, one run per round, rounds interleaved so drift in the machine's load
    hits every series alike; one warm-up run of each first (certmgr's puts its account key in Vault)."""
    workers = {}
    try:
        for name in SERIES:
            workers[name] = Series(name, emulator.env)
            workers[name].run()
        runs = {name: [] for name in SERIES}
        for _ in range(rounds):
            for name, worker in workers.items():
                emulator.settle()
                before = len(emulator.calls())
                ran = worker.run()
                made = emulator.calls()[before:]
                looks = sum(op in LOOKS for op in made)
                runs[name].append(dict(ran, calls=len(made) - looks, looks=looks))
    finally:
        for worker in workers.values():
            worker.close()
    seconds = {name: [r["seconds"] for r in results] for name, results in runs.items()}
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"  {'':28} {'median s':>8} {'range s':^11} {'/ issue':>7} {'/ full':>6} {'OCI calls':>9} {'+ looks':>7}")
    for name, label in SERIES.items():
        full = f"{median[name] / median['floor-full']:6.2f}" if name != "floor-issue" else ""
        print(f"  {label:28} {median[name]:8.2f} {min(seconds[name]):5.2f}-{max(seconds[name]):<5.2f} "
              f"{median[name] / median['floor-issue']:7.2f} {full:>6} {_spread([r['calls'] for r in runs[name]]):>9}"
              f" {_spread([r['looks'] for r in runs[name]]):>7}")
    ratio = median["certmgr"] / median["floor-full"]
    calls = statistics.median(r["calls"] for r in runs["certmgr"])
    print(f"  targets: certmgr / full-work floor <= {RENEW_TARGET}: {_verdict(ratio <= RENEW_TARGET)}; "
          f"OCI calls besides looks at work requests <= {FORCED_CALLS_TARGET}: "
          f"{_verdict(calls <= FORCED_CALLS_TARGET)}")
    middle = sorted(runs["certmgr"], key=lambda r: r["seconds"])[len(runs["certmgr"]) // 2]
    print("  certmgr's median run, step by step (s): "
          + ", ".join(f"{k} {v:.2f}" for k, v in middle["timings"].items() if k != "total"))
    return ratio <= RENEW_TARGET and calls <= FORCED_CALLS_TARGET


def bench_noop(emulator: Emulator, rounds: int, latency: float) -> bool:
    """The daily run that finds nothing to do, as Fn would start it: a new interpreter each time."""
    env = dict(os.environ, **emulator.env)
    first = measure(NOOP, env)
    if '"action": "nothing"' not in first.output:
        raise RuntimeError(f"the no-op run was not a no-op: {first.output[-2000:]}")
    noop = "certmgr run --json (no-op)"
    series, calls = {label: [] for label in (*BASELINES, noop)}, []
    for _ in range(rounds):  # interleaved, like the renewal series
        for label, args in BASELINES.items():
            series[label].append(measure(args, env))
        before = len(emulator.calls())
        series[noop].append(measure(NOOP, env))
        calls.append(len(emulator.calls()) - before)
    walls = {label: statistics.median(p.wall for p in runs) for label, runs in series.items()}
    rss = {label: max(p.rss for p in runs) for label, runs in series.items()}
    imports = list(BASELINES)[1]
    print(f"no-op daily run: a fresh process each time, {rounds} runs each, {latency * 1000:.0f} ms per OCI call")
    print(f"  {'':32} {'wall med s':>10} {'RSS max MB':>10} {'wall/imports':>12} {'RSS/imports':>11}")
    for label in series:
        print(f"  {label:32} {walls[label]:10.3f} {rss[label]:10.1f} {walls[label] / walls[imports]:12.2f}"
              f" {rss[label] / rss[imports]:11.2f}")
    calls_median = statistics.median(calls)
    oks = {f"wall <= {NOOP_WALL_TARGET} s": walls[noop] <= NOOP_WALL_TARGET,
           f"RSS <= {NOOP_RSS_TARGET:.0f} MB": rss[noop] <= NOOP_RSS_TARGET,
           f"OCI calls <= {NOOP_CALLS_TARGET}": calls_median <= NOOP_CALLS_TARGET}
    print(f"  certmgr beyond the import floor: {walls[noop] - walls[imports]:.3f} s, "
          f"{rss[noop] - rss[imports]:.1f} MB, {_spread(calls)} OCI calls")
    print("  targets: " + "; ".join(f"{target}: {_verdict(ok)}" for target, ok in oks.items()))
    print("  slowest top-level imports of a no-op run (cumulative ms): "
          + ", ".join(f"{name} {ms:.0f}" for name, ms in import_costs(env)))
    return all(oks.values())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench renew", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, choices=range(1, MAX_ROUNDS + 1), metavar="N",
                        help=f"runs of each series, 1 to {MAX_ROUNDS} ({ROUNDS}): the full-work floor adds a "
                             "version to each of its secrets per run, and OCI allows 30")
    parser.add_argument("--latency", type=float, default=LATENCY,
                        help=f"seconds added to every OCI call ({LATENCY})")
    parser.add_argument("--work-request", type=float, default=WORK_REQUEST,
                        help=f"seconds each LB work request takes ({WORK_REQUEST})")
    args = parser.parse_args(argv)
    with Emulator() as emulator:
        emulator.latency(args.latency)
        emulator.options(work_request_delay=args.work_request)
        print(f"renewal of {' + '.join(DOMAINS)}: {args.rounds} rounds, interleaved, each series in its own "
              f"process; {args.latency * 1000:.0f} ms per OCI call, {args.work_request:g} s per LB work request")
        renew_ok = bench_renewal(emulator, args.rounds)
        print()
        noop_ok = bench_noop(emulator, args.rounds, args.latency)
    print(f"\nrenew bench: targets {'met' if renew_ok and noop_ok else 'MISSED (see above)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
