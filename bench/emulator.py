"""The sandbox for the benches: the bench's own zone and load balancers, and the sandbox in a process of its own.

`python -m bench.emulator` starts a `Sandbox`, seeds it (`bench_env`), prints the env as one JSON line and
serves until its stdin closes. `Emulator` is the bench's side: it starts that process and reaches it through
the control API only (`/_control/...`, which is neither delayed nor recorded), so the clients it measures and
the emulator never share an interpreter.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from sandbox import control
from sandbox.oci import dns, loadbalancer
from sandbox.stack import Sandbox, self_signed

ZONE = "bench.test"
DOMAINS = [ZONE, f"*.{ZONE}"]
PREFIX = "bench"
ROOT = Path(__file__).resolve().parent.parent


def _load_balancer(box: Sandbox, name: str) -> str:
    cert_pem, key_pem = self_signed(ZONE)
    return box.backend(loadbalancer).add_load_balancer(
        box.ids["compartment"], name,
        certificates={"bootstrap": {"publicCertificate": cert_pem, "privateKey": key_pem}},
        listeners={"https": {"defaultBackendSetName": "app", "port": 443, "protocol": "HTTP",
                             "sslConfiguration": {"certificateName": "bootstrap",
                                                  "verifyPeerCertificate": False}}})


def bench_env(box: Sandbox) -> dict[str, str]:
    """A zone, an LB with one HTTPS listener and a name prefix of the bench's own, so its runs start from
    the same state whatever else the sandbox holds; a second LB alike (BENCH_FLOOR_LB_ID) for the floor."""
    zone_id = box.backend(dns).add_zone(ZONE, box.ids["compartment"])
    lb_id = _load_balancer(box, "bench-lb")
    return dict(box.env, CERTMGR_DOMAIN=",".join(DOMAINS), CERTMGR_DNS_ZONE_ID=zone_id, CERTMGR_LB_ID=lb_id,
                CERTMGR_NAME_PREFIX=PREFIX, CERTMGR_MONITOR_LB_IDS=lb_id,
                BENCH_FLOOR_LB_ID=_load_balancer(box, "floor-lb"))


class Emulator:
    """The sandbox process, seen from the bench: its env, its options and faults, its count of OCI calls."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, "-m", "bench.emulator"], cwd=ROOT, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.process.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError("the sandbox process ended before it was up (see its output above)")
        self.env: dict[str, str] = json.loads(line)

    def control(self, method: str, path: str, body: dict | None = None):
        return control.call(self.env["SANDBOX_CONTROL"], method, path, body)

    def latency(self, seconds: float) -> None:
        """`seconds` added to every OCI call from now on (a latency-only fault on every operation)."""
        self.control("DELETE", "/faults")
        if seconds:
            self.control("POST", "/faults", {"operation": "*", "latency": seconds})

    def options(self, **options: float) -> None:
        self.control("POST", "/options", options)

    def calls(self) -> list[str]:
        """The operations of the OCI API calls answered so far, in order."""
        return [c["operation"] for c in self.control("GET", "/calls")]

    def settle(self, timeout: float = 60.0) -> None:
        """Until no load balancer has a work request queued: a run's unawaited deletion must not delay the
        next run's first work request."""
        deadline = time.monotonic() + timeout
        while any(lb["pendingWorkRequests"] for region in self.control("GET", "/state")["regions"].values()
                  for lb in region.get("loadbalancer", {}).get("loadBalancers", [])):
            if time.monotonic() > deadline:
                raise RuntimeError(f"load balancer work requests still queued after {timeout:.0f} s")
            time.sleep(0.05)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(30)

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def main() -> int:
    with Sandbox() as box:
        print(json.dumps(bench_env(box)), flush=True)
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
