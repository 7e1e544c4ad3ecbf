"""OCI Vault secrets: management (`/20180608`, VaultsClient) and retrieval (`/20190301`, SecretsClient).

Both APIs share one Backend per region because retrieval reads the versions that management writes.
KMS vaults and master keys are only seeded (`add_vault`), never served: secrets just need them to exist.

Version stages follow OCI's rotation model: CURRENT, PENDING, PREVIOUS and LATEST are each held by at
most one version; a version left with none of them is DEPRECATED, and only a DEPRECATED version may be
scheduled for deletion. OCI's per-secret limits hold: 30 versions in active use and 30 pending deletion.
Lifecycle states that OCI reaches asynchronously (CREATING/UPDATING -> ACTIVE, PENDING_DELETION -> DELETED,
for secrets and versions alike) are computed from timestamps, so no background threads are needed.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import sys
import uuid
from dataclasses import dataclass, field

import oci.secrets.models as retrieval
import oci.vault.models as management

from .errors import (Conflict, IncorrectState, InvalidParameter, MissingParameter, NotAuthorizedOrNotFound,
                     OciError, PreconditionFailed)
from .http import Reply, Request, Route, now, page, wire
from .world import Resettable, ocid

MAX_CONTENT_CHARS = 25 * 1024          # OCI's limit on a secret's base64 content
NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")
STAGES = ("CURRENT", "PENDING", "LATEST", "PREVIOUS", "DEPRECATED")
DELETION_WINDOW = (dt.timedelta(days=1), dt.timedelta(days=30))
DELETION_SLACK = dt.timedelta(minutes=10)  # a client computing "now + 1 day" is a little late on arrival
UNEMULATED_FIELDS = ("rotationConfig", "replicationConfig", "secretRules", "secretGenerationContext")
VERSION_LIMIT = 30  # per secret: versions in active use, and (separately) versions pending deletion


class LimitExceeded(OciError):
    """OCI's common error for a service limit; it names no secret-specific code, so this one is used."""
    status, code = 400, "LimitExceeded"


def _deletion_time(body: dict) -> dt.datetime:
    """`timeOfDeletion` from a schedule-deletion body: 1 to 30 days ahead, 30 days when absent."""
    at, when = now(), body.get("timeOfDeletion")
    if when is None:
        return at + DELETION_WINDOW[1]
    try:
        deletion = dt.datetime.fromisoformat(when)
    except (TypeError, ValueError):
        raise InvalidParameter(f"timeOfDeletion {when!r} is not an RFC 3339 timestamp") from None
    deletion = deletion if deletion.tzinfo else deletion.replace(tzinfo=dt.timezone.utc)
    if not at + DELETION_WINDOW[0] - DELETION_SLACK <= deletion <= at + DELETION_WINDOW[1] + DELETION_SLACK:
        raise InvalidParameter("timeOfDeletion must be between 1 and 30 days from now")
    return deletion


@dataclass
class Version:
    number: int
    content: str                       # base64, as sent
    name: str | None
    stages: set[str]
    time_created: dt.datetime
    time_of_deletion: dt.datetime | None = None

    def deletion_state(self) -> str | None:
        """None while in active use; PENDING_DELETION (unreadable) until the time comes, then DELETED (gone)."""
        if self.time_of_deletion is None:
            return None
        return "DELETED" if now() >= self.time_of_deletion else "PENDING_DELETION"

    @property
    def size(self) -> int:
        return len(base64.b64decode(self.content))

    def ordered_stages(self) -> list[str]:
        return [s for s in STAGES if s in self.stages]


