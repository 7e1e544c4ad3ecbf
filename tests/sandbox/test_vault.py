"""OCI Vault secrets and Secret Retrieval through the real SDK and the OCI CLI against the emulator."""
import base64
import datetime as dt
import json
import os
import time
import uuid

import oci
import pytest
import requests
from oci.vault.models import (Base64SecretContentDetails, CreateSecretDetails, ScheduleSecretDeletionDetails,
                              ScheduleSecretVersionDeletionDetails, UpdateSecretDetails)

from _fixtures import sdk_client, service_backend
from _oci_cli import oci_cli
from sandbox.oci import vault as vault_module

NO_RETRY = oci.retry.NoneRetryStrategy()


vaults = sdk_client(oci.vault.VaultsClient)
bundles = sdk_client(oci.secrets.SecretsClient)
backend = service_backend(vault_module)


@pytest.fixture
def vault(sandbox, backend):
    """A fresh vault per test, so secret names never collide between tests: (compartment, vault, key)."""
    compartment = sandbox.world.tenancy_id
    vault_id, key_id = backend.add_vault(compartment, f"test-{uuid.uuid4().hex[:8]}")
    return compartment, vault_id, key_id


@pytest.fixture
def activation_delay(sandbox):
    """Make new and updated secrets CREATING/UPDATING for a moment; restores the option afterwards."""
    options = sandbox.world.options
    saved = options.get("secret_activation_delay")
    options["secret_activation_delay"] = 0.6
    yield 0.6
    if saved is None:
        options.pop("secret_activation_delay")
    else:
        options["secret_activation_delay"] = saved


def content(data: bytes | str, **kwargs) -> Base64SecretContentDetails:
    raw = data.encode() if isinstance(data, str) else data
    return Base64SecretContentDetails(content_type="BASE64", content=base64.b64encode(raw).decode(), **kwargs)


def create(vaults, vault, name="cert", data="v1", retry_strategy=None, **details):
    compartment, vault_id, key_id = vault
    return vaults.create_secret(CreateSecretDetails(
        compartment_id=compartment, vault_id=vault_id, key_id=key_id, secret_name=name,
        secret_content=content(data), **details), retry_strategy=retry_strategy)


def read(bundles, secret_id, **kwargs) -> bytes:
    bundle = bundles.get_secret_bundle(secret_id, **kwargs).data
    assert bundle.secret_bundle_content.content_type == "BASE64"
    return base64.b64decode(bundle.secret_bundle_content.content)


def stages(vaults, secret_id) -> dict[int, list[str]]:
    versions = oci.pagination.list_call_get_all_results(vaults.list_secret_versions, secret_id).data
    return {v.version_number: v.stages for v in versions}


def status_of(call, *args, **kwargs) -> tuple[int, str]:
    with pytest.raises(oci.exceptions.ServiceError) as err:
        call(*args, retry_strategy=NO_RETRY, **kwargs)
    return err.value.status, err.value.code


def test_create_returns_active_secret_with_first_version_current_and_latest(vaults, bundles, vault):
    created = create(vaults, vault, description="tls cert", freeform_tags={"app": "certmgr"},
                     metadata={"domains": "example.com"})
    secret = created.data
    assert secret.id.startswith("ocid1.vaultsecret.")
    assert (secret.lifecycle_state, secret.current_version_number) == ("ACTIVE", 1)
    assert (secret.secret_name, secret.vault_id, secret.key_id) == ("cert", vault[1], vault[2])
    assert (secret.description, secret.freeform_tags, secret.metadata) == (
        "tls cert", {"app": "certmgr"}, {"domains": "example.com"})
    fetched = vaults.get_secret(secret.id)
    assert fetched.headers["etag"] == created.headers["etag"]
    assert fetched.data.time_created == secret.time_created
    assert stages(vaults, secret.id) == {1: ["CURRENT", "LATEST"]}
    bundle = bundles.get_secret_bundle(secret.id).data
    assert (bundle.version_number, bundle.stages, bundle.metadata) == (1, ["CURRENT", "LATEST"],
                                                                       {"domains": "example.com"})
    assert read(bundles, secret.id) == read(bundles, secret.id, stage="LATEST") == b"v1"


