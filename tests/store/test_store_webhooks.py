"""tb_webhook_event: every webhook request, accepted or not."""

from __future__ import annotations

import json

from _store_support import ago, set_columns

from fraisier.store import Store
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


def test_set_deployments(store: Store) -> None:
    event_id = _record(store)
    store.webhooks.set_deployments(event_id, [11, 12])
    assert store.webhooks.list()[0]["deployment_ids"] == [11, 12]


def test_seen_by_delivery_id(store: Store) -> None:
    _record(store, delivery_id="abc")
    assert store.webhooks.seen(provider="github", delivery_id="abc", body_digest=None,
                               window_seconds=60)
    assert not store.webhooks.seen(provider="github", delivery_id="other", body_digest=None,
                                   window_seconds=60)
    # Delivery ids are per provider.
    assert not store.webhooks.seen(provider="gitlab", delivery_id="abc", body_digest=None,
                                   window_seconds=60)


def test_a_rejected_delivery_is_not_counted_as_seen(store: Store) -> None:
    _record(store, delivery_id="abc", body_digest="d1", outcome="rejected")
    assert not store.webhooks.seen(provider="github", delivery_id="abc", body_digest="d1",
                                   window_seconds=60)


def test_seen_by_body_digest_only_within_the_window(store: Store) -> None:
    recent = _record(store, body_digest="digest-1")
    assert store.webhooks.seen(provider="github", delivery_id=None, body_digest="digest-1",
                               window_seconds=60)
    assert not store.webhooks.seen(provider="github", delivery_id=None, body_digest="digest-2",
                                   window_seconds=60)
    set_columns(store, "tb_webhook_event", recent, received_at=ago(600))
    assert not store.webhooks.seen(provider="github", delivery_id=None, body_digest="digest-1",
                                   window_seconds=60)
    assert store.webhooks.seen(provider="github", delivery_id=None, body_digest="digest-1",
                               window_seconds=3600)
    assert not store.webhooks.seen(provider="github", delivery_id=None, body_digest=None,
                                   window_seconds=3600)


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
