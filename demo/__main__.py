"""`make demo`: certmgr's main job, end to end, on the local sandbox.

Starts the sandbox (`python -m sandbox up`), runs the function through the real FDK contract as Fn would,
shows what was issued, stored and deployed, proves with a TLS handshake that the listener serves it,
runs again to show that a healthy certificate means nothing to do, and stops the sandbox.
"""
from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import oci
from cryptography import x509

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.fn_platform import FnContainer  # noqa: E402


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def read_env(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0] if value else ""
    return env


def start_sandbox(workdir: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sandbox", "up", "--env-file", str(workdir / "sandbox.env")],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)


def sandbox_env(proc: subprocess.Popen, workdir: Path) -> dict[str, str]:
    env_file = workdir / "sandbox.env"
    for line in proc.stdout:  # the summary is printed once the env file is written
        print("   " + line.rstrip(), flush=True)
        if line.startswith("  SMTP"):
            break
    if proc.poll() is not None or not env_file.exists():
        raise SystemExit("the sandbox did not start")
    return read_env(env_file)


def handshake(address: str, root_pem: str, hostname: str) -> x509.Certificate:
    host, port = address.rsplit(":", 1)
    context = ssl.create_default_context(cafile=root_pem)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        with context.wrap_socket(sock, server_hostname=hostname) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def invoke(container: FnContainer, body: dict | None = None) -> dict:
    started = time.monotonic()
    reply = container.invoke(json.dumps(body).encode() if body else b"")
    result = json.loads(reply.body)
    print(f"   HTTP {reply.status} in {time.monotonic() - started:.1f}s")
    for key in ("status", "action", "reason", "serial", "not_after", "listeners", "lb_certificate",
                "deleted_lb_certificates", "error", "state"):
        if result.get(key) not in (None, [], ""):
            print(f"   {key:24} {result[key]}")
    return result


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="certmgr-demo-"))
    sandbox = None
    try:
        step("Starting the sandbox: Pebble (ACME), OCI emulator, DNS server, LB listeners, SMTP")
        sandbox = start_sandbox(workdir)
        return show(sandbox_env(sandbox, workdir))
    except BrokenPipeError:  # the reader went away (`make demo | head`): stop everything, say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        if sandbox is not None:  # whatever happened: no sandbox or Pebble is left running without a parent
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(10)


def show(env: dict[str, str]) -> int:
    fn_env = {**{k: v for k, v in os.environ.items() if not k.startswith("CERTMGR_")}, **env}
    root, domain = env["SANDBOX_ACME_ROOT"], env["CERTMGR_DOMAIN"].split(",")[0]
    with FnContainer(fn_env) as container:
        step("First invocation through the FDK (POST /call on the function's unix socket)")
        first = invoke(container)
        if first["status"] != "ok":
            print(container.logs()[-3000:])
            return 1

        step("What Vault holds now")
        config = oci.config.from_file(env["OCI_CONFIG_FILE"])
        vaults = oci.vault.VaultsClient(config, service_endpoint=env["SANDBOX_OCI_ENDPOINT"])
        for s in vaults.list_secrets(env["CERTMGR_COMPARTMENT_ID"], vault_id=env["CERTMGR_VAULT_ID"]).data:
            if s.secret_name.startswith(env["CERTMGR_NAME_PREFIX"]):
                versions = vaults.list_secret_versions(s.id).data
                current = [v.version_number for v in versions if "CURRENT" in (v.stages or [])]
                print(f"   {s.secret_name:32} {len(versions)} version(s), CURRENT = {current[0]}")

        step("DNS: challenge records were removed again")
        dns = oci.dns.DnsClient(config, service_endpoint=env["SANDBOX_OCI_ENDPOINT"])
        records = dns.get_zone_records(env["CERTMGR_DNS_ZONE_ID"], domain_contains="_acme-challenge").data.items
        print(f"   _acme-challenge records left in the zone: {len(records)}")

        step(f"TLS handshake with the LB's https listener ({env['SANDBOX_LB_HTTPS']}), trusting only Pebble's root")
        cert = handshake(env["SANDBOX_LB_HTTPS"], root, f"www.{domain}")
        served = format(cert.serial_number, "x")
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        print(f"   names {', '.join(names.get_values_for_type(x509.DNSName))}, serial {served}, "
              f"expires {cert.not_valid_after_utc:%Y-%m-%d}, issuer {cert.issuer.rfc4514_string()}")
        print("   verified for www.%s: the listener serves the certificate just issued: %s"
              % (domain, "yes" if int(served, 16) == int(first["serial"], 16) else "NO"))

        step("Second invocation: the certificate is healthy, so nothing to do")
        second = invoke(container)
        if second["action"] != "nothing":
            return 1
    step("Stopping the sandbox")
    return 0


if __name__ == "__main__":
    sys.exit(main())