def test_new_content_becomes_current_and_old_current_becomes_previous(vaults, bundles, vault):
    secret_id = create(vaults, vault).data.id
    updated = vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("v2"))).data
    assert updated.current_version_number == 2
    assert stages(vaults, secret_id) == {1: ["PREVIOUS"], 2: ["CURRENT", "LATEST"]}
    vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("v3", name="third")))
    assert stages(vaults, secret_id) == {1: ["DEPRECATED"], 2: ["PREVIOUS"], 3: ["CURRENT", "LATEST"]}
    assert read(bundles, secret_id) == b"v3"
    assert read(bundles, secret_id, stage="PREVIOUS") == b"v2"
    assert read(bundles, secret_id, stage="DEPRECATED") == b"v1"
    assert read(bundles, secret_id, version_number=1) == b"v1"
    assert read(bundles, secret_id, secret_version_name="third") == b"v3"
    assert bundles.get_secret_bundle(secret_id, secret_version_name="third").data.version_name == "third"


def test_pending_content_leaves_current_alone_until_promoted(vaults, bundles, vault):
    secret_id = create(vaults, vault).data.id
    vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("v2", stage="PENDING")))
    assert stages(vaults, secret_id) == {1: ["CURRENT"], 2: ["PENDING", "LATEST"]}
    assert vaults.get_secret(secret_id).data.current_version_number == 1
    assert read(bundles, secret_id) == b"v1"
    assert read(bundles, secret_id, stage="PENDING") == read(bundles, secret_id, stage="LATEST") == b"v2"
    promoted = vaults.update_secret(secret_id, UpdateSecretDetails(current_version_number=2)).data
    assert promoted.current_version_number == 2
    assert stages(vaults, secret_id) == {1: ["PREVIOUS"], 2: ["CURRENT", "LATEST"]}
    assert read(bundles, secret_id) == b"v2"


def test_a_newer_pending_version_deprecates_the_older_one(vaults, vault):
    secret_id = create(vaults, vault).data.id
    for data in ("p1", "p2"):
        vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content(data, stage="PENDING")))
    assert stages(vaults, secret_id) == {1: ["CURRENT"], 2: ["DEPRECATED"], 3: ["PENDING", "LATEST"]}


def test_metadata_only_update_creates_no_version_but_changes_etag(vaults, vault):
    created = create(vaults, vault)
    updated = vaults.update_secret(created.data.id, UpdateSecretDetails(description="renewed",
                                                                        freeform_tags={"k": "v"}))
    assert (updated.data.description, updated.data.freeform_tags) == ("renewed", {"k": "v"})
    assert updated.data.current_version_number == 1
    assert stages(vaults, created.data.id) == {1: ["CURRENT", "LATEST"]}
    assert updated.headers["etag"] != created.headers["etag"]


def test_if_match_guards_updates(vaults, vault):
    created = create(vaults, vault)
    secret_id, etag = created.data.id, created.headers["etag"]
    moved = vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("v2")), if_match=etag)
    assert status_of(vaults.update_secret, secret_id, UpdateSecretDetails(secret_content=content("v3")),
                     if_match=etag) == (412, "NoEtagMatch")
    vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("v3")),
                         if_match=moved.headers["etag"])
    assert vaults.get_secret(secret_id).data.current_version_number == 3


def test_secret_names_are_unique_per_vault(vaults, backend, vault):
    create(vaults, vault, name="dup")
    assert status_of(create, vaults, vault, name="dup") == (409, "Conflict")
    other_vault = (vault[0], *backend.add_vault(vault[0], "other"))
    assert create(vaults, other_vault, name="dup").data.vault_id == other_vault[1]


def test_invalid_requests_are_400(vaults, vault):
    compartment, vault_id, key_id = vault
    bad_base64 = Base64SecretContentDetails(content_type="BASE64", content="not base64!")
    assert status_of(vaults.create_secret, CreateSecretDetails(
        compartment_id=compartment, vault_id=vault_id, key_id=key_id, secret_name="bad",
        secret_content=bad_base64))[0] == 400
    assert status_of(create, vaults, vault, name="spaces are invalid")[0] == 400
    for first_content in (None, content("x", stage="PENDING")):
        assert status_of(vaults.create_secret, CreateSecretDetails(
            compartment_id=compartment, vault_id=vault_id, key_id=key_id, secret_name="first",
            secret_content=first_content))[0] == 400
    secret_id = create(vaults, vault).data.id
    assert status_of(vaults.update_secret, secret_id, UpdateSecretDetails(
        current_version_number=1, secret_content=content("x")))[0] == 400
    assert status_of(vaults.update_secret, secret_id, UpdateSecretDetails(current_version_number=9))[0] == 400


