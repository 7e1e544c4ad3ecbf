"""The sandbox as later work relies on it: `python -m sandbox up`, its env file, Pebble issuing through the
DNS API, and the fault knobs."""
import datetime as dt
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import josepy as jose
import oci
import pytest
import requests
from acme import challenges, client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sandbox.oci import dns as dns_module
from sandbox.oci import loadbalancer
from sandbox.oci.faults import Fault
from sandbox.stack import Sandbox

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ["OCI_CONFIG_FILE", "OCI_CLI_CONFIG_FILE", "CERTMGR_OCI_ENDPOINT", "CERTMGR_ACME_DIRECTORY",
            "CERTMGR_ACME_CA_BUNDLE", "CERTMGR_DNS_NAMESERVERS", "CERTMGR_DOMAIN", "CERTMGR_DNS_ZONE_ID",
            "CERTMGR_LB_ID", "CERTMGR_VAULT_ID", "CERTMGR_VAULT_KEY_ID", "CERTMGR_COMPARTMENT_ID",
            "CERTMGR_ACME_EMAIL", "CERTMGR_NAME_PREFIX", "SANDBOX_LB_HTTPS", "SANDBOX_ACME_ROOT", "SANDBOX_SMTP",
            "SANDBOX_CONTROL"]


def _up(tmp_path, name):
    env_file = tmp_path / f"{name}.env"
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "up", "--env-file", str(env_file)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while not env_file.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "sandbox did not write its env file"
        time.sleep(0.05)
    env = {}
    for line in env_file.read_text().splitlines():
        assert line.startswith("export ")
        name_, _, value = line[len("export "):].partition("=")
        env[name_] = subprocess.run(["bash", "-c", f"printf %s {value}"], capture_output=True, text=True).stdout
    return proc, env


def test_up_writes_env_file_runs_twice_and_stops_cleanly(tmp_path):
    first, env1 = _up(tmp_path, "one")
    second, env2 = _up(tmp_path, "two")
    try:
        for env in (env1, env2):
            assert not [name for name in REQUIRED if not env.get(name)]
            assert requests.get(env["SANDBOX_CONTROL"] + "/health").json() == {"ok": True}
        assert env1["SANDBOX_CONTROL"] != env2["SANDBOX_CONTROL"]
        assert env1["SANDBOX_LB_HTTPS"] != env2["SANDBOX_LB_HTTPS"]
        workdir = Path(env1["OCI_CONFIG_FILE"]).parent
        assert workdir.exists()
    finally:
        for proc in (first, second):
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
    assert not workdir.exists(), "the sandbox's files are removed on stop"
    with pytest.raises(requests.ConnectionError):
        requests.get(env1["SANDBOX_CONTROL"] + "/health", timeout=2)
    out = first.stdout.read()
    assert "sandbox up in" in out


def test_pebble_issues_apex_and_wildcard_through_the_dns_api(sandbox):
    """Two TXT values on one `_acme-challenge` name, written with the real SDK, served by the sandbox's DNS."""
    zone_id = sandbox.backend(dns_module).add_zone("pebble-flow.test")
    dns = sandbox.client(oci.dns.DnsClient)
    account_key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(account_key, alg=jose.ES256, verify_ssl=str(sandbox.pebble.ca_bundle))
    acme = client.ClientV2(client.ClientV2.get_directory(sandbox.env["CERTMGR_ACME_DIRECTORY"], net), net)
    net.account = acme.new_account(messages.NewRegistration.from_data(email="t@example.com",
                                                                      terms_of_service_agreed=True))
    key = ec.generate_private_key(ec.SECP256R1())
    names = ["pebble-flow.test", "*.pebble-flow.test"]
    csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    order = acme.new_order(csr)
    answers = []
    for authz in order.authorizations:
        chall = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.DNS01))
        answers.append((chall, chall.chall.validation(account_key)))
    assert len({v for _, v in answers}) == 2
    items = [oci.dns.models.RecordOperation(domain="_acme-challenge.pebble-flow.test", rtype="TXT", rdata=v,
                                            ttl=60, operation="ADD") for _, v in answers]
    dns.patch_zone_records(zone_id, oci.dns.models.PatchZoneRecordsDetails(items=items))
    for chall, _ in answers:
        acme.answer_challenge(chall, chall.chall.response(account_key))
    done = acme.poll_and_finalize(order, dt.datetime.now() + dt.timedelta(seconds=60))
    leaf = x509.load_pem_x509_certificate(done.fullchain_pem.encode())
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == sorted(names)
    root = x509.load_pem_x509_certificate(Path(sandbox.env["SANDBOX_ACME_ROOT"]).read_bytes())
    chain = x509.load_pem_x509_certificates(done.fullchain_pem.encode())
    assert chain[-1].issuer == root.subject


