"""How much a certmgr renewal costs over the least any ACME DNS-01 client must do, and what a no-op daily
run costs as a fresh process. Every figure is a ratio against a baseline measured in the same run on the
same sandbox, because the machines are shared and noisy: absolute seconds only mean something side by side.

    python -m bench renew [--rounds N]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import oci
import josepy as jose
from acme import challenges, client, crypto_util, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certmgr.settings.config import Config
from certmgr.renewal.runner import run as certmgr_run
from sandbox.oci import dns, loadbalancer
from sandbox.stack import Sandbox, self_signed

ZONE = "bench.test"
DOMAINS = [ZONE, f"*.{ZONE}"]
PREFIX = "bench"
ROUNDS = 5
RENEW_TARGET = 1.3          # full run / floor
NOOP_WALL_TARGET = 1.0      # seconds
NOOP_RSS_TARGET = 100.0     # MB
EMULATOR_DELAY = 0.3        # the sandbox's default `work_request_delay`
PYTHON = sys.executable
ROOT = Path(__file__).resolve().parent.parent


def bench_env(box: Sandbox) -> dict[str, str]:
    """A zone, an LB with one HTTPS listener and a name prefix of the bench's own, so its runs start from
    the same state whatever else the sandbox holds."""
    compartment = box.ids["compartment"]
    zone_id = box.backend(dns).add_zone(ZONE, compartment)
    cert_pem, key_pem = self_signed(ZONE)
    lb_id = box.backend(loadbalancer).add_load_balancer(
        compartment, "bench-lb",
        certificates={"bootstrap": {"publicCertificate": cert_pem, "privateKey": key_pem}},
        listeners={"https": {"defaultBackendSetName": "app", "port": 443, "protocol": "HTTP",
                             "sslConfiguration": {"certificateName": "bootstrap",
                                                  "verifyPeerCertificate": False}}})
    return dict(box.env, CERTMGR_DOMAIN=",".join(DOMAINS), CERTMGR_DNS_ZONE_ID=zone_id, CERTMGR_LB_ID=lb_id,
                CERTMGR_NAME_PREFIX=PREFIX, CERTMGR_MONITOR_LB_IDS=lb_id)


class Floor:
    """The minimum: one account registered up front, then per order only what DNS-01 requires."""

    def __init__(self, box: Sandbox, env: dict[str, str]):
        self.zone_id = env["CERTMGR_DNS_ZONE_ID"]
        self.dns = oci.dns.DnsClient(box.oci_config, service_endpoint=box.endpoint)
        key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        net = client.ClientNetwork(key, alg=jose.ES256, verify_ssl=env["CERTMGR_ACME_CA_BUNDLE"])
        self.acme = client.ClientV2(client.ClientV2.get_directory(env["CERTMGR_ACME_DIRECTORY"], net), net)
        self.acme.new_account(messages.NewRegistration.from_data(email="bench@bench.test",
                                                                 terms_of_service_agreed=True))

    def _txt(self, values: list[str], operation: str) -> None:
        if not values:
            return
        items = [oci.dns.models.RecordOperation(domain=f"_acme-challenge.{ZONE}", rtype="TXT", rdata=v, ttl=60,
                                                operation=operation) for v in values]
        self.dns.patch_zone_records(self.zone_id, oci.dns.models.PatchZoneRecordsDetails(items=items))

    def order(self) -> float:
        """Seconds for one certificate, key and CSR included (certmgr makes both too)."""
        start = time.monotonic()
        key = ec.generate_private_key(ec.SECP256R1())
        csr = crypto_util.make_csr(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()), DOMAINS)
        order = self.acme.new_order(csr)
        chall = [next(c for c in a.body.challenges if isinstance(c.chall, challenges.DNS01))
                 for a in order.authorizations if a.body.status != messages.STATUS_VALID]  # Pebble may reuse
        values = [c.chall.validation(self.acme.net.key) for c in chall]
        self._txt(values, "ADD")
        try:
            for c in chall:
                self.acme.answer_challenge(c, c.chall.response(self.acme.net.key))
            order = self.acme.poll_and_finalize(order, dt.datetime.now() + dt.timedelta(seconds=60))
        finally:
            self._txt(values, "REMOVE")
        if "BEGIN CERTIFICATE" not in (order.fullchain_pem or ""):
            raise RuntimeError(f"the floor order ended without a certificate: {order.body.status}")
        return time.monotonic() - start


def full_run(box: Sandbox, env: dict[str, str], delay: float) -> dict[str, float]:
    """One forced certmgr issue + store + deploy; its step timings (with `total`)."""
    box.world.options["work_request_delay"] = delay
    try:
        result = certmgr_run(Config.from_env(env), force=True)
    finally:
        box.world.options["work_request_delay"] = EMULATOR_DELAY
    if result.status != "ok" or result.action != "issue":
        raise RuntimeError(f"certmgr run did not issue: {result.render()}")
    return result.timings


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


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    return sorted(runs, key=lambda t: t["total"])[len(runs) // 2]


def _steps(timings: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in timings.items() if k != "total")


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


class CallCounter:
    """OCI API calls the emulator answered during a block, per repetition (what each run costs in requests)."""

    def __init__(self, box: Sandbox):
        self.calls, self.counts = box.world.calls, {}

    def count(self, label: str, fn):
        before = len(self.calls)
        value = fn()
        self.counts.setdefault(label, []).append(len(self.calls) - before)
        return value

    def median(self, label: str) -> int:
        return int(statistics.median(self.counts[label]))


def bench_renewal(box: Sandbox, env: dict[str, str], rounds: int) -> bool:
    """Floor and certmgr, interleaved so drift in the machine's load hits every series alike."""
    floor = Floor(box, env)
    floor.order()                    # warm-up: Pebble, connections, code paths
    full_run(box, env, 0)            # warm-up: certmgr's account key goes into Vault, account registered
    calls = CallCounter(box)
    floors, slow, fast = [], [], []
    for _ in range(rounds):
        floors.append(calls.count("floor", floor.order))
        slow.append(calls.count("slow", lambda: full_run(box, env, EMULATOR_DELAY)))
        fast.append(calls.count("fast", lambda: full_run(box, env, 0)))
    base = statistics.median(floors)
    print(f"renewal of {' + '.join(DOMAINS)}: {rounds} interleaved rounds (seconds)")
    print(f"  {'':46} {'median':>6} {'min':>6} {'ratio':>5} {'OCI calls':>9}")
    print(f"  {'floor: acme.ClientV2 + OCI DNS SDK':46} {base:6.2f} {min(floors):6.2f} {1:5.2f} "
          f"{calls.median('floor'):9}")
    ratios = {}
    for key, runs, label in (("slow", slow, f"certmgr issue+store+deploy, LB wr {EMULATOR_DELAY} s"),
                             ("fast", fast, "certmgr issue+store+deploy, LB wr 0 s")):
        totals = [t["total"] for t in runs]
        ratios[key] = statistics.median(totals) / base
        print(f"  {label:46} {statistics.median(totals):6.2f} {min(totals):6.2f} {ratios[key]:5.2f} "
              f"{calls.median(key):9}")
    print(f"  target full/floor <= {RENEW_TARGET} with LB wr 0 s: {_verdict(ratios['fast'] <= RENEW_TARGET)} "
          f"(LB wr = the emulator's artificial work-request delay, {EMULATOR_DELAY} s by default)")
    print(f"  steps of the median run, LB wr {EMULATOR_DELAY} s: {_steps(_median_run(slow))}")
    print(f"  steps of the median run, LB wr 0 s:   {_steps(_median_run(fast))}")
    return ratios["fast"] <= RENEW_TARGET