def test_content_over_25_kb_is_rejected(vaults, vault):
    limit = 25 * 1024
    assert create(vaults, vault, name="at-limit", data=os.urandom(limit * 3 // 4)).data.lifecycle_state == "ACTIVE"
    assert status_of(create, vaults, vault, name="too-big", data=os.urandom(limit * 3 // 4 + 3)) == (
        400, "InvalidParameter")


def test_unknown_resources_are_404(vaults, bundles, sandbox, vault):
    compartment, vault_id, key_id = vault
    missing = "ocid1.vaultsecret.oc1.us-ashburn-1.aaaaaaaamissing"
    for call, args in ((vaults.get_secret, (missing,)), (vaults.list_secret_versions, (missing,)),
                       (vaults.get_secret_version, (missing, 1)), (bundles.get_secret_bundle, (missing,)),
                       (bundles.get_secret_bundle_by_name, ("nope", vault_id))):
        assert status_of(call, *args) == (404, "NotAuthorizedOrNotFound")
    for overrides in ({"vault_id": "ocid1.vault.oc1..unknown"}, {"key_id": "ocid1.key.oc1..unknown"},
                      {"compartment_id": "ocid1.compartment.oc1..unknown"}):
        details = CreateSecretDetails(compartment_id=compartment, vault_id=vault_id, key_id=key_id,
                                      secret_name="x", secret_content=content("x"))
        for attr, value in overrides.items():
            setattr(details, attr, value)
        assert status_of(vaults.create_secret, details)[0] == 404
    secret_id = create(vaults, vault).data.id
    assert status_of(vaults.get_secret_version, secret_id, 7)[0] == 404
    assert status_of(bundles.get_secret_bundle, secret_id, stage="PENDING")[0] == 404


def test_get_secret_version(vaults, vault):
    secret_id = create(vaults, vault).data.id
    vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("v2", name="second")))
    version = vaults.get_secret_version(secret_id, 2).data
    assert (version.version_number, version.name, version.stages, version.content_type) == (
        2, "second", ["CURRENT", "LATEST"], "BASE64")
    assert vaults.get_secret_version(secret_id, 1).data.stages == ["PREVIOUS"]


def test_list_secrets_filters_sorts_and_pages(vaults, vault, sandbox, backend):
    compartment = vault[0]
    names = [f"list-{i}" for i in range(5)]
    ids = [create(vaults, vault, name=name).data.id for name in names]
    other = (compartment, *backend.add_vault(compartment, "list-other"))
    create(vaults, other, name="list-0")

    listed = oci.pagination.list_call_get_all_results(vaults.list_secrets, compartment, vault_id=vault[1],
                                                      limit=2).data
    assert [s.id for s in listed] == ids[::-1]                      # TIMECREATED defaults to newest first
    by_name = oci.pagination.list_call_get_all_results(vaults.list_secrets, compartment, vault_id=vault[1],
                                                       sort_by="NAME", limit=2).data
    assert [s.secret_name for s in by_name] == names
    desc = vaults.list_secrets(compartment, vault_id=vault[1], sort_by="NAME", sort_order="DESC").data
    assert [s.secret_name for s in desc] == names[::-1]
    first_page = vaults.list_secrets(compartment, vault_id=vault[1], limit=2)
    assert len(first_page.data) == 2 and first_page.has_next_page
    named = vaults.list_secrets(compartment, name="list-0").data
    assert {s.vault_id for s in named} >= {vault[1], other[1]}
    active = vaults.list_secrets(compartment, vault_id=vault[1], lifecycle_state="ACTIVE").data
    assert len(active) == 5
    assert vaults.list_secrets(compartment, vault_id=vault[1], lifecycle_state="PENDING_DELETION").data == []
    assert listed[0].lifecycle_state == "ACTIVE" and listed[0].key_id == vault[2]


def test_list_secret_versions_pages(vaults, bundles, vault):
    secret_id = create(vaults, vault).data.id
    for i in range(2, 6):
        vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content(f"v{i}")))
    versions = oci.pagination.list_call_get_all_results(vaults.list_secret_versions, secret_id, limit=2).data
    assert [v.version_number for v in versions] == [5, 4, 3, 2, 1]
    ascending = vaults.list_secret_versions(secret_id, sort_by="VERSION_NUMBER", sort_order="ASC").data
    assert [v.version_number for v in ascending] == [1, 2, 3, 4, 5]
    assert all(v.secret_id == secret_id and v.content_type == "BASE64" for v in versions)
    bundle_versions = oci.pagination.list_call_get_all_results(bundles.list_secret_bundle_versions, secret_id,
                                                               limit=3).data
    assert {v.version_number: v.stages for v in bundle_versions}[4] == ["PREVIOUS"]


