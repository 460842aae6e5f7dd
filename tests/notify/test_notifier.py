"""The notifier end to end: real deployments of a real git repository, a local `json://`
receiver and a local HTTP server standing in for GitHub's API."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fraisier.config import load_config
from fraisier.domain.model import Trigger
from fraisier.engine.service import open_state, request_deployment
from fraisier.notify.notifier import Notifier
from fraisier.worker.inline import deploy_now
from tests.notify._support import Reply, commit, make_repository, write_config
from tests.support.waiting import wait_for

GITHUB = """\
git:
  github:
    api_token: ${{GITHUB_TOKEN}}
    api_url: {url}
    repository: acme/web
server:
  public_url: https://fraisier.example.com
"""


def chat(url: str, name: str = "ops", events: str = "[deployment.started, "
         "deployment.succeeded, deployment.failed, deployment.rolled_back]") -> str:
    return f"""\
  - name: {name}
    url: json://{url.removeprefix('http://')}/{name}
    events: {events}
"""


def setup(tmp_path: Path, extra: str, monkeypatch: pytest.MonkeyPatch, **env: str):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    repo = make_repository(tmp_path)
    config = load_config(write_config(tmp_path, repo, extra))
    return repo, config, open_state(config)


def deploy(store, config, commit_sha: str | None = None):
    record = request_deployment(store, config, "web", "production", trigger=Trigger.CLI,
                                commit=commit_sha)
    return deploy_now(store, config, record.id)


def drain(notifier: Notifier) -> None:
    """Step until nothing is planned or due any more."""
    wait_for(lambda: notifier.step() == 0, what="the notifier to be idle")


def test_chat_and_github_see_a_deployment_succeed_then_fail(tmp_path, monkeypatch, stand_in):
    extra = GITHUB.format(url=stand_in.url) + "notifications:\n" + chat(stand_in.url)
    repo, config, store = setup(tmp_path, extra, monkeypatch, GITHUB_TOKEN="ghp_secret123")
    stand_in.route("POST", "/repos/acme/web/deployments", Reply(201, {"id": 77}))
    notifier = Notifier(config, store)

    good = deploy(store, config)
    assert good.status == "succeeded"
    bad_sha = commit(repo, "Break the build", fail=True)
    bad = deploy(store, config)
    assert bad.status == "rolled_back"
    drain(notifier)

    messages = [r.body for r in stand_in.matching("POST", "/ops")]
    titles = [m["title"] for m in messages]
    assert titles == ["web/production: deployment started",
                      "web/production: deployment succeeded",
                      "web/production: deployment started",
                      "web/production: deployment rolled back"]
    assert "Break the build (Ada Lovelace" in messages[-1]["message"]
    assert f"https://fraisier.example.com/#/deployment/{bad.id}" in messages[-1]["message"]

    statuses = stand_in.matching("POST", r"/repos/acme/web/statuses/[0-9a-f]{40}")
    assert [(s.path.rsplit("/", 1)[1], s.body["state"]) for s in statuses] == [
        (good.commit_sha, "pending"), (good.commit_sha, "success"),
        (bad_sha, "pending"), (bad_sha, "failure")]
    for status in statuses:
        assert status.headers["authorization"] == "Bearer ghp_secret123"
        assert status.headers["accept"] == "application/vnd.github+json"
        assert status.body["context"] == "fraisier/production"
    assert statuses[-1].body["target_url"] == (
        f"https://fraisier.example.com/#/deployment/{bad.id}")
    assert statuses[-1].body["description"].startswith(
        "Deployment to production failed and was rolled back")

    created = stand_in.matching("POST", "/repos/acme/web/deployments")
    assert [c.body["ref"] for c in created] == [good.commit_sha, bad_sha]
    assert all(c.body["environment"] == "production" and c.body["required_contexts"] == []
               for c in created)
    states = [r.body["state"] for r in
              stand_in.matching("POST", "/repos/acme/web/deployments/77/statuses")]
    assert states == ["in_progress", "success", "in_progress", "failure"]

    attempts = store.notifications.attempts(limit=100)
    assert {a["status"] for a in attempts} == {"delivered"}
    assert len(attempts) == 4 * 3  # 4 events x (chat, status, deployment)


def attempts_of(store, channel):
    return sorted(store.notifications.attempts(limit=500, channel=channel),
                  key=lambda a: a["id"])


def test_a_hanging_and_a_failing_channel_never_touch_the_deployment(tmp_path, monkeypatch,
                                                                    stand_in, caplog):
    from fraisier.domain.model import FINAL_STATUSES
    from fraisier.worker import Worker

    stand_in.route("POST", "/hangs", Reply(hang=True))  # would hold for two minutes
    stand_in.route("POST", "/fails", Reply(500, {"error": "boom"}))
    extra = ("notifier:\n  timeout_seconds: 1\n  max_attempts: 3\n  retry_base_seconds: 0.2\n"
             "  poll_interval: 0.05\nnotifications:\n" + chat(stand_in.url, "hangs")
             + chat(stand_in.url, "fails"))
    repo, config, store = setup(tmp_path, extra, monkeypatch)
    caplog.set_level(logging.INFO, logger="fraisier.notifier")
    worker = Worker(config, store, concurrency=1).start()
    try:
        assert worker.notifier is not None, "the worker runs the notifier on a thread"
        record = request_deployment(store, config, "web", "production", trigger=Trigger.CLI)
        final = wait_for(lambda: (r := store.queue.get(record.id, with_steps=False)).status
                         in FINAL_STATUSES and r, what="the deployment to end")
        # Its real outcome, while the hanging channel's first request is still unanswered.
        assert final.status == "succeeded"
        assert final.error is None
        wait_for(lambda: len(attempts_of(store, "fails")) == 6
                 and len(attempts_of(store, "hangs")) == 6, timeout=60,
                 what="every attempt of both channels")
    finally:
        worker.stop(grace_seconds=5)

    for channel in ("hangs", "fails"):
        attempts = attempts_of(store, channel)
        by_event: dict[str, list] = {}
        for attempt in attempts:
            by_event.setdefault(attempt["event"], []).append(attempt)
        assert set(by_event) == {"deployment.started", "deployment.succeeded"}
        for tries in by_event.values():
            assert [t["attempt"] for t in tries] == [1, 2, 3]
            assert [t["status"] for t in tries] == ["failed", "failed", "gave_up"]
            # Exponential backoff: 0.2 s, then 0.4 s, then no more.
            waits = [_seconds_between(t["created_at"], t["next_retry_at"])
                     for t in tries[:2]]
            assert [round(w, 1) for w in waits] == [0.2, 0.4]
            assert tries[2]["next_retry_at"] is None
    hung = attempts_of(store, "hangs")
    # Cut by the 1 s limit of an attempt: all six attempts were over while the stand-in still
    # held its first request, which it would have held for two minutes.
    assert not stand_in.released.is_set()
    assert {a["error"] for a in hung} == {"no answer within 1 s (notifier.timeout_seconds)"}
    failed = attempts_of(store, "fails")
    # Each answered 500 (on a machine too loaded to answer within the 1 s, an attempt ends as
    # the hanging ones do: failed all the same).
    assert any(a["http_status"] == 500 for a in failed)
    assert all(a["http_status"] == 500 or a["error"].startswith("no answer within")
               for a in failed)
    assert not any(str(stand_in.port) in (a["error"] or "") for a in failed + hung)
    given_up = [r for r in caplog.records if r.levelno == logging.ERROR
                and "given up" in r.getMessage()]
    assert len(given_up) == 4  # one line per delivery given up: 2 channels x 2 events
    assert store.queue.get(record.id, with_steps=False).status == "succeeded"


def _seconds_between(start: str, end: str) -> float:
    from fraisier.domain.model import parse_timestamp

    return (parse_timestamp(end) - parse_timestamp(start)).total_seconds()


class CountingNotifier(Notifier):
    """A notifier that counts the outbox events it read."""

    read = 0

    def plan(self) -> int:
        count = super().plan()
        self.read += count
        return count


@pytest.fixture(params=["sqlite", "postgres"])
def state_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state.db"
    return request.getfixturevalue("postgres_url")


def test_a_restarted_notifier_delivers_every_event_once(tmp_path, stand_in, state_url):
    """The notifier stops mid-stream; a new one (a restart: new object, new connection)
    goes on from the durable cursor: every event delivered, none twice, none read twice."""
    from fraisier.store import open_store

    repo = make_repository(tmp_path)
    extra = ("notifier:\n  poll_interval: 0.05\nnotifications:\n" + chat(
        stand_in.url, "all", "[deployment.started, deployment.succeeded, deployment.failed, "
        "deployment.rolled_back]") + "    body: \"$event $deployment_id\"\n")
    config = load_config(write_config(tmp_path, repo, extra, state_url=state_url))
    store = open_state(config)
    received = lambda: [r.body["message"] for r in stand_in.matching("POST", "/all")]  # noqa: E731

    first = CountingNotifier(config, open_store(state_url)).start_thread()
    expected = []
    for round_ in range(3):
        commit(repo, f"Change {round_}", fail=round_ == 1)
        done = deploy(store, config)
        expected += [f"deployment.started {done.id}", f"deployment.{done.status} {done.id}"]
    wait_for(lambda: len(received()) >= 2, what="the first notifications")
    first.stop_thread()
    delivered_before_restart = len(received())
    for round_ in range(3, 5):
        commit(repo, f"Change {round_}", fail=False)
        done = deploy(store, config)
        expected += [f"deployment.started {done.id}", f"deployment.{done.status} {done.id}"]

    second = CountingNotifier(config, open_store(state_url)).start_thread()
    try:
        wait_for(lambda: len(received()) >= len(expected), what="every notification")
        wait_for(lambda: not store.notifications.due(), what="nothing left due")
    finally:
        second.stop_thread()
    assert sorted(received()) == sorted(expected)  # each exactly once
    assert len(expected) == 10 and delivered_before_restart < len(expected)
    from fraisier.notify.events import OUTBOX_TYPES

    announced = store.db.scalar(
        f"SELECT COUNT(*) FROM tb_event WHERE type IN ({','.join('?' * len(OUTBOX_TYPES))})",
        OUTBOX_TYPES)
    assert first.read + second.read == announced  # the second one read on, not again
    assert len(store.notifications.deliveries()) == len(expected)


GITLAB = """\
git:
  gitlab:
    api_token: glpat-secret
    api_url: {url}/api/v4
    repository: acme/web
    issue_on_failure: true
