"""The read side: history, status, statistics."""

from __future__ import annotations

from _store_support import ago, finished, set_columns

from fraisier.store import Store


def test_history_is_newest_first_with_steps(store: Store) -> None:
    a = finished(store, "web", "production", "succeeded")
    b = finished(store, "web", "staging", "failed")
    c = finished(store, "api", "production", "rolled_back")
    store.ledger.plan(b.id, ["fetch", "build"])
    records = store.views.history()
    assert [r.id for r in records] == [c.id, b.id, a.id]
    assert [s.name for s in records[1].steps] == ["fetch", "build"]
    assert records[0].steps == [] and records[2].steps == []
    assert all(r.steps == [] for r in store.views.history(with_steps=False))


def test_history_filters(store: Store) -> None:
    a = finished(store, "web", "production", "succeeded")
    b = finished(store, "web", "staging", "failed")
    c = finished(store, "api", "production", "succeeded")
    d = finished(store, "web", "production", "rolled_back")
    assert [r.id for r in store.views.history(fraise="web")] == [d.id, b.id, a.id]
    assert [r.id for r in store.views.history(environment="production")] == [d.id, c.id, a.id]
    assert [r.id for r in store.views.history(status="succeeded")] == [c.id, a.id]
    assert [r.id for r in store.views.history(fraise="web", environment="production",
                                              status="succeeded")] == [a.id]
    assert store.views.history(fraise="nope") == []


def test_history_pages_by_limit_offset_and_before_id(store: Store) -> None:
    ids = [finished(store, "web", f"env{i}", "succeeded").id for i in range(7)]
    newest_first = ids[::-1]
    assert [r.id for r in store.views.history(limit=3)] == newest_first[:3]
    assert [r.id for r in store.views.history(limit=3, offset=3)] == newest_first[3:6]
    assert [r.id for r in store.views.history(limit=3, offset=6)] == newest_first[6:]
    assert [r.id for r in store.views.history(before_id=ids[4])] == ids[:4][::-1]
    assert [r.id for r in store.views.history(before_id=ids[4], limit=2)] == [ids[3], ids[2]]
    assert [r.id for r in store.views.history(offset=-5)] == newest_first
    assert len(store.views.history(limit=10_000)) == 7


def test_status_shows_the_last_deployment_and_the_live_release(store: Store) -> None:
    first = finished(store, "web", "production", "succeeded")
    store.releases.add("web", "production", "r1", "1" * 40, "/p/r1", deployment_id=first.id)
    store.releases.activate("web", "production", "r1")
    second = finished(store, "web", "production", "rolled_back")
    store.releases.add("web", "production", "r2", "2" * 40, "/p/r2", deployment_id=second.id)
    staging = finished(store, "web", "staging", "failed")
    queued = store.queue.enqueue("api", "production", trigger="cli")

    rows = {(r["fraise"], r["environment"]): r for r in store.views.status()}
    assert set(rows) == {("web", "production"), ("web", "staging"), ("api", "production")}
    production = rows[("web", "production")]
    assert production["last_deployment_id"] == second.id
    assert production["last_status"] == "rolled_back"
    assert production["current_release"] == "r1"
    assert production["current_commit_sha"] == "1" * 40
    assert rows[("web", "staging")]["last_deployment_id"] == staging.id
    assert rows[("web", "staging")]["current_release"] is None
    assert rows[("api", "production")]["last_status"] == "queued"
    assert rows[("api", "production")]["last_deployment_id"] == queued.id

    assert [r["environment"] for r in store.views.status("web")] == ["production", "staging"]
    only = store.views.status("web", "staging")
    assert [(r["fraise"], r["environment"]) for r in only] == [("web", "staging")]


