"""Bad input and failing services: every case must say what is wrong and what to do, and change nothing.

The module has its own tenant slice (zone `bad.test`, vault, load balancer, prefix `bad`), given a real
certificate first. After each failure the test proves from outside certmgr that nothing moved: no
`_acme-challenge` TXT in the zone, the same secret versions, the same LB certificates and listeners, and the
listener still serves a certificate a client trusting the ACME root accepts (a real TLS handshake).
"""
from __future__ import annotations

import base64
import json
import socket

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from _runs import VirtualTime, cli, fast_policy, run, virtual_policy
from _slice import add_fault, assert_unchanged, lock_holders, secret_path, set_wrong_txt, state, write_secret
from certmgr.timing import DEFAULT
from sandbox.dns_server import DnsServer
from sandbox.oci import dns as dns_service

LABEL = "bad"
MISSING_ZONE = "ocid1.dns-zone.oc1..aaaaaaaanotthere0000000000000000000000000000000000000000"
MISSING_VAULT = "ocid1.vault.oc1.us-ashburn-1.aaaaaaaanotthere00000000000000000000000000000000000000"
MISSING_LB = "ocid1.loadbalancer.oc1.us-ashburn-1.aaaaaaaanotthere000000000000000000000000000000000000"


def assert_failed(result, *fragments: str) -> None:
    """The run failed, and its error, state and hints together say every fragment."""
    assert result.status == "failed", result.render()
    text = "\n".join([result.error or "", result.state or "", *result.warnings])
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"


@pytest.fixture(scope="module")
def tenant(tenant):
    """The slice waits 10 s for DNS propagation (on virtual time where a test waits it out)."""
    tenant.env["CERTMGR_PROPAGATION_TIMEOUT"] = "10"
    return tenant


@pytest.fixture
def before(issued_tenant):
    return state(issued_tenant)