@dataclass
class Secret:
    id: str
    compartment_id: str
    vault_id: str
    key_id: str
    name: str
    time_created: dt.datetime
    description: str | None = None
    freeform_tags: dict = field(default_factory=dict)
    defined_tags: dict = field(default_factory=dict)
    metadata: dict | None = None
    versions: list[Version] = field(default_factory=list)
    etag: str = ""
    busy_state: str | None = None      # CREATING or UPDATING until busy_until
    busy_until: dt.datetime | None = None
    time_of_deletion: dt.datetime | None = None

    def state(self) -> str:
        at = now()
        if self.time_of_deletion:
            return "DELETED" if at >= self.time_of_deletion else "PENDING_DELETION"
        if self.busy_until and at < self.busy_until:
            return self.busy_state
        return "ACTIVE"

    def live(self) -> list[Version]:
        """The versions the APIs still show: every one not yet DELETED."""
        return [v for v in self.versions if v.deletion_state() != "DELETED"]

    def version(self, number: int) -> Version:
        found = next((v for v in self.live() if v.number == number), None)
        if found is None:
            raise NotAuthorizedOrNotFound(f"Authorization failed or requested resource not found: secret "
                                          f"version {number} of secret {self.id}")
        return found

    def check_room(self, deletion_state: str | None) -> None:
        """Refuse one more version in active use (None) or PENDING_DELETION beyond OCI's limit of 30."""
        if sum(v.deletion_state() == deletion_state for v in self.versions) < VERSION_LIMIT:
            return
        if deletion_state is None:
            raise LimitExceeded(f"Secret {self.id} already has {VERSION_LIMIT} secret versions in active use, "
                                f"the maximum per secret; schedule the deletion of DEPRECATED versions first")
        raise LimitExceeded(f"Secret {self.id} already has {VERSION_LIMIT} secret versions pending deletion, "
                            f"the maximum per secret; wait until they are deleted")

    def holder(self, stage: str) -> Version | None:
        """The newest version carrying `stage` (only DEPRECATED can be carried by several)."""
        return next((v for v in reversed(self.versions) if stage in v.stages), None)

    def touch(self, busy_state: str, delay: float) -> None:
        """Record a change: new etag, and CREATING/UPDATING for `delay` seconds when OCI would be busy."""
        self.etag = uuid.uuid4().hex
        self.busy_state = busy_state
        self.busy_until = now() + dt.timedelta(seconds=delay) if delay > 0 else None

    def give_stage(self, version: Version, stage: str) -> None:
        """Move an exclusive stage to `version`, then mark versions left without a stage DEPRECATED."""
        for other in self.versions:
            other.stages.discard(stage)
        version.stages.add(stage)
        version.stages.discard("DEPRECATED")
        for other in self.versions:
            if not other.stages:
                other.stages.add("DEPRECATED")

    def make_current(self, version: Version) -> None:
        old = self.holder("CURRENT")
        if old is version:
            return
        version.stages.discard("PENDING")
        self.give_stage(version, "CURRENT")
        if old:
            self.give_stage(old, "PREVIOUS")

    def common_fields(self) -> dict:
        return dict(compartment_id=self.compartment_id, defined_tags=self.defined_tags,
                    description=self.description, freeform_tags=self.freeform_tags, id=self.id,
                    key_id=self.key_id, lifecycle_state=self.state(), is_replica=False,
                    rotation_status="NOT_ENABLED", secret_name=self.name, time_created=self.time_created,
                    time_of_deletion=self.time_of_deletion, vault_id=self.vault_id,
                    is_auto_generation_enabled=False)

    def model(self) -> management.Secret:
        current = self.holder("CURRENT")
        return management.Secret(**self.common_fields(), metadata=self.metadata,
                                 current_version_number=current.number if current else None)

    def summary(self) -> management.SecretSummary:
        return management.SecretSummary(**self.common_fields(), system_tags={})


def _content(details: dict | None, creating: bool) -> tuple[str, str | None, str]:
    """Validate a `secretContent` object: (base64 content, version name, stage)."""
    details = details or {}
    if details.get("contentType") != "BASE64":
        raise InvalidParameter("secretContent.contentType must be BASE64")
    content = details.get("content")
    if not content or not isinstance(content, str):
        raise InvalidParameter("secretContent.content is required")
    if len(content) > MAX_CONTENT_CHARS:
        raise InvalidParameter(f"secretContent.content is {len(content)} characters; the maximum size of "
                               f"secret content is {MAX_CONTENT_CHARS} characters (25 KB, base64-encoded)")
    try:
        base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameter("secretContent.content is not valid base64") from None
    name = details.get("name")
    if name is not None and not NAME_PATTERN.match(name):
        raise InvalidParameter("secretContent.name may contain only letters, numbers, hyphens, underscores "
                               "and periods")
    stage = details.get("stage") or "CURRENT"
    if stage not in (("CURRENT",) if creating else ("CURRENT", "PENDING")):
        raise InvalidParameter(f"secretContent.stage {stage!r} is not allowed here" +
                               (": a new secret's first version is always CURRENT" if creating else ""))
    return content, name, stage


