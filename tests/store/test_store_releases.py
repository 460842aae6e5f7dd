"""tb_release: the release ledger behind rollbacks."""

from __future__ import annotations

from fraisier.domain.model import ReleaseStatus
from fraisier.store import Store


def _add(store: Store, release_id: str, env: str = "production", **kwargs) -> None:
    store.releases.add("web", env, release_id, "c" * 40, f"/srv/web/releases/{release_id}",
                       deployment_id=None, **kwargs)


def test_add_records_a_building_release(store: Store) -> None:
    _add(store, "20260101T000000000000Z-aaaaaaa")
    release = store.releases.get("web", "production", "20260101T000000000000Z-aaaaaaa")
    assert release is not None
    assert release.status == "building"
    assert release.activated_at is None
    assert release.to_json()["release"] == "20260101T000000000000Z-aaaaaaa"
    assert store.releases.active("web", "production") is None
    assert store.releases.get("web", "production", "nope") is None


def test_activate_makes_the_previous_active_release_previous(store: Store) -> None:
    _add(store, "r1")
    _add(store, "r2")
    store.releases.activate("web", "production", "r1")
    active = store.releases.active("web", "production")
    assert active is not None and active.release_id == "r1" and active.activated_at
    store.releases.activate("web", "production", "r2")
    statuses = {r.release_id: r.status for r in store.releases.list("web", "production")}
    assert statuses == {"r1": "previous", "r2": "active"}
    assert store.releases.active("web", "production").release_id == "r2"
    # Going back: r1 active again, r2 previous.
    store.releases.activate("web", "production", "r1")
    statuses = {r.release_id: r.status for r in store.releases.list("web", "production")}
    assert statuses == {"r1": "active", "r2": "previous"}


def test_activation_is_per_environment_and_host(store: Store) -> None:
    _add(store, "r1")
    _add(store, "s1", env="staging")
    _add(store, "h1", host="web-2")
    store.releases.activate("web", "production", "r1")
    store.releases.activate("web", "staging", "s1")
    store.releases.activate("web", "production", "h1", host="web-2")
    assert store.releases.active("web", "production").release_id == "r1"
    assert store.releases.active("web", "staging").release_id == "s1"
    assert store.releases.active("web", "production", host="web-2").release_id == "h1"
    assert [r.release_id for r in store.releases.list("web", "production")] == ["r1"]


def test_good_lists_rollback_targets_newest_first(store: Store) -> None:
    for release_id in ("r1", "r2", "r3", "r4", "r5"):
        _add(store, release_id)
    store.releases.activate("web", "production", "r1")
    store.releases.activate("web", "production", "r2")
    store.releases.activate("web", "production", "r4")
    store.releases.set_status("web", "production", "r1", ReleaseStatus.PRUNED)
    store.releases.set_status("web", "production", "r3", ReleaseStatus.FAILED)
    # r5 is still building.
    assert [r.release_id for r in store.releases.list("web", "production")] == [
        "r5", "r4", "r3", "r2", "r1"]
    assert [r.release_id for r in store.releases.good("web", "production")] == ["r4", "r2"]


def test_a_release_id_is_unique_per_environment(store: Store) -> None:
    from fraisier.store import Conflict

    _add(store, "r1")
    try:
        _add(store, "r1")
    except Conflict:
        pass
    else:
        raise AssertionError("a duplicate release was accepted")
    assert len(store.releases.list("web", "production")) == 1
