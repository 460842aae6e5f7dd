"""A deployment process killed half-way must never leave `current` on a half-made release."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fraisier.store import open_store
from tests.support.waiting import wait_for


def _fraisier() -> str:
    return str(Path(sys.executable).parent / "fraisier")



def test_kill_during_build_keeps_previous_release_live(harness):
    first = harness.deploy()
    assert first.status == "succeeded", first.error
    harness.ws.commit("slow v2", {"VERSION": "v2\n", "SLOW_BUILD": "x"})
    cli = subprocess.Popen([_fraisier(), "-c", str(harness.ws.config_path), "deploy", "hello",
                            "production"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    build_pid_file = harness.ws.app_path / "build.pid"
    try:
        wait_for(build_pid_file.exists, what="the build step to start")
        os.killpg(cli.pid, signal.SIGKILL)
        cli.wait(timeout=10)
    finally:
        if build_pid_file.exists():
            try:
                os.killpg(int(build_pid_file.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass
    store = open_store(harness.config.state.url)
    try:
        killed = store.views.history(limit=1)[0]
        assert killed.id != first.id
        assert killed.status == "running"  # its lease expires; a worker recovers it
        steps = {s.name: s.status for s in killed.steps}
        assert steps["build"] == "running" and steps["activate"] == "pending"
        assert harness.current == first.release
        assert harness.serving() == "v1"
        half_made = store.releases.get("hello", "production", killed.release)
        assert half_made.status == "building"
    finally:
        store.close()


def test_ctrl_c_cancels_and_undoes(harness):
    first = harness.deploy()
    harness.ws.commit("slow v2", {"VERSION": "v2\n", "SLOW_BUILD": "x"})
    cli = subprocess.Popen([_fraisier(), "-c", str(harness.ws.config_path), "deploy", "hello",
                            "production", "--json"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    build_pid_file = harness.ws.app_path / "build.pid"
    try:
        wait_for(build_pid_file.exists, what="the build step to start")
        build_pid = int(build_pid_file.read_text())
        cli.send_signal(signal.SIGINT)
        out, _ = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
    import json

    record = json.loads(out)
    assert cli.returncode == 1
    assert record["status"] == "cancelled"
    assert "cancelled" in record["error"]
    assert harness.current == first.release
    assert record["release"] not in harness.release_dirs()
    with pytest.raises(ProcessLookupError):
        os.kill(build_pid, 0)  # the build's process group was killed
