"""tb_webhook_event: every webhook request, accepted or not."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading

from _store_support import ago, set_columns

from fraisier.domain.model import utc_timestamp
from fraisier.store import Store, open_store
from fraisier.store.intake import NewDeployment, WebhookRecord
from fraisier.store.webhooks import PAYLOAD_CAP_BYTES


def _record(store: Store, **overrides) -> int:
    fields = dict(provider="github", event_type="push", outcome="queued",
                  repository="acme/web", ref="refs/heads/main", branch="main",
                  commit_sha="a" * 40, sender="alice")
    fields.update(overrides)
    return store.webhooks.record(**fields)


def test_record_stores_the_request_and_emits_an_event(store: Store) -> None:
    event_id = _record(store, delivery_id="d-1", body_digest="sha256:x", source_ip="10.0.0.1",
                       payload=b'{"ref": "refs/heads/main"}', deployment_ids=[3, 4])
    row = store.db.fetchone("SELECT * FROM tb_webhook_event WHERE id = ?", (event_id,))
    assert row["payload"] == '{"ref": "refs/heads/main"}'
    assert (row["provider"], row["delivery_id"], row["source_ip"]) == ("github", "d-1",
                                                                       "10.0.0.1")
    assert json.loads(row["deployment_ids"]) == [3, 4]
    events = store.events.after(0, types=("webhook.received",))
    assert [e["payload"]["webhook_event_id"] for e in events] == [event_id]
    assert events[0]["payload"]["outcome"] == "queued"


def test_list_is_newest_first_and_filters(store: Store) -> None:
    a = _record(store, provider="github", outcome="queued")
    b = _record(store, provider="gitlab", outcome="rejected", reason="bad signature")
    c = _record(store, provider="github", outcome="ignored", reason="branch not deployed")
    d = _record(store, provider="github", outcome="queued", deployment_ids=[7])
    assert [r["id"] for r in store.webhooks.list()] == [d, c, b, a]
    assert [r["id"] for r in store.webhooks.list(provider="github")] == [d, c, a]
    assert [r["id"] for r in store.webhooks.list(outcome="queued")] == [d, a]
    assert [r["id"] for r in store.webhooks.list(provider="gitlab", outcome="rejected")] == [b]
    assert [r["id"] for r in store.webhooks.list(limit=2)] == [d, c]
    assert store.webhooks.list(outcome="queued")[0]["deployment_ids"] == [7]
    assert store.webhooks.list(provider="gitlab")[0]["reason"] == "bad signature"
    assert "payload" not in store.webhooks.list()[0]


_bodies = itertools.count()


def _incoming(**overrides) -> WebhookRecord:
    # Each its own body: the body digest (computed from it) would make copies duplicates.
    fields = dict(received_at=utc_timestamp(), provider="github", event_type="push",
                  outcome="queued", repository="acme/web", ref="refs/heads/main",
                  branch="main", commit_sha="b" * 40, payload=b'{"n": %d}' % next(_bodies),
                  deployments=[NewDeployment("web", "production", "main", "b" * 40)])
    fields.update(overrides)
    return WebhookRecord(**fields)


def test_intake_queues_and_links_the_deployments(store: Store) -> None:
    record = _incoming(delivery_id="d-1", deployments=[
        NewDeployment("web", "production", "main", "b" * 40),
        NewDeployment("api", "production", "main", "b" * 40)])
    store.webhooks.intake.record([record], duplicate_window=60)
    assert not record.duplicate and len(record.deployment_ids) == 2
    row = store.webhooks.list()[0]
    assert (row["id"], row["outcome"], row["deployment_ids"]) == (
        record.id, "queued", record.deployment_ids)
    # The digest duplicate checks use is computed from the body when not given.
    assert store.db.scalar("SELECT body_digest FROM tb_webhook_event WHERE id = ?",
                           (record.id,)) == hashlib.sha256(record.payload).hexdigest()
    for deployment_id in record.deployment_ids:
        deployment = store.queue.get(deployment_id, with_steps=False)
        assert (deployment.status, deployment.trigger, deployment.webhook_event_id) == (
            "queued", "webhook", record.id)


def test_intake_duplicates_by_delivery_id_per_provider(store: Store) -> None:
    _record(store, delivery_id="abc")
    again, other, gitlab = (_incoming(delivery_id="abc"), _incoming(delivery_id="other"),
                            _incoming(provider="gitlab", delivery_id="abc"))
    # Within one batch too: the second copy of "other" is a duplicate of the first.
    twice = _incoming(delivery_id="other")
    store.webhooks.intake.record([again, other, gitlab, twice], duplicate_window=60)
    assert [r.duplicate for r in (again, other, gitlab, twice)] == [True, False, False, True]
    assert again.deployment_ids == [] and twice.deployment_ids == []
    rows = {r["id"]: r for r in store.webhooks.list()}
    assert rows[again.id]["outcome"] == "duplicate"
    assert rows[again.id]["reason"] == "delivery already received"
    assert store.db.scalar("SELECT payload FROM tb_webhook_event WHERE id = ?",
                           (again.id,)) is None
    assert store.db.scalar("SELECT COUNT(*) FROM tb_deployment") == 2  # other, gitlab


def test_a_rejected_delivery_is_not_counted_as_seen(store: Store) -> None:
    _record(store, delivery_id="abc", body_digest="d1", outcome="rejected")
    retry = _incoming(delivery_id="abc", body_digest="d1")
    store.webhooks.intake.record([retry], duplicate_window=60)
    assert not retry.duplicate and retry.deployment_ids


def test_intake_duplicates_by_body_digest_only_within_the_window(store: Store) -> None:
    recent = _record(store, body_digest="digest-1")
    same, different = _incoming(body_digest="digest-1"), _incoming(body_digest="digest-2")
    store.webhooks.intake.record([same, different], duplicate_window=60)
    assert (same.duplicate, different.duplicate) == (True, False)
    set_columns(store, "tb_webhook_event", recent, received_at=ago(600))
    set_columns(store, "tb_webhook_event", different.id, received_at=ago(600))
    late = _incoming(body_digest="digest-1")
    store.webhooks.intake.record([late], duplicate_window=60)
    assert not late.duplicate
    longer = _incoming(body_digest="digest-2")
    store.webhooks.intake.record([longer], duplicate_window=3600)
    assert longer.duplicate
    off = _incoming(body_digest="digest-2")  # window 0: only delivery ids count
    store.webhooks.intake.record([off], duplicate_window=0)
    assert not off.duplicate


def test_a_burst_in_one_batch_leaves_only_the_newest_queued(store: Store) -> None:
    earlier = store.queue.enqueue("web", "production", trigger="manual")
    burst = [_incoming(delivery_id=f"d-{n}", deployments=[
        NewDeployment("web", "production", "main", f"{n:040x}")]) for n in range(5)]
    store.webhooks.intake.record(burst, duplicate_window=60)
    newest = burst[-1].deployment_ids[0]
    statuses = {d: store.queue.get(d, with_steps=False) for d in
                [earlier.id] + [r.deployment_ids[0] for r in burst]}
    assert statuses[newest].status == "queued"
    for deployment_id, record in statuses.items():
        if deployment_id != newest:
            assert (record.status, record.superseded_by) == ("superseded", newest)
    superseded = [e for e in store.events.after(0, types=("deployment.status",))
                  if e["payload"]["status"] == "superseded"]
    assert sorted(e["deployment_id"] for e in superseded) == sorted(
        d for d in statuses if d != newest)


def test_writing_a_record_again_starts_from_its_own_fields(store: Store) -> None:
    # A batch that fails is written again item by item: what the first attempt decided
    # (a duplicate of a batch-mate that was then rolled back) must not stick.
    first, copy = _incoming(delivery_id="same"), _incoming(delivery_id="same")
    store.webhooks.intake.record([first, copy], duplicate_window=60)
    assert copy.duplicate
    store.db.execute("DELETE FROM tb_deployment")
    store.db.execute("DELETE FROM tb_webhook_event")
    store.webhooks.intake.record([copy], duplicate_window=60)
    assert not copy.duplicate and len(copy.deployment_ids) == 1


def test_payload_is_capped_at_64_kib(store: Store) -> None:
    body = b'{"pad": "' + b"x" * (PAYLOAD_CAP_BYTES * 2) + b'"}'
    event_id = _record(store, payload=body)
    stored = store.db.scalar("SELECT payload FROM tb_webhook_event WHERE id = ?", (event_id,))
    assert PAYLOAD_CAP_BYTES == 64 * 1024
    assert len(stored.encode("utf-8")) == PAYLOAD_CAP_BYTES
    assert stored == body[:PAYLOAD_CAP_BYTES].decode()
    small = _record(store, payload=b"{}")
    assert store.db.scalar("SELECT payload FROM tb_webhook_event WHERE id = ?", (small,)) == "{}"
    none = _record(store)
    assert store.db.scalar("SELECT payload FROM tb_webhook_event WHERE id = ?", (none,)) is None


def test_a_payload_cut_inside_a_multibyte_character_stays_within_the_cap(
        store: Store) -> None:
    body = b"a" * (PAYLOAD_CAP_BYTES - 1) + "é".encode()
    event_id = _record(store, payload=body)
    stored = store.db.scalar("SELECT payload FROM tb_webhook_event WHERE id = ?", (event_id,))
    assert len(stored.encode("utf-8")) <= PAYLOAD_CAP_BYTES


def test_a_body_with_a_nul_byte_is_recorded(store: Store) -> None:
    event_id = _record(store, outcome="rejected", reason="not JSON", payload=b'{"a":\x00}')
    stored = store.db.scalar("SELECT payload FROM tb_webhook_event WHERE id = ?", (event_id,))
    assert stored is not None and stored.startswith('{"a":')
    assert [r["id"] for r in store.webhooks.list()] == [event_id]


def test_concurrent_intakes_take_turns(store: Store) -> None:
    # Two servers sharing one database: the second to record a delivery must see the first's
    # commit, whatever the timing — SQLite's write lock, PostgreSQL's advisory lock.
    other = open_store(store.db.url, migrate=False)
    first, second = _incoming(delivery_id="twice"), _incoming(delivery_id="twice")
    done = threading.Event()

    def record_second() -> None:
        other.webhooks.intake.record([second], duplicate_window=60)
        done.set()

    try:
        with store.db.transaction():
            store.webhooks.intake.record([first], duplicate_window=60)
            thread = threading.Thread(target=record_second)
            thread.start()
            assert not done.wait(1.0)  # waits for the first transaction to end
        thread.join(30)
        assert done.is_set()
        assert (first.duplicate, second.duplicate) == (False, True)
        assert store.db.scalar(
            "SELECT COUNT(*) FROM tb_deployment WHERE status = 'queued'") == 1
    finally:
        other.close()


def test_prune_deletes_what_was_received_before_the_cutoff_a_chunk_at_a_time(
        store: Store) -> None:
    old = [_record(store, delivery_id=f"old-{n}") for n in range(7)]
    for age, event_id in enumerate(old):
        set_columns(store, "tb_webhook_event", event_id, received_at=ago(10 * 86_400 + age))
    kept = [_record(store, delivery_id=f"new-{n}") for n in range(2)]
    deployment = store.queue.enqueue("web", "production", trigger="webhook",
                                     webhook_event_id=old[0])
    cutoff = ago(86_400)

    assert store.webhooks.prune(cutoff, limit=5, chunk=2) == 5
    remaining = [row["id"] for row in store.db.fetchall(
        "SELECT id FROM tb_webhook_event ORDER BY id")]
    # Oldest first: the two most recent of the old ones are what is left of them.
    assert remaining == [old[0], old[1], *kept]
    assert store.webhooks.prune(cutoff, limit=5, chunk=2) == 2
    assert store.webhooks.prune(cutoff, limit=5, chunk=2) == 0
    assert [row["id"] for row in store.webhooks.list()] == kept[::-1]
    # A deployment outlives the request that queued it.
    assert store.queue.get(deployment.id).status == "queued"
    # Its delivery id is forgotten with it: duplicates are looked for among kept requests.
    again = _incoming(delivery_id="old-3")
    store.webhooks.intake.record([again], duplicate_window=60)
    assert not again.duplicate