"""


def test_one_issue_while_an_environment_fails_on_gitlab(tmp_path, monkeypatch, stand_in):
    project = "/api/v4/projects/acme%2Fweb"
    stand_in.route("POST", f"{project}/issues",
                   Reply(201, {"iid": 31, "web_url": "https://gitlab.example/acme/web/-/issues/31"}))
    repo, config, store = setup(tmp_path, GITLAB.format(url=stand_in.url), monkeypatch)
    notifier = Notifier(config, store)
    commit(repo, "Break it", fail=True)
    assert deploy(store, config).status == "failed"  # the first deployment: nothing to restore
    commit(repo, "Still broken", fail=True)
    assert deploy(store, config).status == "failed"
    drain(notifier)
    assert len(stand_in.matching("POST", f"{project}/issues")) == 1  # never a second issue
    [again] = stand_in.matching("POST", f"{project}/issues/31/notes")
    assert again.body["body"].startswith("Failed again.")
    assert store.notifications.link("issue:gitlab:acme/web:web/production") is not None

    commit(repo, "Fixed", fail=False)
    assert deploy(store, config).status == "succeeded"
    drain(notifier)
    notes = stand_in.matching("POST", f"{project}/issues/31/notes")
    assert notes[-1].body["body"].startswith("Deployed successfully again.")
    [closed] = stand_in.matching("PUT", f"{project}/issues/31")
    assert closed.body == {"state_event": "close"}
    assert store.notifications.link("issue:gitlab:acme/web:web/production") is None
    statuses = stand_in.matching("POST", rf"{project}/statuses/\w+")
    assert [s.body["state"] for s in statuses] == ["running", "failed", "running", "failed",
                                                  "running", "success"]
    assert all(r.headers["private-token"] == "glpat-secret" for r in stand_in.requests)

    # A later failure opens a new issue: the old one is closed.
    commit(repo, "Broken once more", fail=True)
    deploy(store, config)
    drain(notifier)
    assert len(stand_in.matching("POST", f"{project}/issues")) == 2


def test_bitbucket_server_gets_build_statuses_and_no_issue(tmp_path, monkeypatch, stand_in):
    extra = (f"git:\n  bitbucket:\n    api_token: bbs-token\n    api_url: {stand_in.url}\n"
             "    repository: proj/web\n    issue_on_failure: true\n")
    repo, config, store = setup(tmp_path, extra, monkeypatch)
    commit(repo, "Break it", fail=True)
    deploy(store, config)
    drain(Notifier(config, store))
    states = [r.body["state"] for r in
              stand_in.matching("POST", r"/rest/build-status/1.0/commits/[0-9a-f]{40}")]
    assert states == ["INPROGRESS", "FAILED"]
    assert len(stand_in.requests) == 2  # no issue: Bitbucket Server has no issues API
