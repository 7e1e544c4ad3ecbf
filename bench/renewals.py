"""Many forced renewals in a row on one prefix, as months of daily runs (and re-invokes) press on Vault's
limits: every run must succeed, serve what Vault holds, and keep each secret inside OCI's version limits
(30 in use, 30 pending deletion; the sandbox enforces both). The run lock must not grow at all.

    python -m bench renewals [--rounds N]   (default 50)
"""
from __future__ import annotations

import argparse
import socket
import ssl
import statistics
import sys
import time

from cryptography import x509

from bench.emulator import ZONE, bench_env
from certmgr.settings.config import Config
from certmgr.renewal.runner import run as certmgr_run
from sandbox.oci import loadbalancer, vault
from sandbox.stack import Sandbox

ROUNDS = 50


def served_serial(box: Sandbox, env: dict[str, str]) -> int:
    host, port = box.backend(loadbalancer).listener_address(env["CERTMGR_LB_ID"], "https").rsplit(":", 1)
    context = ssl.create_default_context(cafile=env["SANDBOX_ACME_ROOT"])
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=f"www.{ZONE}") as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def version_use(box: Sandbox, env: dict[str, str]) -> dict[str, tuple[int, int]]:
    """(in use, pending deletion) per secret of the bench's vault."""
    use = {}
    for secret in box.backend(vault).snapshot()["secrets"]:
        if secret["vaultId"] != env["CERTMGR_VAULT_ID"]:
            continue
        pending = sum(1 for v in secret["versions"] if v.get("timeOfDeletion"))
        use[secret["name"]] = (len(secret["versions"]) - pending, pending)
    return use


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench renewals", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"forced renewals in a row ({ROUNDS})")
    args = parser.parse_args(argv)
    with Sandbox() as box:
        env = dict(bench_env(box), SANDBOX_ACME_ROOT=box.env["SANDBOX_ACME_ROOT"])
        box.world.options["work_request_delay"] = 0.05
        first = certmgr_run(Config.from_env(env))
        failures, totals, warned = [], [], 0
        for n in range(1, args.rounds + 1):
            started = time.monotonic()
            result = certmgr_run(Config.from_env(env), force=True)
            totals.append(time.monotonic() - started)
            warned += any("versions in use" in w for w in result.warnings)
            if result.status != "ok" or served_serial(box, env) != int(result.serial, 16):
                failures.append((n, result.error or "served certificate differs from Vault's", result.state))
        use = version_use(box, env)
    print(f"{args.rounds} forced renewals in a row on one prefix (first run: {first.action})")
    print(f"  ok: {args.rounds - len(failures)}/{args.rounds}; per run median {statistics.median(totals):.2f} s, "
          f"max {max(totals):.2f} s; runs warning that Vault's limit is near: {warned}")
    for name, (active, pending) in sorted(use.items()):
        print(f"  {name:28} in use {active:2} / 30, pending deletion {pending:2} / 30")
    for n, error, state in failures[:5]:
        print(f"  run {n} FAILED: {error}; state: {state}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
