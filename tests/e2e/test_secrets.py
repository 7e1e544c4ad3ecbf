"""No secret reaches any output, and the function writes no files.

One module fixture drives certmgr every way an operator sees it: the Fn handler through the real FDK (an
issuance, a forced renewal, a run the load balancer fails, the redeploy, a plan, the monitor, a bad request,
config errors holding a fake EAB HMAC key) and the CLI (`run -v --json`, `status`, `plan`, `monitor`, a
failing run, a config error). It keeps every byte printed: container logs, response bodies, stdout and
stderr. Then the real secrets are read back from Vault through the SDK (every private key version, the
ACME account key) or taken from the sandbox (the SMTP password, the OCI API key), and each test searches
the captured text for them: whole, line by line, as the base64 the Vault API carries, and in pieces.
"""
from __future__ import annotations

import base64
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from _runs import ROOT, cli
from _slice import add_fault, vaults_client
from certmgr.settings.config import Config
from sandbox.fn_platform import FnContainer
from sandbox.stack import self_signed

LABEL = "sec"
PIECE = 32          # a leak of 2 * PIECE characters of a base64 text contains at least one aligned piece
MIN_LINE = 24       # shorter PEM lines (a final "AbC=") would match by chance
SCAN_LIMIT = 5 << 20  # bytes: larger files under /tmp are not certmgr's
FAKE_EAB_HMAC = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
MALFORMED_EAB_HMAC = FAKE_EAB_HMAC[:20] + "+/" + FAKE_EAB_HMAC[20:]  # '+' and '/' are not base64url
FAKE_EAB_KID = "kid-not-a-secret"


# --- what a leak looks like ------------------------------------------------------------------------------

def _pieces(text: str) -> list[str]:
    return [text[i:i + PIECE] for i in range(0, len(text) - PIECE + 1, PIECE)] or [text]


def _encodings(data: bytes) -> list[str]:
    """base64 and base64url of `data` from each of its first three bytes: every alignment it can take
    inside a longer encoded text."""
    return [encode(data[k:]).decode() for k in range(3) for encode in (base64.b64encode, base64.urlsafe_b64encode)]


def _public_texts(secret: bytes) -> list[str]:
    """What anyone holding the certificate can print: the public key encoded once (a certificate, a CSR)
    or twice (a CSR inside a JWS payload), at every alignment."""
    try:
        key = serialization.load_pem_private_key(secret, password=None)
    except (ValueError, TypeError):
        return []
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    once = _encodings(spki)
    return once + [twice for text in once for twice in _encodings(text.encode())]


def leak_forms(secret: bytes) -> list[tuple[str, str]]:
    """(form, needle) for each way `secret` could show up: the value, each base64 line of a PEM, pieces of
    the PEM body re-wrapped, and pieces of the base64 of the whole value (what a Vault request carries).
    Needles that only encode the public key are left out: a certificate or CSR shows them, legitimately."""
    text = secret.decode()
    forms = [("the value", text.strip())]
    if text.lstrip().startswith("-----BEGIN"):
        lines = [line for line in text.splitlines() if line and not line.startswith("-----")]
        forms += [("a PEM line", line) for line in lines if len(line) >= MIN_LINE]
        forms += [("a piece of the PEM body", piece) for piece in _pieces("".join(lines))]
    forms += [("a piece of its base64", piece) for piece in _pieces(base64.b64encode(secret).decode())]
    public = _public_texts(secret)
    return [(form, needle) for form, needle in forms if not any(needle in text for text in public)]


def find_leaks(texts: dict[str, str], secrets: dict[str, bytes]) -> list[str]:
    """'<secret> as <form> in <where>' for every needle found; [] when nothing leaked."""
    found = []
    for name, secret in secrets.items():
        for form, needle in leak_forms(secret):
            found += [f"{name} as {form} in {where}, line {text[:text.index(needle)].count(chr(10)) + 1}"
                      for where, text in texts.items() if needle in text]
    return sorted(set(found))


# --- the runs ------------------------------------------------------------------------------------------

