"""Pebble, Let's Encrypt's ACME test CA: install it, run it on ephemeral ports, hand out its roots.

Pebble >= 2.6 is needed for ARI (RFC 9773 renewal info). Debian bookworm ships 2.4, trixie ships 2.6;
both are static binaries, so the trixie package is fetched into the project's cache without touching
the system's apt setup.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import trustme

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_DEST = PROJECT_DIR / ".cache" / "pebble"
TRIXIE_SOURCE = ("deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
                 "http://deb.debian.org/debian trixie main")
ARI_MARKER = b"renewalInfo"  # the Debian build reports "version: dev", so probe for the feature itself
VALIDITY_90_DAYS = 90 * 24 * 3600  # Let's Encrypt "classic" profile
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


def supports_ari(binary: Path) -> bool:
    """True when the binary serves ACME Renewal Information (Pebble >= 2.6)."""
    return ARI_MARKER in Path(binary).read_bytes()


def find(dest: Path = DEFAULT_DEST) -> Path | None:
    """The Pebble to run: the one in the project's cache, else one on PATH."""
    cached = Path(dest) / "usr" / "bin" / "pebble"
    if os.access(cached, os.X_OK):
        return cached
    on_path = shutil.which("pebble")
    return Path(on_path) if on_path else None


def install(dest: Path = DEFAULT_DEST) -> Path:
    """Make an ARI-capable Pebble available under `dest` and return its path; cheap when already there."""
    dest = Path(dest)
    cached = dest / "usr" / "bin" / "pebble"
    if os.access(cached, os.X_OK) and supports_ari(cached):
        print(f"pebble: {cached} (already installed)")
        return cached
    try:
        version = _extract_trixie_package(dest)
        print(f"pebble {version} (Debian trixie) installed in {dest}")
        return cached
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"pebble: could not fetch the trixie package ({_reason(error)})", file=sys.stderr)
    on_path = shutil.which("pebble")
    system = on_path if on_path and supports_ari(Path(on_path)) else _install_system_package() or on_path
    if not system:
        raise RuntimeError("pebble: no way to install it (trixie download and `apt-get install pebble` "
                           "both failed, and none is on PATH)")
    system = Path(system)
    note = "" if supports_ari(system) else " WITHOUT ARI (needs Pebble >= 2.6): ARI tests will fail"
    print(f"pebble: using {system}{note}", file=sys.stderr if note else sys.stdout)
    return system


def _extract_trixie_package(dest: Path) -> str:
    """Download trixie's pebble .deb with a private apt state and unpack it into `dest`."""
    with tempfile.TemporaryDirectory(prefix="pebble-apt-") as tmp:
        tmp = Path(tmp)
        (tmp / "lists" / "partial").mkdir(parents=True)
        (tmp / "cache" / "archives" / "partial").mkdir(parents=True)
        (tmp / "sources.list").write_text(TRIXIE_SOURCE + "\n")
        apt = ["apt-get", "-q", "-o", f"Dir::Etc::SourceList={tmp}/sources.list",
               "-o", "Dir::Etc::SourceParts=/dev/null", "-o", f"Dir::State::Lists={tmp}/lists",
               "-o", f"Dir::Cache={tmp}/cache"]
        _run(apt + ["update"], cwd=tmp)
        _run(apt + ["download", "pebble"], cwd=tmp)
        deb = next(tmp.glob("pebble_*.deb"))
        dest.mkdir(parents=True, exist_ok=True)
        _run(["dpkg-deb", "-x", str(deb), str(dest)])
        return _run(["dpkg-deb", "-f", str(deb), "Version"]).strip()


def _install_system_package() -> str | None:
    """The distribution's pebble (2.4 on bookworm): better than nothing for non-ARI tests."""
    try:
        _run(["apt-get", "install", "-y", "-q", "pebble"],
             env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"pebble: `apt-get install pebble` failed ({_reason(error)})", file=sys.stderr)
        return None
    return shutil.which("pebble") or "/usr/bin/pebble"


def _run(cmd: list[str], **kwargs) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs).stdout


