"""OCI Vault's HTTP side (VaultsClient, SecretsClient; KMS GetVault and GetKey): handlers and routes."""
from __future__ import annotations

import sys

import oci.key_management.models as kms
import oci.secrets.models as retrieval
import oci.vault.models as management

from ..errors import InvalidParameter, MissingParameter
from ..http import Reply, Request, Route, now, page, wire
from .backend import Backend
from .models import Secret, Version


def _backend(req: Request) -> Backend:
    return req.backend(sys.modules[__package__])


def _secret_reply(secret: Secret) -> Reply:
    return Reply(200, wire(secret.model()), {"etag": secret.etag})


def _version_number(req: Request) -> int:
    try:
        return int(req.params["secretVersionNumber"])
    except ValueError:
        raise InvalidParameter("secretVersionNumber must be an integer") from None


def _sorted(req: Request, items: list, keys: dict, default: str) -> list:
    """`sortBy`/`sortOrder` where, as OCI documents, time-like orders default to DESC and names to ASC."""
    by = req.arg("sortBy", default)
    if by not in keys:
        raise InvalidParameter(f"sortBy must be one of {sorted(keys)}")
    order = req.arg("sortOrder") or ("ASC" if by == "NAME" else "DESC")
    if order not in ("ASC", "DESC"):
        raise InvalidParameter("sortOrder must be ASC or DESC")
    return sorted(items, key=keys[by], reverse=order == "DESC")


def _versions_page(req: Request, secret: Secret) -> tuple[list[Version], dict]:
    versions = _sorted(req, secret.live(), {"VERSION_NUMBER": lambda v: v.number}, "VERSION_NUMBER")
    return page(req, versions)


def create_secret(req: Request) -> Reply:
    return _secret_reply(_backend(req).create_secret(req.details("CreateSecretDetails", management)))


def get_secret(req: Request) -> Reply:
    return _secret_reply(_backend(req).secret(req.params["secretId"]))


def update_secret(req: Request) -> Reply:
    b = _backend(req)
    return _secret_reply(b.update_secret(req.params["secretId"], req.details("UpdateSecretDetails", management),
                                       req.headers.get("if-match")))


def list_secrets(req: Request) -> Reply:
    compartment_id = req.arg("compartmentId")
    if not compartment_id:
        raise MissingParameter("compartmentId is required")
    secrets = _backend(req).list_secrets(compartment_id, req.arg("name"), req.arg("vaultId"),
                                         req.arg("lifecycleState"))
    secrets = _sorted(req, secrets, {"TIMECREATED": lambda s: s.time_created, "NAME": lambda s: s.name},
                      "TIMECREATED")
    chunk, headers = page(req, secrets)
    return Reply(200, wire([s.summary() for s in chunk]), headers)


def list_secret_versions(req: Request) -> Reply:
    secret = _backend(req).secret(req.params["secretId"])
    chunk, headers = _versions_page(req, secret)
    return Reply(200, wire([management.SecretVersionSummary(
        content_type="BASE64", name=v.name, secret_id=secret.id, stages=v.ordered_stages(),
        time_created=v.time_created, time_of_deletion=v.time_of_deletion, version_number=v.number,
        is_content_auto_generated=False, system_tags={}) for v in chunk]), headers)


def get_secret_version(req: Request) -> Reply:
    secret = _backend(req).secret(req.params["secretId"])
    v = secret.version(_version_number(req))
    return Reply(200, wire(management.SecretVersion(
        content_type="BASE64", name=v.name, secret_id=secret.id, stages=v.ordered_stages(),
        time_created=v.time_created, time_of_deletion=v.time_of_deletion, version_number=v.number,
        is_content_auto_generated=False)))


def schedule_secret_deletion(req: Request) -> Reply:
    _backend(req).schedule_deletion(req.params["secretId"], req.details("ScheduleSecretDeletionDetails", management),
                                    req.headers.get("if-match"))
    return Reply(200)


def cancel_secret_deletion(req: Request) -> Reply:
    _backend(req).cancel_deletion(req.params["secretId"], req.headers.get("if-match"))
    return Reply(200)


def schedule_secret_version_deletion(req: Request) -> Reply:
    _backend(req).schedule_version_deletion(req.params["secretId"], _version_number(req),
                                            req.details("ScheduleSecretVersionDeletionDetails", management),
                                            req.headers.get("if-match"))
    return Reply(200)


def cancel_secret_version_deletion(req: Request) -> Reply:
    _backend(req).cancel_version_deletion(req.params["secretId"], _version_number(req),
                                          req.headers.get("if-match"))
    return Reply(200)