def _dns_no_retry(sandbox):
    return sandbox.client(oci.dns.DnsClient, retry_strategy=oci.retry.NoneRetryStrategy())


@pytest.mark.parametrize("status,code", [(429, "TooManyRequests"), (500, "InternalServerError"),
                                         (503, "ServiceUnavailable")])
def test_fault_statuses(sandbox, clear_faults, status, code):
    control = sandbox.env["SANDBOX_CONTROL"]
    requests.post(f"{control}/faults", json={"operation": "dns.get_zone", "status": status, "count": 1,
                                             "retryAfter": 2}).raise_for_status()
    client_ = _dns_no_retry(sandbox)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client_.get_zone(sandbox.ids["zone"])
    assert (err.value.status, err.value.code) == (status, code)
    assert err.value.headers.get("retry-after") == "2"
    assert client_.get_zone(sandbox.ids["zone"]).data.name == "example.com"  # count=1: the next call passes


def test_fault_rate_and_latency(sandbox, clear_faults):
    control = sandbox.env["SANDBOX_CONTROL"]
    requests.post(f"{control}/faults", json={"operation": "dns.get_zone", "latency": 0.3}).raise_for_status()
    requests.post(f"{control}/faults", json={"operation": "dns.get_zone", "status": 500, "rate": 0.5})
    client_ = _dns_no_retry(sandbox)
    outcomes = []
    started = time.monotonic()
    for _ in range(10):
        try:
            client_.get_zone(sandbox.ids["zone"])
            outcomes.append(200)
        except oci.exceptions.ServiceError as exc:
            outcomes.append(exc.status)
    assert time.monotonic() - started >= 10 * 0.3
    assert 0 < outcomes.count(500) < 10
    calls = requests.get(f"{control}/calls", params={"operation": "dns.get_zone"}).json()
    assert [c["status"] for c in calls[-10:]] == outcomes


def test_reset_empties_every_backend_and_seeds_a_fresh_tenancy():
    """`Sandbox.reset()` (and `World.reset()`): the old objects are gone, the new seed works through the SDK,
    the listener of the old load balancer stops serving, and calls and faults start from nothing."""
    with Sandbox(pebble=False) as box:
        old_ids, old_https = dict(box.ids), box.env["SANDBOX_LB_HTTPS"]
        client = box.client(oci.dns.DnsClient)
        assert client.get_zone(old_ids["zone"]).data.name == "example.com"
        box.world.faults.add(Fault.from_json({"operation": "dns.get_zone", "status": 500}))
        box.reset()
        assert box.world.faults.items == [] and box.world.calls == []
        assert set(box.ids) == set(old_ids) and not set(box.ids.values()) & set(old_ids.values())
        with pytest.raises(oci.exceptions.ServiceError) as gone:
            client.get_zone(old_ids["zone"])
        assert gone.value.status == 404
        assert client.get_zone(box.ids["zone"]).data.name == "example.com"
        assert len(box.backend(dns_module).zones) == 1 and len(box.backend(loadbalancer).load_balancers) == 1
        host, port = old_https.rsplit(":", 1)
        if box.env["SANDBOX_LB_HTTPS"] != old_https:
            with pytest.raises(OSError):
                socket.create_connection((host, int(port)), timeout=2).close()
        host, port = box.env["SANDBOX_LB_HTTPS"].rsplit(":", 1)
        socket.create_connection((host, int(port)), timeout=2).close()