@dataclass
class Captured:
    texts: dict[str, str] = field(default_factory=dict)       # where -> everything printed there
    statuses: dict[str, object] = field(default_factory=dict)  # where -> HTTP status or exit code
    bodies: dict[str, dict] = field(default_factory=dict)     # where -> the JSON it answered
    mails: int = 0                                             # monitor mails the SMTP sink accepted
    empty_dirs: dict[str, Path] = field(default_factory=dict)  # TMPDIR, HOME, the CLI's cwd
    started: float = 0.0

    def add(self, where: str, status, text: str) -> None:
        self.texts[where], self.statuses[where] = text, status
        try:
            self.bodies[where] = json.loads(text)
        except ValueError:
            pass


def _invoke(fn: FnContainer, captured: Captured, where: str, body: bytes = b"") -> None:
    reply = fn.invoke(body)
    captured.add(where, reply.status, reply.body.decode(errors="replace"))


def _cold_invoke(env: dict, captured: Captured, where: str) -> None:
    """One invocation of a new container: a config error fails every call, the way Fn would see it."""
    with FnContainer(env) as fn:
        _invoke(fn, captured, where)
    captured.texts[f"{where} (container log)"] = fn.logs()


def _cli(env: dict, captured: Captured, where: str, *args: str) -> None:
    done = cli(env, *args, cwd=str(captured.empty_dirs["cwd"]))
    captured.add(f"cli {where}", done.returncode, done.stdout)
    captured.texts[f"cli {where} (stderr)"] = done.stderr


@pytest.fixture(scope="module")
def captured(tenant, tmp_path_factory) -> Captured:
    sandbox = tenant.sandbox
    captured = Captured(started=time.time())
    captured.empty_dirs = {name: tmp_path_factory.mktemp(f"sec-{name}") for name in ("tmp", "home", "cwd")}
    monitor = {k: v for k, v in sandbox.env.items() if k.startswith("CERTMGR_MONITOR_")}
    env = {**tenant.env, **monitor, "CERTMGR_MONITOR_LB_IDS": tenant.lb_id, "CERTMGR_MONITOR_ALWAYS_SEND": "true",
           "TMPDIR": str(captured.empty_dirs["tmp"]), "HOME": str(captured.empty_dirs["home"]),
           "PYTHONDONTWRITEBYTECODE": "1"}
    mails_before = len(sandbox.smtp.messages)
    try:
        with FnContainer(env) as fn:
            _invoke(fn, captured, "fn issue")
            _invoke(fn, captured, "fn forced renewal", b'{"force": true}')
            add_fault(tenant, operation="lb.create_certificate", status=400, count=1)
            _invoke(fn, captured, "fn failing renewal", b'{"force": true}')
            sandbox.world.faults.clear()
            _invoke(fn, captured, "fn redeploy")
            _invoke(fn, captured, "fn plan", b'{"action": "plan"}')
            _invoke(fn, captured, "fn monitor", b'{"action": "monitor"}')
            _invoke(fn, captured, "fn bad request", b"{not json")
        captured.texts["fn container log"] = fn.logs()
        _cli(env, captured, "run", "run", "-v", "--json", "--force")
        _cli(env, captured, "run again", "run", "-v", "--json")
        _cli(env, captured, "status --json", "status", "--json")
        _cli(env, captured, "status", "status", "-v")
        _cli(env, captured, "plan", "plan", "-v")
        _cli(env, captured, "monitor", "monitor", "-v", "--json")
        add_fault(tenant, operation="lb.create_certificate", status=400, count=1)
        _cli(env, captured, "failing run", "run", "-v", "--json", "--force")
    finally:
        sandbox.world.faults.clear()
    with ThreadPoolExecutor(max_workers=4) as pool:  # independent processes that each fail at once
        runs = [pool.submit(run, bad, captured, f"{kind}{where}", *args)
                for where, bad in config_error_envs(env).items()
                for run, kind, args in ((_cold_invoke, "fn ", ()), (_cli, "", ("run", "-v", "--json")))]
        for done in runs:
            done.result()
    captured.mails = len(sandbox.smtp.messages) - mails_before
    return captured