def test_bundle_by_name(vaults, bundles, vault):
    secret_id = create(vaults, vault, name="by-name").data.id
    vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("v2", stage="PENDING")))
    current = bundles.get_secret_bundle_by_name("by-name", vault[1]).data
    assert (current.secret_id, current.version_number) == (secret_id, 1)
    assert base64.b64decode(current.secret_bundle_content.content) == b"v1"
    pending = bundles.get_secret_bundle_by_name("by-name", vault[1], stage="PENDING").data
    assert base64.b64decode(pending.secret_bundle_content.content) == b"v2"
    assert bundles.get_secret_bundle_by_name("by-name", vault[1], version_number=2).data.stages == [
        "PENDING", "LATEST"]


def test_scheduled_deletion_makes_the_secret_unreadable_until_cancelled(vaults, bundles, vault):
    secret_id = create(vaults, vault, name="doomed").data.id
    too_soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    assert status_of(vaults.schedule_secret_deletion, secret_id,
                     ScheduleSecretDeletionDetails(time_of_deletion=too_soon))[0] == 400
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)
    vaults.schedule_secret_deletion(secret_id, ScheduleSecretDeletionDetails(time_of_deletion=when))
    secret = vaults.get_secret(secret_id).data
    assert secret.lifecycle_state == "PENDING_DELETION"
    assert abs(secret.time_of_deletion - when) < dt.timedelta(seconds=1)
    assert status_of(bundles.get_secret_bundle, secret_id) == (404, "NotAuthorizedOrNotFound")
    assert status_of(bundles.get_secret_bundle_by_name, "doomed", vault[1])[0] == 404
    assert status_of(vaults.update_secret, secret_id, UpdateSecretDetails(secret_content=content("v2"))) == (
        409, "IncorrectState")
    assert status_of(create, vaults, vault, name="doomed") == (409, "Conflict")
    vaults.cancel_secret_deletion(secret_id)
    assert vaults.get_secret(secret_id).data.lifecycle_state == "ACTIVE"
    assert read(bundles, secret_id) == b"v1"


def in_a_day() -> dt.datetime:
    """The earliest time of deletion OCI accepts, with a margin for the request's travel."""
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1, minutes=5)


def schedule_version_deletion(vaults, secret_id, number, when=None, retry_strategy=NO_RETRY):
    return vaults.schedule_secret_version_deletion(
        secret_id, number, ScheduleSecretVersionDeletionDetails(time_of_deletion=when or in_a_day()),
        retry_strategy=retry_strategy)


def update_times(vaults, secret_id, count):
    for i in range(count):
        vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content(f"u{i}")),
                             retry_strategy=NO_RETRY)


