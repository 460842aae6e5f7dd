"""Two processes writing the same row at once, on PostgreSQL.

SQLite takes its write lock at BEGIN IMMEDIATE, so a read-then-insert inside one transaction
cannot interleave with another's. PostgreSQL runs both transactions at once: two workers that
read "not there yet" both insert, and the second one's insert fails on the unique key. Each
test holds the first writer's transaction open until the second is seen waiting on it, then
commits: the interleaving that fails, made certain.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from fraisier.store import Store, open_store
from tests.support.waiting import wait_for

SHA = "c0ffee" * 6 + "0123"


@pytest.fixture
def three_stores(postgres_url: str) -> Iterator[tuple[Store, Store, Store]]:
    """Three handles on one database, as three processes would hold: the first writer, the
    second writer and an observer."""
    stores = (open_store(postgres_url), open_store(postgres_url, migrate=False),
              open_store(postgres_url, migrate=False))
    try:
        yield stores
    finally:
        for store in stores:
            store.close()


def _second_writer_waits_on_the_first(first: Store, first_write: Callable[[], None],
                                      second_write: Callable[[], None], observer: Store
                                      ) -> list[Exception]:
    """Run first_write in a transaction of `first`, left open; start second_write on a
    thread; once `observer` sees it waiting on that transaction's lock, commit. Returns the
    errors the second writer raised."""
    errors: list[Exception] = []

    def second() -> None:
        try:
            second_write()
        except Exception as exc:  # noqa: BLE001 - whatever it is, the test reports it
            errors.append(exc)

    thread = threading.Thread(target=second)
    with first.db.transaction():
        first_write()
        thread.start()
        wait_for(lambda: observer.db.scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"), what="the second writer to wait")
    thread.join(30)
    assert not thread.is_alive()
    return errors


def test_two_workers_recording_the_same_commit_at_once_both_succeed(
        three_stores: tuple[Store, Store, Store]) -> None:
    # Every deployment's fetch step records its commit; two workers deploying one commit to
    # two environments record it at the same moment.
    first, second, observer = three_stores
    errors = _second_writer_waits_on_the_first(
        first, lambda: first.record_commit("web", SHA, branch="main", message="first"),
        lambda: second.record_commit("web", SHA, branch="main", message="second"),
        observer)
    assert errors == []
    rows = observer.db.fetchall("SELECT sha, message FROM tb_git_commit")
    assert [(r["sha"], r["message"]) for r in rows] == [(SHA, "first")]


def test_two_processes_starting_on_a_fresh_database_both_record_the_fraises(
        three_stores: tuple[Store, Store, Store]) -> None:
    # `fraisier serve` and `fraisier worker` started together, each syncing fraises.yaml.
    first, second, observer = three_stores
    errors = _second_writer_waits_on_the_first(
        first, lambda: first.sync_fraises([("web", "api", "first", "", ["production"])]),
        lambda: second.sync_fraises([("web", "api", "second", "", ["production"])]),
        observer)
    assert errors == []
    rows = observer.db.fetchall("SELECT name, description FROM tb_fraise")
    assert [(r["name"], r["description"]) for r in rows] == [("web", "second")]


def test_two_notifiers_setting_one_link_at_once_both_succeed(
        three_stores: tuple[Store, Store, Store]) -> None:
    # Two machines' notifiers reporting on one deployment to the same provider object.
    first, second, observer = three_stores
    errors = _second_writer_waits_on_the_first(
        first, lambda: first.notifications.set_link("github-deployment:42", "1", "u1"),
        lambda: second.notifications.set_link("github-deployment:42", "2", "u2"),
        observer)
    assert errors == []
    rows = observer.db.fetchall("SELECT key, external_id, url FROM tb_notification_link")
    assert [(r["key"], r["external_id"], r["url"]) for r in rows] == [
        ("github-deployment:42", "2", "u2")]
