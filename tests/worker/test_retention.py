"""Workers delete recorded webhook requests older than `webhook.retention_days`."""

from datetime import timedelta

from fraisier.domain.model import utc_now, utc_timestamp
from fraisier.worker import Worker
from fraisier.worker import worker as worker_module
from tests.support.waiting import wait_for


def _requests_received(store, days_ago: float, count: int) -> list[int]:
    ids = [store.webhooks.record(provider="github", event_type="push", outcome="ignored",
                                 delivery_id=f"{days_ago}-{n}", payload=b"{}")
           for n in range(count)]
    with store.db.transaction():
        for event_id in ids:
            store.db.execute("UPDATE tb_webhook_event SET received_at = ? WHERE id = ?",
                             (utc_timestamp(utc_now() - timedelta(days=days_ago)), event_id))
    return ids


def _recorded(store) -> set[int]:
    return {row["id"] for row in store.db.fetchall("SELECT id FROM tb_webhook_event")}


def test_housekeeping_deletes_old_requests_a_few_per_beat(harness, monkeypatch):
    monkeypatch.setattr(worker_module, "PRUNE_PER_BEAT", 3)  # a backlog of several beats
    store = harness.store
    old = _requests_received(store, 91, 8)
    kept = _requests_received(store, 89, 2)
    deleted = []
    real_prune = store.webhooks.prune

    def counted_prune(*args, **kwargs):
        deleted.append(real_prune(*args, **kwargs))
        return deleted[-1]

    monkeypatch.setattr(store.webhooks, "prune", counted_prune)
    worker = Worker(harness.config, store).start()
    try:
        wait_for(lambda: _recorded(store) == set(kept), what="the old requests deleted")
    finally:
        worker.stop()
    assert set(old).isdisjoint(_recorded(store))
    # Two full beats of three, then one with the last two: fewer than three, so the next
    # prune is an hour later.
    assert deleted == [3, 3, 2]


def test_null_retention_keeps_every_request(harness):
    config = harness.config.model_copy(update={
        "webhook": harness.config.webhook.model_copy(update={"retention_days": None})})
    ancient = _requests_received(harness.store, 3650, 2)
    assert Worker(config, harness.store).prune_webhook_requests() == 0
    assert _recorded(harness.store) == set(ancient)