def _bundle_reply(req: Request, secret: Secret) -> Reply:
    v = Backend.pick_version(secret, req.int_arg("versionNumber"), req.arg("secretVersionName"),
                             req.arg("stage"))
    return Reply(200, wire(retrieval.SecretBundle(
        secret_id=secret.id, time_created=v.time_created, version_number=v.number, version_name=v.name,
        secret_bundle_content=retrieval.Base64SecretBundleContentDetails(content_type="BASE64",
                                                                         content=v.content),
        stages=v.ordered_stages(), metadata=secret.metadata)))


def get_secret_bundle(req: Request) -> Reply:
    b = _backend(req)
    return _bundle_reply(req, b.readable(b.secret(req.params["secretId"])))


def get_secret_bundle_by_name(req: Request) -> Reply:
    name, vault_id = req.arg("secretName"), req.arg("vaultId")
    if not name or not vault_id:
        raise MissingParameter("secretName and vaultId are required")
    return _bundle_reply(req, _backend(req).by_name(name, vault_id))


def list_secret_bundle_versions(req: Request) -> Reply:
    b = _backend(req)
    secret = b.readable(b.secret(req.params["secretId"]))
    chunk, headers = _versions_page(req, secret)
    return Reply(200, wire([retrieval.SecretBundleVersionSummary(
        secret_id=secret.id, time_created=v.time_created, version_number=v.number, version_name=v.name,
        time_of_deletion=v.time_of_deletion, stages=v.ordered_stages()) for v in chunk]), headers)


def get_vault(req: Request) -> Reply:
    """KMS GetVault: the management endpoint is this emulator's own (the SDK's KmsManagementClient is built on
    it); the crypto endpoint is never called."""
    vault = _backend(req).kms_vault(req.params["vaultId"])
    here = f"http://{req.headers.get('host', 'localhost')}/regions/{req.region}"
    return Reply(200, wire(kms.Vault(
        id=vault["id"], compartment_id=vault["compartmentId"], display_name=vault["name"], lifecycle_state="ACTIVE",
        management_endpoint=here, crypto_endpoint=here, vault_type="DEFAULT", time_created=now(), is_primary=True,
        is_vault_replicable=False, freeform_tags={}, defined_tags={})))


def get_key(req: Request) -> Reply:
    vault, state = _backend(req).kms_key(req.params["keyId"])
    key_id = req.params["keyId"]
    return Reply(200, wire(kms.Key(
        id=key_id, compartment_id=vault["compartmentId"], vault_id=vault["id"], display_name="master key",
        lifecycle_state=state, current_key_version=key_id + ".v1", protection_mode="HSM", time_created=now(),
        key_shape=kms.KeyShape(algorithm="AES", length=32), is_primary=True, freeform_tags={}, defined_tags={})))


_VAULT, _SECRETS = "/20180608/secrets", "/20190301/secretbundles"
ROUTES = [
    Route("GET", "/20180608/vaults/{vaultId}", "kms.get_vault", get_vault),
    Route("GET", "/20180608/keys/{keyId}", "kms.get_key", get_key),
    Route("POST", _VAULT, "vault.create_secret", create_secret),
    Route("GET", _VAULT, "vault.list_secrets", list_secrets),
    Route("GET", _VAULT + "/{secretId}", "vault.get_secret", get_secret),
    Route("PUT", _VAULT + "/{secretId}", "vault.update_secret", update_secret),
    Route("GET", _VAULT + "/{secretId}/versions", "vault.list_secret_versions", list_secret_versions),
    Route("GET", _VAULT + "/{secretId}/version/{secretVersionNumber}", "vault.get_secret_version",
          get_secret_version),
    Route("POST", _VAULT + "/{secretId}/version/{secretVersionNumber}/actions/scheduleDeletion",
          "vault.schedule_secret_version_deletion", schedule_secret_version_deletion),
    Route("POST", _VAULT + "/{secretId}/version/{secretVersionNumber}/actions/cancelDeletion",
          "vault.cancel_secret_version_deletion", cancel_secret_version_deletion),
    Route("POST", _VAULT + "/{secretId}/actions/scheduleDeletion", "vault.schedule_secret_deletion",
          schedule_secret_deletion),
    Route("POST", _VAULT + "/{secretId}/actions/cancelDeletion", "vault.cancel_secret_deletion",
          cancel_secret_deletion),
    Route("POST", _SECRETS + "/actions/getByName", "secrets.get_secret_bundle_by_name",
          get_secret_bundle_by_name),
    Route("GET", _SECRETS + "/{secretId}", "secrets.get_secret_bundle", get_secret_bundle),
    Route("GET", _SECRETS + "/{secretId}/versions", "secrets.list_secret_bundle_versions",
          list_secret_bundle_versions),
]
CONTROL_ROUTES = []
