"""The run record in the lock secret's metadata: written and read back whole, and, when a hand edit left it
unreadable, ignored with a warning (a fresh record) rather than a run that refuses to start."""
import logging

import pytest

from certmgr.cloud.lock import RunRecord

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
