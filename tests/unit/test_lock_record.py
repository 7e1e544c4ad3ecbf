"""The run record in the lock secret's metadata: written and read back whole, and, when a hand edit left it
unreadable, ignored with a warning (a fresh record) rather than a run that refuses to start; the backoff it
keeps holds only the order that was refused."""
import logging

import pytest

from _renewer_env import ENV
from certmgr.cloud.lock import RunRecord
from certmgr.renewal.observe import _record_state
from certmgr.settings.config import Config

RECORD = RunRecord(txt=(("_acme-challenge.example.com", "v1"), ("_acme-challenge.example.com", "v2")),
                   failures=2, retry_at=1767225600.5, last_error="rateLimited: too many new orders")


def test_a_record_reads_back_as_written():
    metadata = RECORD.to_metadata()
    assert all(isinstance(value, str) for value in metadata.values())  # OCI metadata holds strings
    assert RunRecord.from_metadata(metadata) == RECORD


def test_a_long_error_is_kept_to_its_first_300_characters():
    assert RunRecord.from_metadata(RunRecord(last_error="x" * 1000).to_metadata()).last_error == "x" * 300


@pytest.mark.parametrize("metadata", [None, {}, {"holder": "", "until": "0"}])
def test_no_record_yet_is_a_fresh_one(metadata, caplog):
    with caplog.at_level(logging.WARNING, logger="certmgr"):
        assert RunRecord.from_metadata(metadata) == RunRecord()
    assert caplog.records == []


@pytest.mark.parametrize("edit", [
    {"txt": "[[\"_acme-challenge.example.com\", \"v1\"]"},   # cut short: not JSON
    {"txt": "[1, 2]"},                                        # JSON, but not (name, value) pairs
    {"txt": "[\"ab\"]"},                                        # strings, not pairs
    {"txt": "{\"xy\": 1}"},                                      # an object
    {"txt": "[[\"a\", \"b\", \"c\"]]"},                             # triples
    {"acme_failures": "two"},
    {"acme_failures": "1.5"},
    {"acme_retry_at": "tomorrow"},
], ids=["txt-not-json", "txt-not-pairs", "txt-strings", "txt-object", "txt-triples", "failures-not-a-number", "failures-not-whole", "retry-at-not-a-time"])
def test_an_unreadable_record_is_ignored_whole_with_a_warning(edit, caplog):
    """The whole record goes, not only the field that was damaged: a fresh start."""
    with caplog.at_level(logging.WARNING, logger="certmgr"):
        assert RunRecord.from_metadata({**RECORD.to_metadata(), **edit}) == RunRecord()
    assert [r.getMessage() for r in caplog.records] == [
        "lock: the run record in the lock secret's metadata is unreadable and is ignored"]



# What a record holds back: only the order that was refused, from the CA that refused it ------------------------

FALLBACK = {"CERTMGR_ACME_FALLBACK_DIRECTORY": "https://acme.fallback.example/directory"}


def _config(**env) -> Config:
    return Config.from_env({**ENV, **FALLBACK, **env})


def _held(record: RunRecord, **env) -> tuple[bool, bool]:
    """(orders held, held by the fallback's refusal) for a renewer configured with ENV, FALLBACK and `env`."""
    found = _record_state(record, _config(**env))
    return found["orders_held_until"] is not None, found["held_by_fallback"]


def _refused_by(role: str) -> RunRecord:
    config = _config()
    ca = next(ca for ca in config.cas if ca.role == role)
    return RunRecord(failures=1, retry_at=4102444800.0, last_error="refused", refused_for=config.order_key(ca))


def test_a_primary_refusal_holds_until_what_it_refused_changes():
    record = _refused_by("primary")
    assert _held(record) == (True, False)
    assert _held(record, CERTMGR_ACME_EMAIL="ops@example.org") == (False, False)  # the contact fixed
    assert _held(record, CERTMGR_DOMAIN="example.com") == (False, False)  # the names changed
    assert _held(record, CERTMGR_ACME_PROFILE="tlsserver") == (False, False)
    assert _held(record, CERTMGR_ACME_DIRECTORY="production") == (False, False)  # another CA
    # the fallback's settings are not what the primary refused
    assert _held(record, CERTMGR_ACME_FALLBACK_DIRECTORY="https://other.example/directory") == (True, False)


def test_a_fallback_refusal_holds_as_the_fallbacks_until_its_own_settings_change():
    record = _refused_by("fallback")
    assert _held(record) == (True, True)
    assert _held(record, CERTMGR_ACME_FALLBACK_DIRECTORY="https://other.example/directory") == (False, False)
    assert _held(record, CERTMGR_ACME_FALLBACK_EAB_KID="kid-2",
                 CERTMGR_ACME_FALLBACK_EAB_HMAC_KEY="c2VjcmV0LWhtYWMta2V5") == (False, False)
    assert _held(record, CERTMGR_ACME_EMAIL="ops@example.org") == (False, False)


def test_a_record_from_before_the_key_was_kept_holds_as_it_did():
    assert _held(RunRecord(failures=1, retry_at=4102444800.0, last_error="refused")) == (True, False)