def test_only_a_deprecated_version_can_be_scheduled_for_deletion(vaults, bundles, vault):
    secret_id = create(vaults, vault).data.id
    vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("v2", name="two")))
    vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("v3")))
    assert stages(vaults, secret_id) == {1: ["DEPRECATED"], 2: ["PREVIOUS"], 3: ["CURRENT", "LATEST"]}
    for number in (2, 3):
        assert status_of(schedule_version_deletion, vaults, secret_id, number) == (409, "Conflict")
    too_soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    assert status_of(schedule_version_deletion, vaults, secret_id, 1, too_soon) == (400, "InvalidParameter")
    assert status_of(schedule_version_deletion, vaults, secret_id, 9) == (404, "NotAuthorizedOrNotFound")
    vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("v4")))  # 2 is DEPRECATED now
    when = in_a_day()
    schedule_version_deletion(vaults, secret_id, 2, when)

    version = vaults.get_secret_version(secret_id, 2).data
    assert version.stages == ["DEPRECATED"]
    assert abs(version.time_of_deletion - when) < dt.timedelta(seconds=1)
    listed = {v.version_number: v.time_of_deletion for v in vaults.list_secret_versions(secret_id).data}
    assert listed[2] == version.time_of_deletion and listed[1] is None
    bundle_versions = bundles.list_secret_bundle_versions(secret_id).data
    assert {v.version_number: v.time_of_deletion for v in bundle_versions}[2] == version.time_of_deletion
    for selector in ({"version_number": 2}, {"secret_version_name": "two"}):
        assert status_of(bundles.get_secret_bundle, secret_id, **selector) == (404, "NotAuthorizedOrNotFound")
    assert read(bundles, secret_id, version_number=1) == b"v1"  # still DEPRECATED, not scheduled: readable
    assert status_of(schedule_version_deletion, vaults, secret_id, 2) == (409, "Conflict")
    assert status_of(vaults.update_secret, secret_id, UpdateSecretDetails(current_version_number=2)) == (
        409, "Conflict")

    vaults.cancel_secret_version_deletion(secret_id, 2)
    assert vaults.get_secret_version(secret_id, 2).data.time_of_deletion is None
    assert read(bundles, secret_id, secret_version_name="two") == b"v2"
    assert status_of(vaults.cancel_secret_version_deletion, secret_id, 2) == (409, "Conflict")


def test_the_31st_version_in_active_use_is_refused_until_one_is_scheduled_for_deletion(vaults, vault):
    secret_id = create(vaults, vault).data.id
    update_times(vaults, secret_id, 29)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        update_times(vaults, secret_id, 1)
    assert (refused.value.status, refused.value.code) == (400, "LimitExceeded")
    assert "30 secret versions in active use" in refused.value.message
    assert "schedule the deletion of DEPRECATED versions" in refused.value.message
    assert len(stages(vaults, secret_id)) == 30
    schedule_version_deletion(vaults, secret_id, 1)
    update_times(vaults, secret_id, 1)  # a version pending deletion is no longer in active use
    assert vaults.get_secret(secret_id).data.current_version_number == 31
    assert status_of(vaults.cancel_secret_version_deletion, secret_id, 1) == (400, "LimitExceeded")


def test_at_most_30_versions_pending_deletion_until_they_are_deleted(vaults, backend, vault):
    secret_id = create(vaults, vault).data.id
    for number in range(1, 31):
        update_times(vaults, secret_id, 1)  # deprecates `number` once two newer versions exist
        if number > 1:
            schedule_version_deletion(vaults, secret_id, number - 1)
    update_times(vaults, secret_id, 1)
    schedule_version_deletion(vaults, secret_id, 30)
    update_times(vaults, secret_id, 1)
    refused = status_of(schedule_version_deletion, vaults, secret_id, 31)
    assert refused == (400, "LimitExceeded")

    backend.secrets[secret_id].versions[0].time_of_deletion = dt.datetime.now(dt.timezone.utc)  # its day came
    assert status_of(vaults.get_secret_version, secret_id, 1) == (404, "NotAuthorizedOrNotFound")
    assert 1 not in stages(vaults, secret_id)
    schedule_version_deletion(vaults, secret_id, 31)
    assert vaults.get_secret_version(secret_id, 31).data.time_of_deletion is not None


def test_activation_delay_answers_409_while_creating_and_updating(vaults, vault, activation_delay):
    secret_id = create(vaults, vault).data.id
    assert vaults.get_secret(secret_id).data.lifecycle_state == "CREATING"
    assert status_of(vaults.update_secret, secret_id, UpdateSecretDetails(description="x")) == (
        409, "IncorrectState")
    oci.wait_until(vaults, vaults.get_secret(secret_id), "lifecycle_state", "ACTIVE", max_interval_seconds=1,
                   max_wait_seconds=10)
    updated = vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("v2"))).data
    assert updated.lifecycle_state == "UPDATING"
    assert status_of(vaults.update_secret, secret_id, UpdateSecretDetails(description="x"))[0] == 409
    time.sleep(activation_delay)
    assert vaults.get_secret(secret_id).data.lifecycle_state == "ACTIVE"


