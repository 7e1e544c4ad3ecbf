"""OCI Vault state: secrets, their versions, rotation stages and deletion windows, and the limits on content."""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from dataclasses import dataclass, field

import oci.vault.models as management

from ..errors import InvalidParameter, NotAuthorizedOrNotFound, OciError
from ..http import now


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
