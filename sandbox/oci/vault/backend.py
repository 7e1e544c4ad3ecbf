"""OCI Vault of one region: vaults, keys and secrets, with OCI's version limits and stage rules."""
from __future__ import annotations

import base64
import uuid


from ..errors import (Conflict, IncorrectState, InvalidParameter, MissingParameter, NotAuthorizedOrNotFound, PreconditionFailed)
from ..http import now
from ..world import Resettable, ocid
from .models import NAME_PATTERN, STAGES, _content, _deletion_time, _reject_unemulated, Secret, Version


class Backend(Resettable):
    def __init__(self, world, region):
        self.world, self.region = world, region
        self.vaults: dict[str, dict] = {}      # vault id -> {id, name, compartmentId, keys: [key ids]}
        self.key_states: dict[str, str] = {}   # key id -> ENABLED, DISABLED, ...
        self.secrets: dict[str, Secret] = {}

    # -- seeding and test helpers ---------------------------------------------------------------------

    def add_vault(self, compartment_id: str, name: str) -> tuple[str, str]:
        """A KMS vault with one master key, as secrets need: returns (vault_id, key_id)."""
        with self.world.lock:
            self.world.check_compartment(compartment_id)
            vault_id, key_id = ocid("vault", self.region), ocid("key", self.region)
            self.vaults[vault_id] = {"id": vault_id, "name": name, "compartmentId": compartment_id,
                                     "keys": [key_id]}
            self.key_states[key_id] = "ENABLED"
            return vault_id, key_id

    def set_key_state(self, key_id: str, state: str) -> None:
        """A master key disabled (or enabled again) by hand, as in the console."""
        with self.world.lock:
            self.key_states[key_id] = state

    def kms_vault(self, vault_id: str) -> dict:
        vault = self.vaults.get(vault_id)
        if vault is None:
            raise NotAuthorizedOrNotFound(f"Authorization failed or requested resource not found: vault {vault_id!r}")
        return vault

    def kms_key(self, key_id: str) -> tuple[dict, str]:
        """(its vault, its state)."""
        vault = next((v for v in self.vaults.values() if key_id in v["keys"]), None)
        if vault is None:
            raise NotAuthorizedOrNotFound(f"Authorization failed or requested resource not found: key {key_id!r}")
        return vault, self.key_states[key_id]

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
