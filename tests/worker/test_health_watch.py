"""The health watch against the real sample app: a live release that stops answering is
seen as failing (once: one event per change), then healthy again when it comes back; nothing
is checked before the first release or while a deployment runs."""

from __future__ import annotations

import subprocess
import sys

from fraisier.domain.model import EventType
from fraisier.worker.health_watch import HealthWatch, is_watched
from tests.engine.conftest import Harness
from tests.engine.sample import make_sample
from tests.support.waiting import wait_for

# A positive interval shorter than any two calls: every call of check_due is due.
WATCH_EVERY_CALL = "          watch_interval: 0.000001\n"


def _harness(tmp_path, watch: str = WATCH_EVERY_CALL) -> Harness:
    workspace = make_sample(tmp_path)
    text = workspace.config_path.read_text()
    workspace.config_path.write_text(text.replace("          timeout: 2\n",
                                                  "          timeout: 2\n" + watch))
    return Harness(workspace)


def _health_events(store):
    return [e["payload"] for e in store.events.after(0, types=(EventType.HEALTH_CHANGED,))]


def test_a_release_that_stops_answering_is_seen_failing_then_healthy_again(tmp_path):
    h = _harness(tmp_path)
    watch = HealthWatch(h.config, h.store)
    try:
        assert watch.check_due() == 0  # nothing live yet: nothing to check
        assert h.deploy().status == "succeeded"
        assert watch.check_due() == 1
        healthy = h.store.health.of([("hello", "production")])[("hello", "production")]
        assert healthy.ok and "HTTP 200" in healthy.detail

        h.ws.stop_app()
        watch.check_due()
        watch.check_due()  # still failing: no second event
        failing = h.store.health.of([("hello", "production")])[("hello", "production")]
        assert not failing.ok
        assert f"127.0.0.1:{h.ws.port}/health" in failing.detail
        assert failing.since >= healthy.checked_at

        env = {"FRAISIER_APP_PATH": str(h.ws.app_path), "PATH": "/usr/bin:/bin",
               "PORT": str(h.ws.port)}
        subprocess.run([sys.executable, "control.py", "restart"], cwd=h.ws.app_path / "current",
                       env=env, check=True, timeout=30)
        wait_for(lambda: watch.check_due() and h.store.health.of(
            [("hello", "production")])[("hello", "production")].ok, timeout=30,
            what="the restarted app to be seen healthy")
        assert [e["ok"] for e in _health_events(h.store)] == [True, False, True]
    finally:
        h.ws.stop_app()
        h.store.close()


def test_no_check_while_a_deployment_is_queued_or_running(tmp_path):
    h = _harness(tmp_path)
    watch = HealthWatch(h.config, h.store)
    try:
        assert h.deploy().status == "succeeded"
        from fraisier.domain.model import Trigger
        from fraisier.engine.service import request_deployment

        request_deployment(h.store, h.config, "hello", "production", trigger=Trigger.CLI,
                           force=True)
        h.ws.stop_app()  # as a restart in progress would
        assert watch.check_due() == 0
        assert h.store.health.of([("hello", "production")]) == {}
    finally:
        h.ws.stop_app()
        h.store.close()


def test_watch_interval_zero_and_fleets_are_not_watched(tmp_path):
    off = _harness(tmp_path / "off", watch="          watch_interval: 0\n")
    try:
        assert not is_watched(off.config.target("hello", "production"))
        assert HealthWatch(off.config, off.store).watched() == []
    finally:
        off.store.close()
    on = _harness(tmp_path / "on", watch="")  # the default: every 60 s
    try:
        target = on.config.target("hello", "production")
        assert target.health_check is not None and target.health_check.watch_interval == 60
        assert is_watched(target)
    finally:
        on.store.close()


def test_the_watch_fetches_a_secret_auth_token_and_sends_it(tmp_path):
    from tests.engine.test_health_auth import TOKEN, GuardedHealth

    guarded = GuardedHealth(failures=0)
    h = _harness(tmp_path)
    try:
        assert h.deploy().status == "succeeded"
        token_file = tmp_path / "health-token"
        token_file.write_text(TOKEN + "\n")
        text = h.ws.config_path.read_text().replace(
            f"url: http://127.0.0.1:{h.ws.port}/health",
            f"url: {guarded.url}\n          auth_token: ${{secret:file:{token_file}}}")
        h.ws.config_path.write_text(text)
        h.reload_config()
        watch = HealthWatch(h.config, h.store)
        assert watch.check_due() == 1
        seen = h.store.health.of([("hello", "production")])[("hello", "production")]
        assert seen.ok, seen.detail  # 401 without the token
        assert guarded.seen == [f"Bearer {TOKEN}"]
        assert TOKEN not in seen.detail
    finally:
        guarded.close()
        h.ws.stop_app()
        h.store.close()