def _reason(error: Exception) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        lines = (error.stderr or error.stdout or "").strip().splitlines()
        return f"{error.cmd[0]} exited {error.returncode}: {lines[-1] if lines else ''}"
    return str(error)


def free_port() -> int:
    """A port that was free a moment ago (Pebble cannot be handed a bound socket)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Pebble:
    """One Pebble process with its own listener certificate, config and freshly generated roots.

    `ca_bundle` verifies Pebble's own HTTPS (directory and management API); `root_pem` is the root
    that issued certificates chain to. Both change at every start.
    """

    def __init__(self, *, dns_server: str, eab_keys: dict[str, str] | None = None,
                 workdir: str | os.PathLike | None = None, binary: Path | None = None,
                 validity_seconds: int = VALIDITY_90_DAYS, env: dict[str, str] | None = None):
        self.dns_server = dns_server
        self.eab_keys = eab_keys
        self.validity_seconds = validity_seconds
        self.extra_env = env or {}
        self.binary = Path(binary) if binary else find()
        if self.binary is None:
            raise FileNotFoundError("pebble is not installed: run `make pebble`")
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="pebble-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ca_bundle = self.workdir / "pebble-tls-ca.pem"
        self.root_pem = self.workdir / "root.pem"
        self.intermediate_pem = self.workdir / "intermediate.pem"
        self.log_path = self.workdir / "pebble.log"
        self.directory_url = self.management_url = ""
        self._process: subprocess.Popen | None = None

    def start(self) -> "Pebble":
        tls = self._write_tls_files()
        for attempt in range(2):  # a port taken between probe and bind gets one retry
            config = self._write_config(tls)
            try:
                self._launch(config)
                break
            except RuntimeError:
                if attempt or "address already in use" not in self.log_tail():
                    raise
        try:
            self.root_pem.write_bytes(self._management_get("/roots/0"))
            self.intermediate_pem.write_bytes(self._management_get("/intermediates/0"))
        except OSError:
            self._terminate()
            raise
        return self

    def stop(self) -> None:
        self._terminate()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Pebble":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_bundle))

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _write_tls_files(self) -> dict[str, str]:
        ca = trustme.CA(organization_name="certmgr sandbox Pebble TLS")
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        cert, key = self.workdir / "pebble-tls-cert.pem", self.workdir / "pebble-tls-key.pem"
        ca.cert_pem.write_to_path(str(self.ca_bundle))
        cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        leaf.private_key_pem.write_to_path(str(key))
        return {"certificate": str(cert), "privateKey": str(key)}

    def _write_config(self, tls: dict[str, str]) -> Path:
        listen, management = free_port(), free_port()
        settings = {
            "listenAddress": f"127.0.0.1:{listen}",
            "managementListenAddress": f"127.0.0.1:{management}",
            **tls,
            "httpPort": free_port(),  # only HTTP-01/TLS-ALPN-01 would use these
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": bool(self.eab_keys),
            "certificateValidityPeriod": self.validity_seconds,
        }
        if self.eab_keys:
            settings["externalAccountMACKeys"] = dict(self.eab_keys)
        config = self.workdir / "pebble-config.json"
        config.write_text(json.dumps({"pebble": settings}, indent=2))
        self.directory_url = f"https://127.0.0.1:{listen}/dir"
        self.management_url = f"https://127.0.0.1:{management}"
        return config

    def _launch(self, config: Path) -> None:
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", **self.extra_env}
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                [str(self.binary), "-config", str(config), "-dnsserver", self.dns_server],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise RuntimeError(f"pebble exited at start:\n{self.log_tail()}")
            try:
                self._get(self.directory_url)
                return
            except OSError:
                time.sleep(0.05)
        self._terminate()
        raise RuntimeError(f"pebble did not answer {self.directory_url} within {START_TIMEOUT:.0f}s:\n"
                           f"{self.log_tail()}")

    def _terminate(self) -> None:
        if self._process:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def _management_get(self, path: str) -> bytes:
        return self._get(self.management_url + path)

    def _get(self, url: str) -> bytes:
        with urllib.request.urlopen(url, context=self.ssl_context(), timeout=5) as reply:
            return reply.read()
