"""A batch writer keeps SQLite's statement journal in memory (Database.write_in_batches).

SQLite names its temporary files `etilqs_*`; while a transaction is open, the statement
journal of a multi-row insert that outgrew 64 KiB is one of them, open in this process."""

import os
import sys
import uuid

import pytest

from fraisier.domain.model import utc_timestamp
from fraisier.store import open_store
from fraisier.store.intake import WebhookRecord

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads the open files from /proc/self/fd")


def _temporary_files_open() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if "etilqs_" in target:
            found.append(target)
    return found


def _pushes(count: int) -> list[WebhookRecord]:
    # Random delivery ids and bodies, as real ones are: each lands on a page of its own of
    # the two indexes that hold them, and those pages are what the journal keeps.
    return [WebhookRecord(received_at=utc_timestamp(), provider="github", event_type="push",
                          outcome="ignored", delivery_id=str(uuid.uuid4()),
                          payload=os.urandom(16).hex().encode() * 64) for _ in range(count)]


def _open_during_a_batch(store) -> list[str]:
    """Record a batch of 20 pushes in one transaction, as the ingest does; the temporary
    files open just before it commits."""
    with store.db.transaction():
        store.webhooks.intake.record(_pushes(20))
        return _temporary_files_open()


def test_a_batch_writer_keeps_its_statement_journal_in_memory(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        for _ in range(40):  # indexes of a few thousand entries, as on any live server
            store.webhooks.intake.record(_pushes(40))
        # A connection as SQLite sets it up spills the journal to a file in every batch...
        assert len(_open_during_a_batch(store)) == 1
        # ... the batch writer's does not.
        store.db.write_in_batches()
        assert _open_during_a_batch(store) == []
        assert store.db.scalar("SELECT COUNT(*) FROM tb_webhook_event") == 1640
    finally:
        store.close()