def bench_noop(box: Sandbox, env: dict[str, str], rounds: int) -> bool:
    """The daily run that finds nothing to do, as Fn would start it: a new interpreter each time."""
    env = dict(os.environ, **env)
    first = measure(NOOP, env)
    if '"action": "nothing"' not in first.output:
        raise RuntimeError(f"the no-op run was not a no-op: {first.output[-2000:]}")
    calls = CallCounter(box)
    noop = "certmgr run --json (no-op)"
    series = {label: [] for label in (*BASELINES, noop)}
    for _ in range(rounds):  # interleaved, like the renewal series
        for label, args in BASELINES.items():
            series[label].append(measure(args, env))
        series[noop].append(calls.count(noop, lambda: measure(NOOP, env)))
    walls = {label: statistics.median(p.wall for p in runs) for label, runs in series.items()}
    rss = {label: max(p.rss for p in runs) for label, runs in series.items()}
    imports = list(BASELINES)[1]
    print(f"no-op daily run: a fresh process each time, {rounds} runs each")
    print(f"  {'':32} {'wall med s':>10} {'RSS max MB':>10} {'wall/imports':>12} {'RSS/imports':>11}")
    for label in series:
        print(f"  {label:32} {walls[label]:10.3f} {rss[label]:10.1f} {walls[label] / walls[imports]:12.2f}"
              f" {rss[label] / rss[imports]:11.2f}")
    wall_ok, rss_ok = walls[noop] <= NOOP_WALL_TARGET, rss[noop] <= NOOP_RSS_TARGET
    print(f"  certmgr beyond the import floor: {walls[noop] - walls[imports]:.3f} s, "
          f"{rss[noop] - rss[imports]:.1f} MB, {calls.median(noop)} OCI calls")
    print(f"  targets wall <= {NOOP_WALL_TARGET} s: {_verdict(wall_ok)}; RSS <= {NOOP_RSS_TARGET:.0f} MB: "
          f"{_verdict(rss_ok)}")
    print("  slowest top-level imports of a no-op run (cumulative ms): "
          + ", ".join(f"{name} {ms:.0f}" for name, ms in import_costs(env)))
    return wall_ok and rss_ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench renew", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"repetitions of each series ({ROUNDS})")
    args = parser.parse_args(argv)
    with Sandbox() as box:
        env = bench_env(box)
        renew_ok = bench_renewal(box, env, args.rounds)
        print()
        noop_ok = bench_noop(box, env, args.rounds)
    print(f"\nrenew bench: targets {'met' if renew_ok and noop_ok else 'MISSED (see above)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
