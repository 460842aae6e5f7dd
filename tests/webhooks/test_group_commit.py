"""Concurrent ingest transactions share commits without sharing failures."""

import threading

import pytest

from fraisier.ingest.group_commit import GroupCommit
from fraisier.store import open_store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/state.db"
    else:
        url = request.getfixturevalue("postgres_url")
    s = open_store(url)
    yield s
    s.close()


def test_every_caller_gets_its_own_result_and_failure(store):
    group = GroupCommit(store.db, max_batch=8)
    results: dict[int, object] = {}
    start = threading.Barrier(24)

    def call(n: int) -> None:
        def work():
            store.db.execute("INSERT INTO tb_worker (name, hostname, pid, started_at,"
                             " heartbeat_at, expires_at) VALUES (?, 'h', 1, 't', 't', 't')",
                             (f"w{n}",))
            if n % 5 == 0:
                raise ValueError(f"item {n} fails alone")
            return n * 10

        start.wait()
        try:
            results[n] = group.run(work)
        except ValueError as exc:
            results[n] = exc

    threads = [threading.Thread(target=call, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for n in range(24):
        if n % 5 == 0:
            assert isinstance(results[n], ValueError)
        else:
            assert results[n] == n * 10
    names = {r["name"] for r in store.db.fetchall("SELECT name FROM tb_worker")}
    assert names == {f"w{n}" for n in range(24) if n % 5}


def test_a_failing_item_leaves_nothing_behind(store):
    group = GroupCommit(store.db)

    def duplicate_key():
        store.db.execute("INSERT INTO tb_worker (name, hostname, pid, started_at,"
                         " heartbeat_at, expires_at) VALUES ('same', 'h', 1, 't', 't', 't')")
        return "ok"

    assert group.run(duplicate_key) == "ok"
    with pytest.raises(Exception):  # noqa: B017 - the driver's unique violation, translated
        group.run(duplicate_key)
    assert store.db.scalar("SELECT COUNT(*) FROM tb_worker") == 1


def test_submit_answers_only_once_the_rows_are_committed(store):
    group = GroupCommit(store.db)
    other = open_store(store.db.url, migrate=False)  # another connection: sees commits only
    seen: list = []
    answered = threading.Event()

    def work():
        store.db.execute("INSERT INTO tb_worker (name, hostname, pid, started_at,"
                         " heartbeat_at, expires_at) VALUES ('durable', 'h', 1, 't', 't', 't')")
        return "recorded"

    def done(result, error):
        seen.append((result, error, other.db.scalar(
            "SELECT COUNT(*) FROM tb_worker WHERE name = 'durable'")))
        answered.set()

    try:
        group.submit(work, done)
        assert answered.wait(30)
        assert seen == [("recorded", None, 1)]
    finally:
        group.close()
        other.close()


def test_close_writes_what_is_pending_and_a_later_run_starts_again(store):
    group = GroupCommit(store.db, max_batch=2)
    results: list = []
    for n in range(7):
        group.submit(lambda n=n: n, lambda result, error: results.append(result))
    writer = group._thread
    group.close()
    assert sorted(results) == list(range(7))
    assert writer is not None and not writer.is_alive()
    assert group.run(lambda: "again") == "again"
    group.close()
