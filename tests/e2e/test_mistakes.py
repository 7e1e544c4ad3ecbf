"""Mistakes and damage get a clear answer: Vault damage repaired, errors that name the cause and the exit
code, a validated Fn body, and only this deployment's objects touched.

The module has its own tenant (zone `oops.test`, prefix `oops`), given a certificate first. Runs in this
process wait by the fast policy; the CLI and the Fn container are the real ones.
"""
from __future__ import annotations

import json

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from _runs import cli, fast_policy, run
from _slice import assert_healthy, state
from certmgr.__main__ import main
from sandbox.oci.auth import new_rsa_key, pem_private
from sandbox.fn_platform import FnContainer


LABEL = "oops"


def served_matches_vault(tenant) -> None:
    assert_healthy(tenant)
    chain = x509.load_pem_x509_certificates(tenant.secret("chain"))
    leaf = x509.load_pem_x509_certificate(tenant.secret("certificate"))
    assert chain and chain[0].subject == leaf.issuer, "Vault's CURRENT chain does not lead to the certificate"


# 1. Damage in Vault -------------------------------------------------------------------------------------------

def test_a_foreign_current_key_is_repaired_without_a_new_order(issued_tenant):
    foreign = trustme.CA().issue_cert(issued_tenant.zone).private_key_pem.bytes()
    issued_tenant.put_secret("private-key", foreign)  # by hand, as CURRENT, next to the CURRENT certificate
    result = run(issued_tenant.env)
    assert (result.status, result.action) == ("ok", "repair"), result.render()
    assert "own key and chain CURRENT" in " ".join(result.repaired)
    served_matches_vault(issued_tenant)


