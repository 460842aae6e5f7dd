"""Concurrent ingest writes share commits without sharing failures."""

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


def _insert_workers(store, batches: list | None = None):
    """A batch writer: one tb_worker row per item (a name); "bad-*" names fail."""

    def write(names: list[str]) -> list[str]:
        if batches is not None:
            batches.append(list(names))
        for name in names:
            store.db.execute("INSERT INTO tb_worker (name, hostname, pid, started_at,"
                             " heartbeat_at, expires_at) VALUES (?, 'h', 1, 't', 't', 't')",
                             (name,))
            if name.startswith("bad-"):
                raise ValueError(f"{name} fails alone")
        return [f"wrote {name}" for name in names]

    return write


def test_every_caller_gets_its_own_result_and_failure(store):
    group = GroupCommit(store.db, _insert_workers(store), max_batch=8)
    results: dict[int, object] = {}
    start = threading.Barrier(24)

    def call(n: int) -> None:
        name = f"bad-{n}" if n % 5 == 0 else f"w{n}"
        start.wait()
        try:
            results[n] = group.run(name)
        except ValueError as exc:
            results[n] = exc

    threads = [threading.Thread(target=call, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    group.close()
    for n in range(24):
        if n % 5 == 0:
            assert isinstance(results[n], ValueError)
        else:
            assert results[n] == f"wrote w{n}"
    names = {r["name"] for r in store.db.fetchall("SELECT name FROM tb_worker")}
    assert names == {f"w{n}" for n in range(24) if n % 5}


def test_a_failing_item_leaves_nothing_behind(store):
    group = GroupCommit(store.db, _insert_workers(store))
    assert group.run("same") == "wrote same"
    with pytest.raises(Exception):  # noqa: B017 - the driver's unique violation, translated
        group.run("same")
    group.close()
    assert store.db.scalar("SELECT COUNT(*) FROM tb_worker") == 1


def test_submit_answers_only_once_the_rows_are_committed(store):
    group = GroupCommit(store.db, _insert_workers(store))
    other = open_store(store.db.url, migrate=False)  # another connection: sees commits only
    seen: list = []
    answered = threading.Event()

    def done(result, error):
        seen.append((result, error, other.db.scalar(
            "SELECT COUNT(*) FROM tb_worker WHERE name = 'durable'")))
        answered.set()

    try:
        group.submit("durable", done)
        assert answered.wait(30)
        assert seen == [("wrote durable", None, 1)]
    finally:
        group.close()
        other.close()


def test_pending_items_share_batches_and_close_writes_them(store):
    batches: list = []
    write, gate = _insert_workers(store, batches), threading.Event()

    def held_write(names):
        gate.wait(30)  # the first batch waits while the others pile up
        return write(names)

    group = GroupCommit(store.db, held_write, max_batch=3)
    results: list = []
    for n in range(7):
        group.submit(f"w{n}", lambda result, error: results.append(result))
    gate.set()
    writer = group._thread
    group.close()
    assert sorted(results) == sorted(f"wrote w{n}" for n in range(7))
    assert sum(len(b) for b in batches) == 7
    assert max(len(b) for b in batches) == 3  # shared, and never more than max_batch
    assert writer is not None and not writer.is_alive()
    assert group.run("again") == "wrote again"
    group.close()