def config_error_envs(env: dict) -> dict[str, dict]:
    """Environments that fail validation while holding the fake EAB HMAC key somewhere."""
    return {
        "config error: HMAC key without key id": dict(env, CERTMGR_ACME_EAB_HMAC_KEY=FAKE_EAB_HMAC),
        "config error: HMAC key not base64url": dict(env, CERTMGR_ACME_EAB_KID=FAKE_EAB_KID,
                                                     CERTMGR_ACME_EAB_HMAC_KEY=MALFORMED_EAB_HMAC),
        "config error: HMAC key and another problem": dict(env, CERTMGR_ACME_EAB_KID=FAKE_EAB_KID,
                                                           CERTMGR_ACME_EAB_HMAC_KEY=FAKE_EAB_HMAC,
                                                           CERTMGR_RENEWAL_DAYS="5"),
        "config error: misspelt HMAC variable": dict(env, CERTMGR_ACME_EAB_HMAC=FAKE_EAB_HMAC,
                                                     CERTMGR_KEY_TYPE="dsa"),
    }


@pytest.fixture(scope="module")
def secrets(tenant, captured) -> dict[str, bytes]:
    """Every secret the runs touched, read back from where it lives."""
    vaults = vaults_client(tenant)
    found = {}
    for role in ("private-key", "acme-account-key"):
        name = f"{tenant.prefix}-{role}"
        secret = vaults.list_secrets(tenant.compartment_id, name=name, vault_id=tenant.vault_id).data[0]
        for version in oci.pagination.list_call_get_all_results(vaults.list_secret_versions, secret.id).data:
            bundle = tenant.secrets.get_secret_bundle(secret.id, version_number=version.version_number).data
            found[f"{name} v{version.version_number}"] = base64.b64decode(bundle.secret_bundle_content.content)
    found["SMTP password"] = tenant.sandbox.smtp.password.encode()
    found["EAB HMAC key"] = FAKE_EAB_HMAC.encode()
    found["malformed EAB HMAC key"] = MALFORMED_EAB_HMAC.encode()
    found["OCI API signing key"] = Path(tenant.sandbox.oci_config["key_file"]).read_bytes()
    return found


# --- the finder itself: it must catch what it is meant to catch ----------------------------------------------

def _sample_key() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@pytest.mark.parametrize("plant", [
    lambda pem: "INFO certmgr: stored\n" + pem.decode().splitlines()[2] + "\nINFO done",
    lambda pem: json.dumps({"secretContent": {"content": base64.b64encode(pem).decode()}}),
    lambda pem: json.dumps({"privateKey": pem.decode()}),
    lambda pem: "body=" + "".join(pem.decode().splitlines()[1:-1])[10:90],
], ids=["one PEM line in a log", "base64 of the PEM in a Vault request", "JSON-escaped PEM", "a re-wrapped piece"])
def test_the_finder_catches_a_planted_key(plant):
    key = _sample_key()
    assert find_leaks({"sample": plant(key)}, {"key": key})


