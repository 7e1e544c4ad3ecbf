"""The renewal flow end to end: the handler invoked through the real FDK as Fn does, against the sandbox.

Each test checks the outcome from outside certmgr: Vault and the load balancer through the `oci` SDK, the
sandbox's control API, DNS queries, and TLS handshakes with the listener. The module has its own tenant
slice (zone `flow.test`, its own vault and load balancer); tests that need a certificate in place start
from the `first_run` fixture, and each leaves one deployed, so any test can also run alone.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import oci
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sandbox.fn_platform import FnContainer

LABEL = "flow"
SECRET_ROLES = ("certificate", "chain", "private-key", "acme-account-key")
PROPAGATION_DELAY = 3.0


def serial(value: str | x509.Certificate) -> int:
    """A serial as a number: certmgr reports hex text, a handshake gives a certificate."""
    return value.serial_number if isinstance(value, x509.Certificate) else int(value.replace(":", ""), 16)


def invoke(container: FnContainer, body: dict | None = None) -> tuple[int, dict]:
    """POST /call as Fn does; the status Fn sees and the JSON body."""
    reply = container.invoke(json.dumps(body).encode() if body is not None else b"")
    try:
        return reply.status, json.loads(reply.body)
    except ValueError:
        pytest.fail(f"not JSON ({reply.status}): {reply.body[:500]!r}\n{container.logs()[-3000:]}")


def invoke_once(env: dict, body: dict | None = None) -> tuple[int, dict]:
    """A cold container with its own env, for one invocation."""
    with FnContainer(env) as container:
        return invoke(container, body)


@pytest.fixture(scope="module")
def fn(tenant):
    """One hot container for the module, as Fn keeps one between invocations."""
    with FnContainer(tenant.env) as container:
        yield container


@dataclass
class FirstRun:
    result: dict
    lb_before: oci.load_balancer.models.LoadBalancer
    lb_after: oci.load_balancer.models.LoadBalancer


@pytest.fixture(scope="module")
def first_run(tenant, fn) -> FirstRun:
    """The first invocation on the empty tenant (empty body), with the load balancer before and after."""
    before = tenant.load_balancer()
    status, result = invoke(fn)
    assert status == 200, result
    return FirstRun(result, before, tenant.load_balancer())


def listener_fields(lb, name: str, *, except_certificate: bool = False) -> dict:
    fields = oci.util.to_dict(lb.listeners[name])
    if except_certificate:
        del fields["ssl_configuration"]["certificate_name"]
    return fields


def certificate_set(tenant, footprint) -> dict[str, int]:
    """Version counts of the certificate's secrets (leaving out certmgr's run lock, which acting runs take)."""
    return {name: count for name, count in footprint.secret_versions.items()
            if name in {f"{tenant.prefix}-{role}" for role in SECRET_ROLES}}


def assert_nothing_written(tenant, before) -> None:
    after = tenant.footprint()
    assert after.secret_versions == before.secret_versions
    assert after.work_requests == before.work_requests
    assert tenant.mutations_since(before) == []


def assert_ok(status: int, result: dict, action: str) -> None:
    assert (status, result["status"], result["action"]) == (200, "ok", action), json.dumps(result)


# 1. First run ------------------------------------------------------------------------------------------

def test_first_run_reports_the_issued_certificate(tenant, first_run):
    result = first_run.result
    assert (result["status"], result["action"]) == ("ok", "issue")
    assert result["names"] == [tenant.zone, f"*.{tenant.zone}"]
    assert result["serial"] and result["not_after"] and result["days_remaining"] > 30
    assert result["listeners"] == ["https"] and result["stored_in_vault"] is True
    assert {"observe", "acme_order", "dns_propagation", "vault_store", "lb_switch", "total"} <= set(result["timings"])


def test_first_run_stores_a_matching_verifiable_set_in_vault(tenant, first_run):
    assert {f"{tenant.prefix}-{role}" for role in SECRET_ROLES} <= set(tenant.secret_versions())
    chain = tenant.stored_chain()
    key = serialization.load_pem_private_key(tenant.secret("private-key"), password=None)
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key.public_key().public_bytes(*spki) == chain[0].public_key().public_bytes(*spki)
    assert serial(chain[0]) == serial(first_run.result["serial"])
    for hostname in (tenant.zone, f"www.{tenant.zone}"):
        tenant.verify(chain, hostname)


def test_first_run_listener_serves_it_over_tls(tenant, first_run):
    for hostname in (tenant.zone, f"www.{tenant.zone}"):
        assert serial(tenant.served(hostname)) == serial(first_run.result["serial"])


def test_first_run_keeps_every_other_listener_field(first_run):
    before, after = first_run.lb_before, first_run.lb_after
    assert listener_fields(after, "http") == listener_fields(before, "http")
    assert listener_fields(after, "https", except_certificate=True) == \
        listener_fields(before, "https", except_certificate=True)
    https = after.listeners["https"]
    assert https.hostname_names == ["app-host"] and https.rule_set_names == ["hsts"]
    assert https.connection_configuration.idle_timeout == 120
    ssl = https.ssl_configuration
    assert ssl.certificate_name == first_run.result["lb_certificate"]
    assert ssl.protocols == ["TLSv1.2", "TLSv1.3"]
    assert ssl.cipher_suite_name == "oci-default-ssl-cipher-suite-v1"
    assert ssl.server_order_preference == "ENABLED"


def test_first_run_leaves_no_challenge_record(tenant, first_run):
    assert tenant.challenge_records() == []
    assert tenant.challenge_answers() == []


# 2. Second run ------------------------------------------------------------------------------------------

def test_second_run_does_nothing_and_writes_nothing(tenant, fn, first_run):
    before = tenant.footprint()
    status, result = invoke(fn)
    assert_ok(status, result, "nothing")
    assert serial(result["serial"]) == serial(tenant.stored_chain()[0])
    serving = tenant.load_balancer().listeners["https"].ssl_configuration.certificate_name
    assert (result["listeners"], result["lb_certificate"]) == (["https"], serving)  # what serves it, by name
    assert_nothing_written(tenant, before)


# 3. Forced renewal --------------------------------------------------------------------------------------

def test_force_deploys_a_new_certificate_and_deletes_only_its_own_old_one(tenant, fn, first_run):
    old_name = tenant.load_balancer().listeners["https"].ssl_configuration.certificate_name
    old_serial = serial(tenant.served())
    assert old_name.startswith(f"{tenant.prefix}-") and "bootstrap" in tenant.lb_certificate_names()

    status, result = invoke(fn, {"force": True})

    assert_ok(status, result, "issue")
    assert serial(result["serial"]) != old_serial
    assert serial(tenant.served()) == serial(tenant.stored_chain()[0]) == serial(result["serial"])
    # certmgr deletes only LB certificates named with its prefix: the unused bootstrap one stays
    assert result["deleted_lb_certificates"] == [old_name]
    assert tenant.lb_certificate_names() == {"bootstrap", result["lb_certificate"]}


# 4. Deploy-only repair ----------------------------------------------------------------------------------

def point_https_at(tenant, certificate_name: str) -> None:
    """What an operator might do by hand: a full UpdateListener that only changes the certificate."""
    models = oci.load_balancer.models
    listener = tenant.load_balancer().listeners["https"]
    details = models.UpdateListenerDetails(**{f: getattr(listener, f, None)
                                              for f in models.UpdateListenerDetails().swagger_types})
    ssl = listener.ssl_configuration
    details.ssl_configuration = models.SSLConfigurationDetails(**{
        f: getattr(ssl, f, None) for f in models.SSLConfigurationDetails().swagger_types})
    details.ssl_configuration.certificate_name = certificate_name
    reply = tenant.lb.update_listener(details, tenant.lb_id, "https")
    assert tenant.wait_work_request(reply.headers["opc-work-request-id"]) == "SUCCEEDED"


def test_listener_moved_off_the_certificate_is_redeployed_without_a_new_order(tenant, fn, first_run):
    stored = serial(tenant.stored_chain()[0])
    point_https_at(tenant, "bootstrap")
    assert serial(tenant.served(verify=False)) != stored
    before = tenant.footprint()

    status, result = invoke(fn)

    assert_ok(status, result, "deploy")
    assert result["listeners"] == ["https"] and result["stored_in_vault"] is False
    assert certificate_set(tenant, tenant.footprint()) == certificate_set(tenant, before)
    assert "dns.patch_zone_records" not in tenant.mutations_since(before)
    assert serial(tenant.served()) == stored
    assert tenant.load_balancer().listeners["https"].hostname_names == ["app-host"]


# 5. Dry run --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("asked_by", ["request body", "CERTMGR_DRY_RUN"])
def test_dry_run_shows_the_plan_and_writes_nothing(tenant, fn, first_run, asked_by):
    before = tenant.footprint()
    if asked_by == "request body":
        status, result = invoke(fn, {"force": True, "dry_run": True})
    else:
        status, result = invoke_once({**tenant.env, "CERTMGR_DRY_RUN": "true"}, {"force": True})
    assert (status, result["status"], result["action"]) == (200, "dry-run", "issue"), result
    assert "forced" in result["reason"] and serial(result["serial"]) == serial(tenant.served())
    assert result["listeners"] == [] and result["stored_in_vault"] is False
    assert_nothing_written(tenant, before)


# 6. Resource principal ---------------------------------------------------------------------------------

@pytest.mark.parametrize("token_given_as", ["path", "value"])
def test_resource_principal_session_token_signs_every_call(tenant, first_run, tmp_path, token_given_as):
    minted = tenant.control("POST", "/session-token", {"compartmentId": tenant.compartment_id})
    token_file, key_file = tmp_path / "rpst", tmp_path / "private.pem"
    token_file.write_text(minted["token"])
    key_file.write_text(minted["privateKeyPem"])
    env = {k: v for k, v in tenant.env.items() if k not in ("OCI_CONFIG_FILE", "OCI_CLI_CONFIG_FILE")}
    env.update(OCI_RESOURCE_PRINCIPAL_VERSION="2.2",
               OCI_RESOURCE_PRINCIPAL_RPST=str(token_file) if token_given_as == "path" else minted["token"],
               OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM=str(key_file),
               OCI_RESOURCE_PRINCIPAL_REGION=minted["region"])
    before = tenant.footprint()

    status, result = invoke_once(env, {"action": "plan"})

    assert (status, result["status"], result["action"]) == (200, "dry-run", "nothing"), result
    principals = {c["principal"] for c in tenant.calls_since(before)}
    assert principals and all(p.startswith("resource:") for p in principals), principals


# 7. A failed LB work request --------------------------------------------------------------------------

def test_failed_work_request_is_reported_and_the_next_run_deploys(tenant, fn, first_run):
    previous = serial(tenant.served())
    tenant.control("POST", f"/lb/{tenant.lb_id}/fail-next-work-request", {"count": 1})

    status, result = invoke(fn, {"force": True})

    assert (status, result["status"], result["action"]) == (502, "failed", "issue"), result
    assert "uploading certificate" in result["error"] and "work request" in result["error"]
    assert "stored in Vault" in result["state"] and "still serve the previous" in result["state"]
    assert result["stored_in_vault"] is True and result["listeners"] == []
    new = serial(result["serial"])
    assert serial(tenant.stored_chain()[0]) == new != previous
    assert serial(tenant.served()) == previous

    status, result = invoke(fn)

    assert_ok(status, result, "deploy")
    assert serial(result["serial"]) == serial(tenant.served()) == new
    assert tenant.lb_certificate_names() == {"bootstrap", result["lb_certificate"]}


# 8. Slow DNS propagation ---------------------------------------------------------------------------------

@pytest.fixture
def slow_zone(tenant):
    """Zone changes reach DNS answers PROPAGATION_DELAY seconds late, as OCI's edge lags its API."""
    tenant.control("POST", f"/dns/zones/{tenant.zone}", {"propagationDelay": PROPAGATION_DELAY})
    yield
    tenant.control("POST", f"/dns/zones/{tenant.zone}", {"propagationDelay": 0})