def test_a_garbage_current_chain_is_repaired_without_a_new_order(issued_tenant):
    issued_tenant.put_secret("chain", b"-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    result = run(issued_tenant.env)
    assert (result.status, result.action) == ("ok", "repair"), result.render()
    served_matches_vault(issued_tenant)


def test_a_garbage_account_key_is_replaced_by_a_new_account(issued_tenant):
    issued_tenant.put_secret("acme-account-key", b"garbage that is no key")
    result = run(issued_tenant.env, force=True)
    assert (result.status, result.action) == ("ok", "issue"), result.render()
    warning = next(w for w in result.warnings if "ACME account key" in w)
    assert f"'{issued_tenant.prefix}-acme-account-key'" in warning and "new ACME account is registered" in warning
    serialization.load_pem_private_key(issued_tenant.secret("acme-account-key"), None)  # a usable key is CURRENT now
    served_matches_vault(issued_tenant)


def test_a_profile_the_ca_does_not_offer_fails_before_any_write(issued_tenant):
    before = issued_tenant.footprint()
    result = run(dict(issued_tenant.env, CERTMGR_ACME_PROFILE="nosuchprofile"), force=True)
    assert result.status == "failed" and result.error.startswith("config:"), result.render()
    assert "CERTMGR_ACME_PROFILE: 'nosuchprofile' is not a profile the CA" in result.error
    assert issued_tenant.mutations_since(before) == []


# 2. Errors that name the cause, with the documented exit code ------------------------------------------------

def test_a_garbage_oci_config_file_is_a_configuration_error(issued_tenant, tmp_path):
    config = tmp_path / "oci_config"
    config.write_text("this is not an ini file\n")
    done = cli(dict(issued_tenant.env, OCI_CONFIG_FILE=str(config), OCI_CLI_CONFIG_FILE=str(config)), "run")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"OCI_CONFIG_FILE: {config} (profile DEFAULT) cannot be used" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_an_unreachable_oci_endpoint_names_the_endpoint_and_the_fix(issued_tenant, capsys):
    """The CLI's own code in this process, so the retries' waits can be the fast policy's."""
    env = dict(issued_tenant.env, CERTMGR_OCI_ENDPOINT="http://127.0.0.1:9/regions/{region}")
    assert main(["run", "--json"], environ=env, policy=fast_policy()) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["error"].startswith("oci: no answer from http://127.0.0.1:9/regions/") and \
        "Connection refused" in result["error"], result
    assert any("CERTMGR_OCI_ENDPOINT" in w for w in result["warnings"]) and result["state"] == "nothing was changed"


def test_a_wrong_api_key_is_answered_with_the_signature_hint(issued_tenant, tmp_path):
    key_file = tmp_path / "wrong_key.pem"
    key_file.write_text(pem_private(new_rsa_key()))
    key_file.chmod(0o600)
    settings = dict(issued_tenant.sandbox.oci_config, key_file=str(key_file))
    config = tmp_path / "oci_config"
    config.write_text("[DEFAULT]\n" + "".join(f"{k}={v}\n" for k, v in settings.items()))
    config.chmod(0o600)
    done = cli(dict(issued_tenant.env, OCI_CONFIG_FILE=str(config), OCI_CLI_CONFIG_FILE=str(config)), "run", "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert "401" in result["error"] and any("the API key (key_file), its fingerprint" in w
                                            for w in result["warnings"]), result


# 3. The Fn body, and one log line for every failure ------------------------------------------------------------

BAD_BODIES = {
    '{"force": "false"}': "force must be a JSON boolean (true or false), not str 'false'",
    '{"dry-run": true}': "unknown key 'dry-run' (did you mean 'dry_run'?)",
    '{"actoin": "plan"}': "unknown key 'actoin' (did you mean 'action'?)",
    '{"action": "renwe"}': "action must be one of 'renew', 'plan', 'monitor', 'check', not 'renwe'",
    '["plan"]': "request body must be a JSON object",
}


def test_fn_bodies_with_unknown_keys_or_wrong_types_are_refused_with_nothing_done(issued_tenant):
    before, seen = state(issued_tenant), issued_tenant.footprint()
    with FnContainer(issued_tenant.env) as fn:
        for body, said in BAD_BODIES.items():
            reply = fn.invoke(body.encode())
            answer = json.loads(reply.body)
            assert reply.status == 502 and said in answer["error"], (body, answer)
            assert "allowed keys: action" in answer["error"] or body == '["plan"]'
        logs = fn.logs()
    assert [line for line in logs.splitlines() if "run failed: request:" in line].__len__() == len(BAD_BODIES)
    assert issued_tenant.calls_since(seen) == [] and state(issued_tenant) == before


def test_a_configuration_error_leaves_one_line_in_the_functions_log(issued_tenant):
    with FnContainer(dict(issued_tenant.env, CERTMGR_RENEWAL_DAYS="5")) as fn:
        reply = fn.invoke(b"")
        logs = fn.logs()
    assert reply.status == 502
    lines = [line for line in logs.splitlines() if "run failed:" in line]
    assert len(lines) == 1 and "CERTMGR_RENEWAL_DAYS: 5 is outside 7..60 days" in lines[0], logs[-2000:]


# 4. Only this deployment's objects ------------------------------------------------------------------------------

def test_prefixes_tmi_and_tmi_b_never_touch_each_others_objects(issued_tenant):
    """Two deployments on one load balancer and one vault, one prefix starting with the other's, the listener
    handed from one to the other as an operator does (neither takes it over by itself)."""
    with issued_tenant.another_deployment("tmi-b") as other:
        assert run(other).status == "ok"
    theirs = {n for n in issued_tenant.lb_certificate_names() if n.startswith("tmi-b-")}
    versions = {k: v for k, v in issued_tenant.secret_versions().items() if k.startswith("tmi-b-")}
    assert len(theirs) == 1
    with issued_tenant.another_deployment("tmi") as ours:
        for _ in range(2):  # ours issues, then renews: each time it deletes its own unused certificates only
            result = run(ours, force=True)
            assert result.status == "ok" and all(not n.startswith("tmi-b-") for n in result.deleted_lb_certificates)
    assert theirs <= issued_tenant.lb_certificate_names()
    assert {k: v for k, v in issued_tenant.secret_versions().items() if k.startswith("tmi-b-")} == versions
    with issued_tenant.another_deployment("tmi-b") as other:
        back = run(other)
        assert (back.status, back.action) == ("ok", "deploy"), back.render()  # its own certificate, no new order


def test_the_sdk_loading_no_service_by_itself_changes_nothing(issued_tenant):
    """OCI_PYTHON_SDK_NO_SERVICE_IMPORTS=1 (set by the OCI CLI, and by images that want a faster import) stops
    the SDK loading `oci.vault` and the like on first use: certmgr imports the services it calls itself."""
    env = dict(issued_tenant.env, OCI_PYTHON_SDK_NO_SERVICE_IMPORTS="1")
    done = cli(env, "status", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["listeners"], done.stdout
    done = cli(dict(env, CERTMGR_MONITOR_LB_IDS=issued_tenant.lb_id), "monitor", "--json")  # the monitor's services too
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "ok", done.stdout + done.stderr