def _reject_unemulated(body: dict) -> None:
    """Rules, rotation, replication and generation change what OCI does; refuse rather than ignore them."""
    present = [f for f in UNEMULATED_FIELDS if body.get(f)] + \
              (["enableAutoGeneration"] if body.get("enableAutoGeneration") else [])
    if present:
        raise InvalidParameter(f"The sandbox does not emulate {', '.join(present)}")


class Backend(Resettable):
    def __init__(self, world, region):
        self.world, self.region = world, region
        self.vaults: dict[str, dict] = {}      # vault id -> {id, name, compartmentId, keys: [key ids]}
        self.secrets: dict[str, Secret] = {}

    # -- seeding and test helpers ---------------------------------------------------------------------

    def add_vault(self, compartment_id: str, name: str) -> tuple[str, str]:
        """A KMS vault with one master key, as secrets need: returns (vault_id, key_id)."""
        with self.world.lock:
            self.world.check_compartment(compartment_id)
            vault_id, key_id = ocid("vault", self.region), ocid("key", self.region)
            self.vaults[vault_id] = {"id": vault_id, "name": name, "compartmentId": compartment_id,
                                     "keys": [key_id]}
            return vault_id, key_id

    def secret_content(self, name: str, stage: str = "CURRENT", vault_id: str | None = None) -> bytes:
        """Decoded content of the live secret `name` at `stage` (KeyError if there is none)."""
        with self.world.lock:
            for secret in self.secrets.values():
                if secret.name == name and secret.state() != "DELETED" and vault_id in (None, secret.vault_id):
                    version = secret.holder(stage)
                    if version:
                        return base64.b64decode(version.content)
            raise KeyError(f"no secret {name!r} with a {stage} version")

    def snapshot(self) -> dict:
        """Secrets and their versions without content: state can be shown without leaking secrets."""
        with self.world.lock:
            return {
                "vaults": [dict(v) for v in self.vaults.values()],
                "secrets": [{"id": s.id, "name": s.name, "vaultId": s.vault_id,
                             "compartmentId": s.compartment_id, "lifecycleState": s.state(),
                             "versions": [{"versionNumber": v.number, "name": v.name,
                                           "stages": v.ordered_stages(), "size": v.size,
                                           "timeCreated": v.time_created.isoformat(),
                                           "timeOfDeletion": v.time_of_deletion and v.time_of_deletion.isoformat()}
                                          for v in s.versions]}
                            for s in self.secrets.values()],
            }

    # -- management ----------------------------------------------------------------------------------

    @property
    def _delay(self) -> float:
        return float(self.world.options.get("secret_activation_delay", 0))

    def secret(self, secret_id: str) -> Secret:
        secret = self.secrets.get(secret_id)
        if secret is None:
            raise NotAuthorizedOrNotFound(f"Authorization failed or requested resource not found: "
                                          f"secret {secret_id!r}")
        return secret

    def _mutable(self, secret_id: str, if_match: str | None) -> Secret:
        """A secret that may be changed now: etag matches and it is ACTIVE (OCI answers 409 otherwise)."""
        secret = self.secret(secret_id)
        if if_match and if_match != secret.etag:
            raise PreconditionFailed(f"The If-Match etag {if_match!r} does not match the secret's current etag")
        state = secret.state()
        if state != "ACTIVE":
            raise IncorrectState(f"Secret {secret_id} is in lifecycle state {state}; it must be ACTIVE")
        return secret

    def create_secret(self, body: dict) -> Secret:
        """Create from a CreateSecretDetails JSON body; version 1 is CURRENT and LATEST."""
        for required in ("compartmentId", "vaultId", "keyId", "secretName"):
            if not body.get(required):
                raise MissingParameter(f"{required} is required")
        _reject_unemulated(body)
        self.world.check_compartment(body["compartmentId"])
        vault = self.vaults.get(body["vaultId"])
        if vault is None:
            raise NotAuthorizedOrNotFound(f"Authorization failed or requested resource not found: "
                                          f"vault {body['vaultId']!r}")
        if body["keyId"] not in vault["keys"]:
            raise NotAuthorizedOrNotFound(f"Authorization failed or requested resource not found: key "
                                          f"{body['keyId']!r} in vault {vault['id']}")
        name = body["secretName"]
        if not NAME_PATTERN.match(name):
            raise InvalidParameter("secretName may contain only letters, numbers, hyphens, underscores and "
                                   "periods")
        if self._named(name, vault["id"]):
            raise Conflict(f"A secret named {name!r} already exists in vault {vault['id']}")
        content, version_name, _ = _content(body.get("secretContent"), creating=True)
        at = now()
        secret = Secret(id=ocid("vaultsecret", self.region), compartment_id=body["compartmentId"],
                        vault_id=vault["id"], key_id=body["keyId"], name=name, time_created=at,
                        description=body.get("description"), freeform_tags=body.get("freeformTags") or {},
                        defined_tags=body.get("definedTags") or {}, metadata=body.get("metadata"))
        secret.versions.append(Version(1, content, version_name, {"CURRENT", "LATEST"}, at))
        secret.touch("CREATING", self._delay)
        self.secrets[secret.id] = secret
        return secret

    def _named(self, name: str, vault_id: str) -> Secret | None:
        """The secret holding `name` in a vault: names stay taken until the secret is DELETED."""
        return next((s for s in self.secrets.values()
                     if s.name == name and s.vault_id == vault_id and s.state() != "DELETED"), None)

    def update_secret(self, secret_id: str, body: dict, if_match: str | None = None) -> Secret:
        """Apply an UpdateSecretDetails body: new content is a new version; metadata alone is not."""
        secret = self._mutable(secret_id, if_match)
        _reject_unemulated(body)
        promote = body.get("currentVersionNumber")
        if promote is not None and body.get("secretContent"):
            raise InvalidParameter("currentVersionNumber and secretContent cannot be updated together")
        if body.get("secretContent"):
            content, version_name, stage = _content(body["secretContent"], creating=False)
            if version_name and any(v.name == version_name for v in secret.versions):
                raise Conflict(f"Secret version name {version_name!r} is already used by this secret")
            secret.check_room(None)
            version = Version(secret.versions[-1].number + 1, content, version_name, set(), now())
            secret.versions.append(version)
            secret.give_stage(version, "LATEST")
            if stage == "PENDING":
                secret.give_stage(version, "PENDING")
            else:
                secret.make_current(version)
        elif promote is not None:
            version = next((v for v in secret.live() if v.number == promote), None)
            if version is None:
                raise InvalidParameter(f"Secret {secret_id} has no version {promote}")
            if version.time_of_deletion:
                raise Conflict(f"Secret version {promote} is pending deletion; cancel its deletion first")
            secret.make_current(version)
        for key, attr in (("description", "description"), ("freeformTags", "freeform_tags"),
                          ("definedTags", "defined_tags"), ("metadata", "metadata")):
            if key in body:
                setattr(secret, attr, body[key])
        secret.touch("UPDATING", self._delay)
        return secret

    def schedule_deletion(self, secret_id: str, body: dict, if_match: str | None = None) -> None:
        """PENDING_DELETION until `timeOfDeletion` (1 to 30 days ahead, default 30), then DELETED."""
        secret = self._mutable(secret_id, if_match)
        secret.time_of_deletion = _deletion_time(body)
        secret.etag = uuid.uuid4().hex

    def cancel_deletion(self, secret_id: str, if_match: str | None = None) -> None:
        secret = self.secret(secret_id)
        if if_match and if_match != secret.etag:
            raise PreconditionFailed(f"The If-Match etag {if_match!r} does not match the secret's current etag")
        if secret.state() != "PENDING_DELETION":
            raise IncorrectState(f"Secret {secret_id} is {secret.state()}, not PENDING_DELETION")
        secret.time_of_deletion = None
        secret.etag = uuid.uuid4().hex

    def schedule_version_deletion(self, secret_id: str, number: int, body: dict,
                                  if_match: str | None = None) -> None:
        """Only a DEPRECATED version may go; it becomes unreadable at once and is DELETED at `timeOfDeletion`."""
        secret = self._mutable(secret_id, if_match)
        version = secret.version(number)
        if version.time_of_deletion:
            raise Conflict(f"Secret version {number} of secret {secret_id} is already pending deletion")
        if version.stages != {"DEPRECATED"}:
            stages = "/".join(version.ordered_stages())
            raise Conflict(f"Secret version {number} of secret {secret_id} is {stages}; only a DEPRECATED "
                           f"secret version can be scheduled for deletion")
        deletion = _deletion_time(body)
        secret.check_room("PENDING_DELETION")
        version.time_of_deletion = deletion
        secret.etag = uuid.uuid4().hex

    def cancel_version_deletion(self, secret_id: str, number: int, if_match: str | None = None) -> None:
        secret = self._mutable(secret_id, if_match)
        version = secret.version(number)
        if not version.time_of_deletion:
            raise Conflict(f"Secret version {number} of secret {secret_id} is not pending deletion")
        secret.check_room(None)
        version.time_of_deletion = None
        secret.etag = uuid.uuid4().hex

    def list_secrets(self, compartment_id: str, name: str | None, vault_id: str | None,
                     state: str | None) -> list[Secret]:
        self.world.check_compartment(compartment_id)
        return [s for s in self.secrets.values()
                if s.compartment_id == compartment_id and name in (None, s.name)
                and vault_id in (None, s.vault_id) and (state is None or s.state() == state.upper())]

    # -- retrieval -----------------------------------------------------------------------------------

    def readable(self, secret: Secret) -> Secret:
        """Retrieval of a secret pending deletion fails: OCI makes it inaccessible at once (404 here)."""
        if secret.state() in ("PENDING_DELETION", "DELETED"):
            raise NotAuthorizedOrNotFound(f"Secret {secret.id} is {secret.state()} and cannot be read")
        return secret

    def by_name(self, name: str, vault_id: str) -> Secret:
        secret = self._named(name, vault_id)
        if secret is None:
            raise NotAuthorizedOrNotFound(f"Authorization failed or requested resource not found: secret "
                                          f"{name!r} in vault {vault_id!r}")
        return self.readable(secret)

    @staticmethod
    def pick_version(secret: Secret, number: int | None, name: str | None, stage: str | None) -> Version:
        """The readable version matching every selector given; CURRENT when none is. Versions pending
        deletion match nothing: OCI makes them inaccessible as soon as their deletion is scheduled."""
        if stage is not None and stage not in STAGES:
            raise InvalidParameter(f"stage must be one of {list(STAGES)}")
        if number is None and name is None and stage is None:
            stage = "CURRENT"
        matches = [v for v in secret.versions if v.deletion_state() is None and number in (None, v.number)
                   and name in (None, v.name) and (stage is None or stage in v.stages)]
        if not matches:
            raise NotAuthorizedOrNotFound(f"Secret {secret.id} has no version matching versionNumber={number} "
                                          f"secretVersionName={name} stage={stage}")
        return matches[-1]


# -- handlers -----------------------------------------------------------------------------------------

def _backend(req: Request) -> Backend:
    return req.backend(sys.modules[__name__])


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
    return _secret_reply(_backend(req).create_secret(req.json()))


def get_secret(req: Request) -> Reply:
    return _secret_reply(_backend(req).secret(req.params["secretId"]))


def update_secret(req: Request) -> Reply:
    b = _backend(req)
    return _secret_reply(b.update_secret(req.params["secretId"], req.json(), req.headers.get("if-match")))


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
    _backend(req).schedule_deletion(req.params["secretId"], req.json(), req.headers.get("if-match"))
    return Reply(200)


def cancel_secret_deletion(req: Request) -> Reply:
    _backend(req).cancel_deletion(req.params["secretId"], req.headers.get("if-match"))
    return Reply(200)


def schedule_secret_version_deletion(req: Request) -> Reply:
    _backend(req).schedule_version_deletion(req.params["secretId"], _version_number(req), req.json(),
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


_VAULT, _SECRETS = "/20180608/secrets", "/20190301/secretbundles"
ROUTES = [
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
