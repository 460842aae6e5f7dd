"""tb_preview and the rules of previews (fraisier.previews.service) on both backends: who gets
a preview, who is refused and why, what is queued."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from fraisier.config import FraisierConfig, load_config
from fraisier.domain.model import utc_now
from fraisier.domain.previews import PullRequestAction, PullRequestEvent
from fraisier.engine.service import NotFound
from fraisier.previews.service import TEARDOWN_OPTION, destroy, on_pull_request, reap
from fraisier.store import Store

CONFIG = """\
fraises:
  shop:
    repository: https://github.com/acme/shop.git
    environments:
      staging: {{branch: main, app_path: {root}/srv/staging}}
    previews:
      app_path: {root}/srv/pr-{{number}}
      ports: 9100-9109
      max_active: 2
      ttl: 1d
"""


@pytest.fixture
def config(tmp_path: Path) -> FraisierConfig:
    path = tmp_path / "fraises.yaml"
    path.write_text(CONFIG.format(root=tmp_path))
    return load_config(path)


def _event(number: int, action: PullRequestAction = PullRequestAction.OPENED, *,
           sha: str = "a" * 40, fork: bool = False) -> PullRequestEvent:
    return PullRequestEvent(provider="github", repository="acme/shop",
                            clone_urls=("https://github.com/acme/shop.git",), number=number,
                            action=action, head_sha=sha, head_branch=f"change-{number}",
                            from_fork=fork, title=f"Change {number}")


def test_open_update_close(store: Store, config: FraisierConfig) -> None:
    opened = on_pull_request(store, config, _event(3), ["shop"])
    assert opened.outcome == "queued" and opened.reason == ""
    [deployment] = [store.queue.get(i) for i in opened.deployment_ids]
    assert (deployment.environment, deployment.requested_commit, deployment.branch) == (
        "pr-3", "a" * 40, "change-3")
    preview = store.previews.get("shop", 3)
    assert preview is not None and (preview.status, preview.port) == ("active", 9103)

    # Two new heads before a worker takes the first: the older one is superseded.
    later = on_pull_request(store, config, _event(3, PullRequestAction.UPDATED, sha="b" * 40),
                            ["shop"])
    assert store.queue.get(deployment.id).status == "superseded"
    assert store.previews.get("shop", 3).head_sha == "b" * 40

    closed = on_pull_request(store, config, _event(3, PullRequestAction.CLOSED), ["shop"])
    [teardown] = [store.queue.get(i) for i in closed.deployment_ids]
    assert teardown.options[TEARDOWN_OPTION] is True
    assert store.queue.get(later.deployment_ids[0]).status == "superseded"
    assert store.previews.get("shop", 3).status == "removing"

    # Closed twice (a retried delivery with a new id): one removal stays queued.
    again = on_pull_request(store, config, _event(3, PullRequestAction.CLOSED), ["shop"])
    assert again.outcome == "queued"
    assert store.queue.get(teardown.id).status == "superseded"


def test_forks_capacity_ports_and_unknown(store: Store, config: FraisierConfig) -> None:
    fork = on_pull_request(store, config, _event(1, fork=True), ["shop"])
    assert fork.outcome == "ignored" and "allow_forks" in fork.reason
    assert store.previews.get("shop", 1) is None

    closed = on_pull_request(store, config, _event(8, PullRequestAction.CLOSED), ["shop"])
    assert closed.outcome == "ignored" and "#8 has no open preview" in closed.reason

    assert on_pull_request(store, config, _event(1), ["shop"]).outcome == "queued"
    clash = on_pull_request(store, config, _event(11), ["shop"])  # 9100 + 11 % 10 = 9101
    assert clash.outcome == "ignored" and "port 9101" in clash.reason and "#1" in clash.reason
    assert on_pull_request(store, config, _event(2), ["shop"]).outcome == "queued"
    full = on_pull_request(store, config, _event(4), ["shop"])
    assert full.outcome == "ignored" and "previews.max_active: 2" in full.reason
    # An update of an open preview is never refused for capacity.
    assert on_pull_request(store, config, _event(2, PullRequestAction.UPDATED),
                           ["shop"]).outcome == "queued"

    with pytest.raises(NotFound, match="no open preview of pull request #5"):
        destroy(store, config, "shop", 5)
    assert store.queue.get(destroy(store, config, "shop", 1)).options[TEARDOWN_OPTION]


def test_the_reaper_counts_from_the_last_new_commit(store: Store,
                                                    config: FraisierConfig) -> None:
    on_pull_request(store, config, _event(1), ["shop"], now=utc_now() - timedelta(days=3))
    on_pull_request(store, config, _event(2), ["shop"], now=utc_now() - timedelta(days=3))
    on_pull_request(store, config, _event(2, PullRequestAction.UPDATED, sha="c" * 40),
                    ["shop"], now=utc_now())
    [queued] = reap(store, config, now=utc_now() + timedelta(hours=1))
    assert store.queue.get(queued).environment == "pr-1"
    assert [p.status for p in store.previews.find(fraise="shop")] == ["removing", "active"]
    assert reap(store, config, now=utc_now() + timedelta(hours=1)) == []


def test_a_worker_reaps_idle_previews(store: Store, config: FraisierConfig) -> None:
    from fraisier.worker.worker import Worker

    on_pull_request(store, config, _event(1), ["shop"], now=utc_now() - timedelta(days=2))
    worker = Worker(config, store, name="reaper")
    [queued] = worker.reap_previews()
    assert store.queue.get(queued).options[TEARDOWN_OPTION] is True
    assert worker.reap_previews() == []