def test_the_finder_ignores_public_material_and_clean_text():
    cert_pem, key_pem = self_signed("bad.test")
    key = key_pem.encode()
    public = serialization.load_pem_private_key(key, password=None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert find_leaks({"cert": cert_pem, "public key": public, "clean": "OK: nothing to do"}, {"key": key}) == []


# --- the runs did what they should, so the search means something ---------------------------------------------

def test_the_runs_covered_issue_renew_failure_and_errors(captured):
    s, b = captured.statuses, captured.bodies
    assert (s["fn issue"], b["fn issue"]["action"], b["fn issue"]["stored_in_vault"]) == (200, "issue", True)
    assert (s["fn forced renewal"], b["fn forced renewal"]["status"]) == (200, "ok")
    assert (s["fn failing renewal"], b["fn failing renewal"]["status"]) == (502, "failed")
    assert "400" in b["fn failing renewal"]["error"] and b["fn failing renewal"]["stored_in_vault"] is True
    assert (s["fn redeploy"], b["fn redeploy"]["action"]) == (200, "deploy")
    assert (s["fn plan"], b["fn plan"]["status"]) == (200, "dry-run")
    assert s["fn bad request"] == 502 and "request body must be JSON" in b["fn bad request"]["error"]
    assert (s["cli run"], b["cli run"]["status"]) == (0, "ok")
    assert (s["cli failing run"], b["cli failing run"]["status"]) == (1, "failed")
    assert s["cli status --json"] == 0 and s["cli status"] == 0, captured.texts["cli status (stderr)"]
    for where in config_error_envs({}):
        assert s[f"fn {where}"] == 502 and b[f"fn {where}"]["error"].startswith("config: ")
        assert s[f"cli {where}"] == 2 and captured.texts[f"cli {where} (stderr)"].startswith("config: ")


def test_the_monitor_sent_mail_so_the_smtp_password_was_used(captured):
    assert captured.statuses["fn monitor"] == 200, captured.texts["fn monitor"]
    assert captured.statuses["cli monitor"] == 0, captured.texts["cli monitor (stderr)"]
    assert captured.mails >= 2


def test_verbose_output_was_captured(captured):
    """-v logs each step: an empty capture would make every search below pass."""
    assert "plan: issue" in captured.texts["cli run (stderr)"]
    assert "plan: issue" in captured.texts["fn container log"]


def test_function_log_carries_no_library_debug_output(captured):
    """The FDK turns the root logger to DEBUG: full ACME exchanges and every HTTP request would reach the
    function's log, the likeliest way for a library to print something it should not."""
    debug = [line for line in captured.texts["fn container log"].splitlines() if " - DEBUG - " in line]
    assert debug == []


# --- no secret anywhere -----------------------------------------------------------------------------------

def test_no_private_key_or_account_key_in_any_output(captured, secrets):
    keys = {name: value for name, value in secrets.items() if "private-key" in name or "account-key" in name}
    assert len([n for n in keys if "private-key" in n]) >= 4  # issue, renewal, failed deploy, CLI runs
    assert find_leaks(captured.texts, keys) == []


def test_no_smtp_password_oci_key_or_eab_hmac_key_in_any_output(captured, secrets):
    others = {name: value for name, value in secrets.items() if "private-key" not in name and "account-key" not in name}
    assert len(others) == 4
    assert find_leaks(captured.texts, others) == []


def test_config_repr_hides_the_eab_hmac_key(tenant):
    config = Config.from_env(dict(tenant.env, CERTMGR_ACME_EAB_KID=FAKE_EAB_KID,
                                  CERTMGR_ACME_EAB_HMAC_KEY=FAKE_EAB_HMAC))
    assert config.acme_eab_hmac_key.reveal() == FAKE_EAB_HMAC
    shown = {"repr": repr(config), "str": str(config), "warnings": "\n".join(config.warnings),
             "field repr": repr(config.acme_eab_hmac_key), "formatted": f"{config.acme_eab_hmac_key}"}
    assert find_leaks(shown, {"EAB HMAC key": FAKE_EAB_HMAC.encode()}) == []
    assert FAKE_EAB_KID in repr(config)  # the key id is not secret: the repr is not simply empty


# --- no files ------------------------------------------------------------------------------------------

def test_the_function_and_cli_write_no_files(captured):
    """TMPDIR, HOME and the CLI's working directory were empty directories, and stay so."""
    assert {name: sorted(p.rglob("*")) for name, p in captured.empty_dirs.items()} == \
        {name: [] for name in captured.empty_dirs}


def _recent_files(roots: list[Path], since: float):
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in (".git", ".venv", "node_modules")]
            for filename in filenames:
                path = Path(dirpath, filename)
                try:
                    info = path.lstat()
                except OSError:
                    continue
                if path.is_file() and not path.is_symlink() and info.st_mtime >= since \
                        and info.st_size <= SCAN_LIMIT:
                    yield path


def test_no_key_material_in_any_file_written_during_the_runs(captured, secrets):
    """Whatever a process wrote under /tmp, /var/tmp, /dev/shm or the repository while certmgr ran (the
    container log included) holds none of the secrets."""
    roots = [Path(p) for p in ("/tmp", "/var/tmp", "/dev/shm") if Path(p).is_dir()] + [ROOT]
    texts = {}
    for path in _recent_files(roots, captured.started):
        try:
            texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
    keys = {name: value for name, value in secrets.items() if name != "OCI API signing key"}
    assert find_leaks(texts, keys) == []