def closed_port() -> int:
    """A local port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# 1. The environment: exit code 2, every problem named with its fix, nothing read or changed ----------------

CONFIG_CASES = {
    "domain-empty": ({"CERTMGR_DOMAIN": ""},
                     ["CERTMGR_DOMAIN: is not set", "set it to the certificate's DNS names"]),
    "domain-bad-label": ({"CERTMGR_DOMAIN": "bad.test,web_app.bad.test"},
                         ["CERTMGR_DOMAIN: 'web_app.bad.test': label 'web_app'", "1-63 letters, digits or '-'"]),
    "domain-wildcard-in-middle": ({"CERTMGR_DOMAIN": "www.*.bad.test"},
                                  ["CERTMGR_DOMAIN: 'www.*.bad.test'",
                                   "'*' is only allowed as the whole leftmost label, as in *.example.com"]),
    "domain-covered-by-wildcard": ({"CERTMGR_DOMAIN": "*.bad.test,www.bad.test"},
                                   ["CERTMGR_DOMAIN: www.bad.test is covered by *.bad.test in the same list",
                                    "remove www.bad.test"]),
    "domain-challenge-too-long": ({"CERTMGR_DOMAIN": ".".join(["a" * 63] * 3 + ["b" * 37]) + ".bad.test"},
                                  ["CERTMGR_DOMAIN: ", "is 254 characters, over DNS's 253"]),
    "renewal-days-too-few": ({"CERTMGR_RENEWAL_DAYS": "5"},
                             ["CERTMGR_RENEWAL_DAYS: 5 is outside 7..60 days", "set it to a whole number of days"]),
    "renewal-days-not-a-number": ({"CERTMGR_RENEWAL_DAYS": "abc"},
                                  ["CERTMGR_RENEWAL_DAYS: 'abc' is not a whole number of days", "7 to 60"]),
    "email-bad": ({"CERTMGR_ACME_EMAIL": "admin.bad.test"},
                  ["CERTMGR_ACME_EMAIL: 'admin.bad.test' is not an e-mail address", "e.g. admin@example.com"]),
    "dry-run-maybe": ({"CERTMGR_DRY_RUN": "maybe"},
                      ["CERTMGR_DRY_RUN: 'maybe' is not a yes/no value", "set it to true or false"]),
    "key-type-dsa": ({"CERTMGR_KEY_TYPE": "dsa"},
                     ["CERTMGR_KEY_TYPE: 'dsa' is not a supported key type", "ecdsa-p256, ecdsa-p384, rsa-2048"]),
    "directory-ftp": ({"CERTMGR_ACME_DIRECTORY": "ftp://x"},
                      ["CERTMGR_ACME_DIRECTORY: 'ftp://x' is neither 'staging', 'production' nor an http(s) URL",
                       "the full URL of an ACME directory"]),
    "ca-bundle-missing": ({"CERTMGR_ACME_CA_BUNDLE": "/nonexistent/pebble-ca.pem"},
                          ["CERTMGR_ACME_CA_BUNDLE: '/nonexistent/pebble-ca.pem' cannot be read "
                           "(No such file or directory)", "set it to the path of a PEM file"]),
    "eab-kid-without-key": ({"CERTMGR_ACME_EAB_KID": "kid-1"},
                            ["CERTMGR_ACME_EAB_HMAC_KEY: is not set, but CERTMGR_ACME_EAB_KID is",
                             "set both (the key id and HMAC key your CA gave you) or neither"]),
    "propagation-timeout-zero": ({"CERTMGR_PROPAGATION_TIMEOUT": "0"},
                                 ["CERTMGR_PROPAGATION_TIMEOUT: 0 is outside 10..3600 seconds",
                                  "10 to 3600"]),
    "budget-too-small-for-an-order": ({"CERTMGR_RUN_BUDGET": "60"},
                                      ["CERTMGR_RUN_BUDGET: 60 is outside 100..3600 seconds",
                                       "100 (what an order needs)"]),
    "misspelt-variable": ({"CERTMGR_DOMAIN": None, "CERTMGR_DOMAINS": "bad.test"},
                          ["CERTMGR_DOMAIN: is not set",
                           "note: CERTMGR_DOMAINS is not a certmgr setting and is ignored; "
                           "did you mean CERTMGR_DOMAIN?"]),
    "several-at-once": ({"CERTMGR_DOMAIN": "", "CERTMGR_RENEWAL_DAYS": "5", "CERTMGR_DRY_RUN": "maybe",
                         "CERTMGR_KEY_TYPE": "dsa", "CERTMGR_LB_ID": "lb-1"},
                        ["5 problems in the environment", "CERTMGR_DOMAIN: is not set",
                         "CERTMGR_LB_ID: 'lb-1' is not an OCID", "CERTMGR_RENEWAL_DAYS: 5 is outside",
                         "CERTMGR_DRY_RUN: 'maybe'", "CERTMGR_KEY_TYPE: 'dsa'"]),
}


@pytest.mark.parametrize("overrides, fragments", CONFIG_CASES.values(), ids=CONFIG_CASES.keys())
def test_bad_environment_is_reported_whole_and_changes_nothing(issued_tenant, before, sandbox, overrides, fragments):
    env = dict(issued_tenant.env)
    calls = len(sandbox.world.calls)
    for name, value in overrides.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value
    done = cli(env, "run", "--json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    for fragment in fragments:
        assert fragment in done.stderr, f"{fragment!r} not in:\n{done.stderr}"
    assert "Traceback" not in done.stderr
    assert len(sandbox.world.calls) == calls, "a refused configuration made OCI calls"
    assert_unchanged(issued_tenant, before)


# 2. Resources that do not exist, or do not fit ----------------------------------------------------------------

def test_names_outside_the_zone_are_named(issued_tenant, before):
    result = run(dict(issued_tenant.env, CERTMGR_DOMAIN=f"{issued_tenant.zone},other.example,*.other.example"))
    assert_failed(result, f"CERTMGR_DOMAIN: other.example, *.other.example not in zone {issued_tenant.zone}",
                  "add the OCID of the zone that holds them to CERTMGR_DNS_ZONE_ID", "nothing was changed")
    assert_unchanged(issued_tenant, before)


@pytest.mark.parametrize("variable, value, fragments", [
    ("CERTMGR_DNS_ZONE_ID", MISSING_ZONE, [f"dns: cannot read zone {MISSING_ZONE}: 404 NotAuthorizedOrNotFound",
                                           "check CERTMGR_DNS_ZONE_ID"]),
    ("CERTMGR_LB_ID", MISSING_LB, [f"lb: cannot read load balancer {MISSING_LB}: 404 NotAuthorizedOrNotFound",
                                   "check CERTMGR_LB_ID"]),
], ids=["zone", "load-balancer"])
def test_unknown_ocid_fails_the_cli_run_with_a_hint(issued_tenant, before, variable, value, fragments):
    # forced: a run reads the zones only when it orders (a run with nothing to do needs no DNS)
    done = cli(dict(issued_tenant.env, **{variable: value}), "run", "--force", "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)
    text = json.dumps(result)
    assert result["status"] == "failed" and result["state"] == "nothing was changed", result
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text}"
    assert_unchanged(issued_tenant, before)


def test_a_secret_the_function_may_not_read_is_not_taken_for_a_missing_one(issued_tenant, before):
    """OCI answers 404 alike for a secret that is not there and for one the function may not read. Read by
    name, the certificate set looks missing; the run confirms it before anything else and fails, naming the
    grant."""
    add_fault(issued_tenant, operation="secrets.get_secret_bundle_by_name", status=404, count=1000)
    try:
        result = run(issued_tenant.env)
    finally:
        issued_tenant.sandbox.world.faults.clear()
    assert_failed(result, "failed: 404 NotAuthorizedOrNotFound", "if it exists, the function lacks this grant",
                  "nothing was changed")
    assert_unchanged(issued_tenant, before)


def test_unknown_vault_fails_before_anything_is_written(issued_tenant, before):
    result = run(dict(issued_tenant.env, CERTMGR_VAULT_ID=MISSING_VAULT))
    assert_failed(result, f"in vault {MISSING_VAULT} failed: 404 NotAuthorizedOrNotFound", "check CERTMGR_VAULT_ID",
                  "nothing was changed")
    assert_unchanged(issued_tenant, before)


def test_listener_that_does_not_exist(issued_tenant, before):
    result = run(dict(issued_tenant.env, CERTMGR_LB_LISTENERS="https,api"), force=True)
    assert_failed(result, "CERTMGR_LB_LISTENERS: no listener named api (has: http, https)", "nothing was changed")
    assert_unchanged(issued_tenant, before)


def test_plain_http_listener_is_refused(issued_tenant, before):
    result = run(dict(issued_tenant.env, CERTMGR_LB_LISTENERS="http"), force=True)
    assert_failed(result, "CERTMGR_LB_LISTENERS: listener http has no SSL configuration")
    assert_unchanged(issued_tenant, before)
    assert issued_tenant.load_balancer().listeners["http"].ssl_configuration is None


# 3. What is in Vault cannot be used: the plan says so, the run replaces it --------------------------------------

def _replaced_by_a_matching_pair(tenant, prefix: str, reason: str) -> None:
    with tenant.another_deployment(prefix) as env:
        planned = run(env, dry_run=True)
        assert (planned.status, planned.action) == ("dry-run", "issue"), planned.render()
        assert reason in planned.reason, planned.reason

        result = run(env)
        assert (result.status, result.action, result.stored_in_vault) == ("ok", "issue", True), result.render()
        chain = [*x509.load_pem_x509_certificates(_secret(tenant, prefix, "certificate")),
                 *x509.load_pem_x509_certificates(_secret(tenant, prefix, "chain"))]
        key = serialization.load_pem_private_key(_secret(tenant, prefix, "private-key"), password=None)
        spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert key.public_key().public_bytes(*spki) == chain[0].public_key().public_bytes(*spki)
        tenant.verify(chain, tenant.zone)
        assert tenant.served(tenant.zone).serial_number == chain[0].serial_number
        assert tenant.challenge_records() == []
        again = run(env)
        assert (again.status, again.action) == ("ok", "nothing"), again.render()


def _secret(tenant, prefix: str, role: str) -> bytes:
    """CURRENT content of `{prefix}-{role}` (the tenant's own `secret()` reads its own prefix only)."""
    bundle = tenant.secrets.get_secret_bundle_by_name(f"{prefix}-{role}", tenant.vault_id).data
    return base64.b64decode(bundle.secret_bundle_content.content)


def test_corrupt_certificate_pem_in_vault_is_replaced(issued_tenant):
    write_secret(issued_tenant, "corrupt-certificate", b"-----BEGIN CERTIFICATE-----\nnot base64 at all!\n"
                                                 b"-----END CERTIFICATE-----\n")
    write_secret(issued_tenant, "corrupt-private-key", issued_tenant.secret("private-key"))
    write_secret(issued_tenant, "corrupt-chain", issued_tenant.secret("chain"))
    _replaced_by_a_matching_pair(issued_tenant, "corrupt", "the stored certificate cannot be used: certificate: the "
                                                    "certificate and chain in Vault: certificate 1 cannot be parsed")


def test_private_key_that_does_not_match_is_replaced(issued_tenant):
    foreign = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_secret(issued_tenant, "mismatch-certificate", issued_tenant.secret("certificate"))
    write_secret(issued_tenant, "mismatch-private-key", foreign)
    write_secret(issued_tenant, "mismatch-chain", issued_tenant.secret("chain"))
    _replaced_by_a_matching_pair(issued_tenant, "mismatch", "the stored private key does not match it")


# 4. Services that fail: the CA, DNS, Vault and the load balancer -------------------------------------------------

def test_unreachable_acme_directory_writes_nothing(issued_tenant):
    """A fresh prefix has no ACME account key yet: even that must not be stored when the CA is unreachable,
    nor the run lock created: the directory is read before the lock is taken."""
    directory = f"http://127.0.0.1:{closed_port()}/dir"
    with issued_tenant.another_deployment("unreachable") as env:
        before = state(issued_tenant, verify=False)  # the listener is on its self-signed bootstrap certificate
        result = run(dict(env, CERTMGR_ACME_DIRECTORY=directory))
        assert_failed(result, f"acme: cannot read the ACME directory {directory}: Connection refused",
                      "check CERTMGR_ACME_DIRECTORY", "nothing was changed")
        assert not [name for name in issued_tenant.secret_versions() if name.startswith("unreachable-")]
        assert_unchanged(issued_tenant, before, verify=False)


def test_txt_record_never_visible_times_out_naming_the_server(issued_tenant, before):
    set_wrong_txt(issued_tenant, "bogus")
    try:
        result = run(issued_tenant.env, force=True, policy=virtual_policy())  # the 10 s pass on the run's clock
    finally:
        set_wrong_txt(issued_tenant, None)
    server, zone = issued_tenant.env["CERTMGR_DNS_NAMESERVERS"], issued_tenant.zone
    assert_failed(result, f"dns: TXT records not visible after 10s: {server} lacks _acme-challenge.{zone}",
                  "raise CERTMGR_PROPAGATION_TIMEOUT or check the zone's delegation",
                  "TXT records added by this run were removed")
    assert_unchanged(issued_tenant, before)


@pytest.fixture
def truthful_dns(issued_tenant):
    """A second authoritative server that ignores the zone's wrong-TXT knob: certmgr's propagation check
    asks it and is satisfied, while the CA asks the sandbox's server and sees the wrong value."""
    backend = issued_tenant.sandbox.backend(dns_service)
    zone = backend.zone(issued_tenant.zone_id)

    def lookup(qname):
        with issued_tenant.sandbox.world.lock:
            wrong, zone.wrong_txt = zone.wrong_txt, None
            try:
                return backend.lookup(qname)
            finally:
                zone.wrong_txt = wrong
    server = DnsServer(lookup).start()
    yield server.address
    server.stop()


def test_challenge_rejected_by_the_ca(issued_tenant, before, truthful_dns):
    set_wrong_txt(issued_tenant, "bogus")
    try:
        result = run(dict(issued_tenant.env, CERTMGR_DNS_NAMESERVERS=truthful_dns), force=True)
    finally:
        set_wrong_txt(issued_tenant, None)
    assert_failed(result, f"acme: the CA rejected the DNS-01 challenge: {issued_tenant.zone}: ",
                  "check that the zone is delegated to OCI DNS", "TXT records added by this run were removed")
    assert_unchanged(issued_tenant, before)


def test_dns_api_errors_are_reported_after_retries(issued_tenant, before, clear_faults):
    """Both the ADD and the clean-up REMOVE fail after the SDK's retries: the error is the ADD's (not the
    clean-up's), and the state says the records may need removing by hand."""
    add_fault(issued_tenant, operation="dns.patch_zone_records", status=500, count=10)
    result = run(issued_tenant.env, force=True)
    challenge = f"_acme-challenge.{issued_tenant.zone}"
    assert_failed(result, f"dns: could not add TXT records at {challenge} in zone {issued_tenant.zone_id}: "
                          "500 InternalServerError", f"TXT records this run added at {challenge} may remain")
    issued_tenant.sandbox.world.faults.clear()
    assert_unchanged(issued_tenant, before)


def test_vault_throttling_before_the_lock_is_taken(issued_tenant, before, clear_faults):
    add_fault(issued_tenant, operation="vault.update_secret", status=429, retryAfter=1, count=100)
    result = run(issued_tenant.env, force=True)
    assert_failed(result, f"vault: cannot take the run lock '{issued_tenant.prefix}-lock'", "429 TooManyRequests")
    issued_tenant.sandbox.world.faults.clear()
    assert_unchanged(issued_tenant, before)


def test_vault_throttling_while_storing_then_the_next_run_renews(issued_tenant, before, clear_faults):
    """The CA issued a certificate that could not be stored: nothing changes, and the next run is not
    blocked by that order (it `replaces` the same certificate again)."""
    key = f"{issued_tenant.prefix}-private-key"
    add_fault(issued_tenant, operation="vault.update_secret", path=secret_path(issued_tenant, key),
              status=429, retryAfter=1, count=DEFAULT.attempts)
    result = run(issued_tenant.env, force=True)
    assert_failed(result, f"vault: writing secret '{key}' in vault {issued_tenant.vault_id} "
                          "failed: 429 TooManyRequests", "Vault and the load balancer are unchanged")
    assert_unchanged(issued_tenant, before)

    again = run(issued_tenant.env, force=True)
    assert (again.status, again.stored_in_vault, again.listeners) == ("ok", True, ["https"]), again.render()


def test_vault_throttling_that_outlasts_the_run_reports_the_write_not_the_lock(issued_tenant, clear_faults, caplog):
    """Vault throttles the certificate write, and from then on the run lock too, so releasing it fails. The
    error must be the write's; the lock, left to expire, is a warning. A prefix of its own keeps the held
    lock away from the other tests. The run's first wait after a throttled write throttles the lock as well;
    the Retry-After waits pass on virtual time."""
    with issued_tenant.another_deployment("held") as env:
        assert run(env).status == "ok"
        before = state(issued_tenant)
        add_fault(issued_tenant, operation="vault.update_secret", path=secret_path(issued_tenant, "held-private-key"),
                  status=429, retryAfter=1, count=100)
        write_throttled = issued_tenant.sandbox.world.faults.items[-1]
        lock_path = secret_path(issued_tenant, "held-lock")
        virtual = VirtualTime()

        def sleep(seconds: float) -> None:
            if write_throttled.hits and not any(f.path == lock_path for f in issued_tenant.sandbox.world.faults.items):
                add_fault(issued_tenant, operation="vault.update_secret", path=lock_path, status=429, retryAfter=1,
                          count=100)
            virtual(seconds)

        result = run(env, force=True, policy=fast_policy(sleep=sleep, clock=virtual.clock))
        assert_failed(result, f"vault: writing secret 'held-private-key' in vault {issued_tenant.vault_id} "
                              "failed: 429 TooManyRequests", "Vault and the load balancer are unchanged")
        assert 1.0 in virtual.asked  # the Retry-After was honoured
        assert "could not release the run lock 'held-lock'" in caplog.text
        issued_tenant.sandbox.world.faults.clear()
        assert lock_holders(issued_tenant)["held-lock"] is not None
        after = state(issued_tenant)
        assert {k: after[k] for k in ("listeners", "lb_certificates", "served")} == \
            {k: before[k] for k in ("listeners", "lb_certificates", "served")}
        assert after["versions"] == before["versions"]


def test_brief_vault_throttling_is_retried(issued_tenant, clear_faults):
    add_fault(issued_tenant, operation="vault.update_secret", status=429, retryAfter=1, count=2)
    result = run(issued_tenant.env, force=True)
    assert (result.status, result.stored_in_vault, result.listeners) == ("ok", True, ["https"]), result.render()
    assert issued_tenant.served(issued_tenant.zone).serial_number == int(result.serial, 16)


def test_lb_refusing_the_upload_keeps_the_old_certificate_in_service(issued_tenant, before, clear_faults):
    add_fault(issued_tenant, operation="lb.create_certificate", status=400, count=1)
    result = run(issued_tenant.env, force=True)
    assert_failed(result, f"lb: uploading certificate {issued_tenant.prefix}-{result.serial[:16]}",
                  "400 InvalidParameter",
                  "new certificate stored in Vault; listeners https still serve the previous one; "
                  "the next run will deploy it")
    after = state(issued_tenant)
    assert {k: after[k] for k in ("listeners", "lb_certificates", "served")} == \
        {k: before[k] for k in ("listeners", "lb_certificates", "served")}
    assert issued_tenant.challenge_records() == []

    issued_tenant.sandbox.world.faults.clear()
    deployed = run(issued_tenant.env)
    assert (deployed.status, deployed.action, deployed.serial) == ("ok", "deploy", result.serial), deployed.render()
    assert issued_tenant.served(issued_tenant.zone).serial_number == int(result.serial, 16)


def test_a_refused_certificate_write_leaves_the_current_set_as_it_was(issued_tenant, before, clear_faults):
    """The key is PENDING and the chain CURRENT when the certificate's write, the commit point, is refused:
    the chain is put back, so every secret's CURRENT version is the one it had, and the next run renews."""
    cert = f"{issued_tenant.prefix}-certificate"
    add_fault(issued_tenant, operation="vault.update_secret", path=secret_path(issued_tenant, cert),
              status=500, count=DEFAULT.attempts)
    result = run(issued_tenant.env, force=True)
    assert_failed(result, f"vault: writing secret '{cert}' in vault {issued_tenant.vault_id} failed: 500",
                  "Vault and the load balancer are unchanged")
    def current(found: dict) -> dict:
        return {name: [number for number, _, stages in versions if "CURRENT" in stages]
                for name, versions in found["versions"].items()}
    assert current(state(issued_tenant)) == current(before)
    issued_tenant.sandbox.world.faults.clear()
    again = run(issued_tenant.env, force=True)
    assert (again.status, again.stored_in_vault, again.listeners) == ("ok", True, ["https"]), again.render()
    assert again.action == "issue" and not again.repaired, again.render()  # nothing was left to repair
