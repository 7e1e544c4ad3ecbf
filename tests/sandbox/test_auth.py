"""The emulator checks OCI request signatures like OCI does: any tampering is a 401."""
import base64
import os

import oci
import pytest
import requests

from sandbox.oci.auth import ApiKey, new_rsa_key, pem_private


def _identity(sandbox, signer=None, config=None):
    kwargs = {"signer": signer} if signer else {}
    return oci.identity.IdentityClient(config or sandbox.oci_config, service_endpoint=sandbox.endpoint, **kwargs)


def _get(client):
    return client.base_client.call_api(resource_path="/nowhere-signed", method="POST", body={"a": 1})


def test_valid_signature_reaches_routing(sandbox):
    with pytest.raises(oci.exceptions.ServiceError) as err:
        _get(_identity(sandbox))
    assert err.value.status == 404  # authenticated; the path simply does not exist


def test_unknown_key_is_401(sandbox, tmp_path):
    stranger = new_rsa_key()
    key_file = tmp_path / "k.pem"
    key_file.write_text(pem_private(stranger))
    config = dict(sandbox.oci_config, key_file=str(key_file),
                  fingerprint=ApiKey("t", "u", stranger).fingerprint)
    client = oci.resource_search.ResourceSearchClient(config, service_endpoint=sandbox.endpoint)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.list_resource_types()
    assert (err.value.status, err.value.code) == (401, "NotAuthenticated")


def test_right_key_id_wrong_private_key_is_401(sandbox, tmp_path):
    key_file = tmp_path / "k.pem"
    key_file.write_text(pem_private(new_rsa_key()))
    config = dict(sandbox.oci_config, key_file=str(key_file))
    client = oci.resource_search.ResourceSearchClient(config, service_endpoint=sandbox.endpoint)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.list_resource_types()
    assert err.value.status == 401 and "signature" in err.value.message


def test_body_swapped_after_signing_is_401(sandbox):
    signer = oci.signer.Signer.from_config(sandbox.oci_config)
    url = f"{sandbox.endpoint}/20180409/resources"
    prepared = requests.Request("POST", url, json={"type": "Structured", "query": "query all resources"}).prepare()
    signer(prepared)
    prepared.body = b'{"type": "Structured", "query": "query all resourcez"}'
    reply = requests.Session().send(prepared)
    assert reply.status_code == 401
    assert "x-content-sha256" in reply.json()["message"]
    assert reply.headers["opc-request-id"]


def test_unsigned_request_is_401(sandbox):
    reply = requests.get(f"{sandbox.endpoint}/20180409/resourceTypes")
    assert reply.status_code == 401
    assert reply.json()["code"] == "NotAuthenticated"


def test_resource_principal_session_token(sandbox, tmp_path):
    """A function-style run: the SDK's resource-principal signer with a sandbox-minted token."""
    minted = requests.post(f"{sandbox.env['SANDBOX_CONTROL']}/session-token", json={}).json()
    key_file = tmp_path / "session.pem"
    key_file.write_text(minted["privateKeyPem"])
    signer = oci.auth.signers.EphemeralResourcePrincipalSigner(
        session_token=minted["token"], private_key=str(key_file), region=minted["region"])
    assert signer.tenancy_id == sandbox.world.tenancy_id
    with pytest.raises(oci.exceptions.ServiceError) as err:
        _get(_identity(sandbox, signer=signer, config={}))
    assert err.value.status == 404  # authenticated


def test_forged_session_token_is_401(sandbox, tmp_path):
    minted = requests.post(f"{sandbox.env['SANDBOX_CONTROL']}/session-token", json={}).json()
    head, body, sig = minted["token"].split(".")
    forged = f"{head}.{body}.{base64.urlsafe_b64encode(os.urandom(256)).rstrip(b'=').decode()}"
    key_file = tmp_path / "session.pem"
    key_file.write_text(minted["privateKeyPem"])
    signer = oci.auth.signers.EphemeralResourcePrincipalSigner(
        session_token=forged, private_key=str(key_file), region=minted["region"])
    with pytest.raises(oci.exceptions.ServiceError) as err:
        _get(_identity(sandbox, signer=signer, config={}))
    assert err.value.status == 401
