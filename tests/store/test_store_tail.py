"""The outbox tailer on PostgreSQL: an event whose id was taken before a newer event's, but
committed after that newer event was read, is still delivered."""

from __future__ import annotations

from fraisier.store import open_store
from fraisier.store.tail import OutboxTail


def test_an_event_committed_out_of_id_order_is_not_skipped(postgres_url):
    reader = open_store(postgres_url)
    slow = open_store(postgres_url)
    fast = open_store(postgres_url)
    try:
        tail = OutboxTail(reader, after=reader.events.last_id())
        with slow.db.transaction():
            held = slow.events.emit("test.slow")  # id taken, not yet visible
            later = fast.events.emit("test.fast")  # its own transaction: visible now
            assert later > held
            assert [e["id"] for e in tail.poll()] == [later]
        assert [e["id"] for e in tail.poll()] == [held]
        assert tail.poll() == []  # delivered once each
    finally:
        for store in (reader, slow, fast):
            store.close()


def test_sqlite_ids_are_exact(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    try:
        first = store.events.emit("test.one")
        tail = OutboxTail(store, after=first)
        second = store.events.emit("test.two")
        assert [e["id"] for e in tail.poll()] == [second]
        assert tail.poll() == [] and tail.floor == second
    finally:
        store.close()