def test_default_retry_strategy_rides_out_the_activation_delay(vaults, vault, activation_delay):
    """The SDK retries 409 IncorrectState by default, so a caller that ignores the delay still succeeds."""
    secret_id = create(vaults, vault).data.id
    updated = vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("v2")),
                                   retry_strategy=oci.retry.DEFAULT_RETRY_STRATEGY)
    assert updated.data.current_version_number == 2


def test_snapshot_shows_versions_without_content(sandbox, vaults, backend, vault):
    secret_id = create(vaults, vault, name="snap", data="top-secret-value").data.id
    vaults.update_secret(secret_id, UpdateSecretDetails(secret_content=content("next-secret", stage="PENDING")))
    state = requests.get(f"{sandbox.endpoint}/_control/state").json()
    secret = next(s for s in state["regions"]["us-ashburn-1"]["vault"]["secrets"] if s["id"] == secret_id)
    assert [(v["versionNumber"], v["stages"], v["size"]) for v in secret["versions"]] == [
        (1, ["CURRENT"], 16), (2, ["PENDING", "LATEST"], 11)]
    dumped = json.dumps(state)
    assert "top-secret-value" not in dumped and base64.b64encode(b"top-secret-value").decode() not in dumped
    assert backend.secret_content("snap", vault_id=vault[1]) == b"top-secret-value"
    assert backend.secret_content("snap", "PENDING", vault_id=vault[1]) == b"next-secret"


def test_operation_names_reach_the_call_log(sandbox, vaults, bundles, vault):
    secret_id = create(vaults, vault).data.id
    bundles.get_secret_bundle(secret_id)
    calls = requests.get(f"{sandbox.endpoint}/_control/calls",
                         params={"operation": "secrets.get_secret_bundle"}).json()
    assert calls and calls[-1]["status"] == 200


def test_regions_hold_separate_secrets(sandbox, vaults):
    frankfurt = sandbox.world.backend(vault_module, "eu-frankfurt-1")
    compartment = sandbox.world.tenancy_id
    vault_id, key_id = frankfurt.add_vault(compartment, "fra")
    fra_vaults = sandbox.client(oci.vault.VaultsClient, "eu-frankfurt-1")
    secret_id = fra_vaults.create_secret(CreateSecretDetails(
        compartment_id=compartment, vault_id=vault_id, key_id=key_id, secret_name="fra",
        secret_content=content("x"))).data.id
    assert fra_vaults.get_secret(secret_id).data.id == secret_id
    assert status_of(vaults.get_secret, secret_id)[0] == 404


def test_oci_cli_creates_and_reads_a_secret(sandbox, vault):
    compartment, vault_id, key_id = vault
    created = oci_cli(sandbox, "vault", "secret", "create-base64", "--compartment-id", compartment,
                      "--vault-id", vault_id, "--key-id", key_id, "--secret-name", "cli-secret",
                      "--secret-content-content", base64.b64encode(b"from the cli").decode())
    assert created["data"]["lifecycle-state"] == "ACTIVE"
    assert created["etag"]
    bundle = oci_cli(sandbox, "secrets", "secret-bundle", "get", "--secret-id", created["data"]["id"])
    assert base64.b64decode(bundle["data"]["secret-bundle-content"]["content"]) == b"from the cli"
    assert bundle["data"]["stages"] == ["CURRENT", "LATEST"]
    by_name = oci_cli(sandbox, "secrets", "secret-bundle", "get-secret-bundle-by-name",
                      "--secret-name", "cli-secret", "--vault-id", vault_id)
    assert by_name["data"]["secret-id"] == created["data"]["id"]


def test_oci_cli_schedules_a_secret_version_deletion(sandbox, vaults, vault):
    secret_id = create(vaults, vault).data.id
    update_times(vaults, secret_id, 2)
    oci_cli(sandbox, "vault", "secret-version", "schedule-deletion", "--secret-id", secret_id,
            "--secret-version-number", "1", "--time-of-deletion", in_a_day().isoformat())
    version = oci_cli(sandbox, "vault", "secret-version", "get", "--secret-id", secret_id,
                      "--secret-version-number", "1")
    assert version["data"]["stages"] == ["DEPRECATED"] and version["data"]["time-of-deletion"]