def test_run_waits_for_slow_propagation(tenant, fn, first_run, slow_zone):
    status, result = invoke(fn, {"force": True})
    assert_ok(status, result, "issue")
    assert result["timings"]["dns_propagation"] >= PROPAGATION_DELAY - 0.5
    assert serial(tenant.served()) == serial(result["serial"])
    assert tenant.challenge_records() == []


# 9. A certificate from another CA ------------------------------------------------------------------------

def test_certificate_from_another_ca_is_replaced(tenant, fn, first_run):
    """A set stored by hand (say, moved over from another CA) that is due: the CA cannot honour ARI's
    `replaces` for a certificate it never issued, and the renewal must go ahead without it."""
    other_ca = trustme.CA().create_child_ca()
    foreign = other_ca.issue_cert(tenant.zone, f"*.{tenant.zone}",
                                  not_after=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=5))
    tenant.put_secret("private-key", foreign.private_key_pem.bytes())
    tenant.put_secret("chain", foreign.cert_chain_pems[1].bytes())
    tenant.put_secret("certificate", foreign.cert_chain_pems[0].bytes())

    status, result = invoke(fn)

    assert_ok(status, result, "issue")
    assert "expires in 4 days" in result["reason"]
    chain = tenant.stored_chain()
    tenant.verify(chain, f"www.{tenant.zone}")
    assert serial(tenant.served()) == serial(chain[0]) == serial(result["serial"])