def test_stats_counts_rates_and_durations(store: Store) -> None:
    durations = {"succeeded": [10.0, 20.0, 30.0], "failed": [40.0], "rolled_back": [50.0]}
    for status, values in durations.items():
        for value in values:
            finished(store, "web", "production", status, duration=value)
    finished(store, "web", "production", "rollback_failed")  # duration measured, not known
    finished(store, "web", "production", "interrupted")
    # Neither counted nor timed: still queued, running, superseded, cancelled.
    store.queue.enqueue("web", "staging", trigger="cli")
    running = store.queue.enqueue("web", "qa", trigger="cli")
    store.queue.claim(running.id, "w", 60)
    cancelled = store.queue.enqueue("web", "dev", trigger="cli")
    store.queue.cancel_queued(cancelled.id)

    # Give the two last ones known durations too, so every timed row is known.
    for row in store.views.history(status="rollback_failed") + store.views.history(
            status="interrupted"):
        set_columns(store, "tb_deployment", row.id, duration_seconds=60.0)

    stats = store.views.stats()
    assert stats["total_deployments"] == 7
    assert stats["successful"] == 3
    assert stats["failed"] == 1
    assert stats["rolled_back"] == 1
    assert stats["rollback_failed"] == 1
    assert stats["interrupted"] == 1
    assert stats["success_rate"] == round(3 / 7, 4)
    assert stats["average_duration_seconds"] == round((10 + 20 + 30 + 40 + 50 + 60 + 60) / 7, 3)
    # Seven timed rows: the 95th percentile by rank is the 7th (ceil(0.95 * 7) = 7).
    assert stats["p95_duration_seconds"] == 60.0
    assert stats["days"] == 30


def test_stats_ignores_deployments_without_a_duration(store: Store) -> None:
    finished(store, "web", "production", "succeeded", duration=4.0)
    finished(store, "web", "production", "succeeded", duration=8.0)
    never_started = store.queue.enqueue("web", "production", trigger="cli")
    store.queue.finish(never_started.id, "failed", "no worker")  # no duration
    stats = store.views.stats()
    assert stats["total_deployments"] == 3
    assert stats["average_duration_seconds"] == 6.0
    assert stats["p95_duration_seconds"] == 8.0


def test_stats_filters_by_target(store: Store) -> None:
    finished(store, "web", "production", "succeeded", duration=1.0)
    finished(store, "web", "staging", "failed", duration=3.0)
    finished(store, "api", "production", "failed", duration=5.0)
    web = store.views.stats(fraise="web")
    assert (web["total_deployments"], web["successful"], web["failed"]) == (2, 1, 1)
    assert web["success_rate"] == 0.5
    production = store.views.stats(environment="production")
    assert production["total_deployments"] == 2
    assert production["average_duration_seconds"] == 3.0
    one = store.views.stats(fraise="api", environment="production")
    assert (one["total_deployments"], one["success_rate"]) == (1, 0.0)


def test_stats_days_filter_uses_the_queue_time(store: Store) -> None:
    old = finished(store, "web", "production", "failed", duration=100.0)
    set_columns(store, "tb_deployment", old.id, queued_at=ago(10 * 86400))
    finished(store, "web", "production", "succeeded", duration=2.0)
    recent = store.views.stats(days=7)
    assert recent["total_deployments"] == 1
    assert recent["success_rate"] == 1.0
    assert recent["p95_duration_seconds"] == 2.0
    wider = store.views.stats(days=30)
    assert wider["total_deployments"] == 2
    assert wider["average_duration_seconds"] == 51.0
    assert store.views.stats(days=None)["total_deployments"] == 2


def test_stats_of_nothing(store: Store) -> None:
    stats = store.views.stats()
    assert stats["total_deployments"] == 0
    assert stats["success_rate"] is None
    assert stats["average_duration_seconds"] is None
    assert stats["p95_duration_seconds"] is None


def test_p95_of_twenty_durations_is_not_the_maximum(store: Store) -> None:
    for seconds in range(1, 21):
        finished(store, "web", "production", "succeeded", duration=float(seconds))
    stats = store.views.stats()
    assert stats["average_duration_seconds"] == 10.5
    # 19 of the 20 durations (95%) are <= 19 s: the nearest-rank 95th percentile is 19 s.
    assert stats["p95_duration_seconds"] == 19.0, stats["p95_duration_seconds"]
