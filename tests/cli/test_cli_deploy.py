"""`fraisier deploy` end to end, and the read commands on what it left behind."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from _cli_support import Outcome, current_release, invoke, run_fraisier, serving

from fraisier.cli.deploy import LiveProgress
from fraisier.demo import Workspace, make_workspace
from fraisier.domain.model import StepStatus
from tests.support.waiting import wait_for

RECORD_FIELDS = {"id", "fraise", "environment", "status", "trigger", "commit_sha", "branch",
                 "release", "previous_release", "queued_at", "started_at", "completed_at",
                 "duration_seconds", "error", "steps"}
STEP_FIELDS = {"name", "status", "started_at", "completed_at"}
API_STEPS = ["fetch", "release", "install", "build", "migrate", "activate", "restart",
             "health_check", "cleanup"]


def head(workspace: Workspace) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=workspace.repo, text=True,
                          capture_output=True, check=True).stdout.strip()


@dataclass
class Flow:
    workspace: Workspace
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    records: dict[str, Any] = field(default_factory=dict)
    served: dict[str, str] = field(default_factory=dict)
    shas: dict[str, str] = field(default_factory=dict)
    links: dict[str, str | None] = field(default_factory=dict)

    def deploy(self, label: str, *extra: str, subprocess_run: bool = False) -> None:
        runner = run_fraisier if subprocess_run else invoke
        outcome = runner(self.workspace.config_path, "deploy", "hello", "production", "--json",
                         *extra)
        self.outcomes[label] = outcome
        self.records[label] = outcome.json()
        self.served[label] = serving(self.workspace.port)
        self.links[label] = current_release(self.workspace.app_path)


@pytest.fixture(scope="module")
def redeploys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    """v1 deployed by the real console script, then again (no-op), then again with --force."""
    flow = Flow(make_workspace(tmp_path_factory.mktemp("redeploys")))
    try:
        flow.shas["v1"] = head(flow.workspace)
        flow.deploy("first", subprocess_run=True)
        flow.deploy("same")
        flow.deploy("forced", "--force")
        yield flow
    finally:
        flow.workspace.stop_app()


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    """v1 deployed, then a commit whose health check fails."""
    flow = Flow(make_workspace(tmp_path_factory.mktemp("broken")))
    try:
        flow.shas["v1"] = head(flow.workspace)
        flow.deploy("good")
        flow.shas["v2"] = flow.workspace.commit("Broken v2",
                                                {"BROKEN": "yes\n", "VERSION": "v2\n"})
        flow.deploy("broken")
        yield flow
    finally:
        flow.workspace.stop_app()


# -- deploy ---------------------------------------------------------------------------------
def test_deploy_json_record(redeploys: Flow) -> None:
    outcome, record = redeploys.outcomes["first"], redeploys.records["first"]
    assert outcome.exit_code == 0, outcome.stderr
    assert set(record) >= RECORD_FIELDS
    assert record["status"] == "succeeded"
    assert (record["fraise"], record["environment"]) == ("hello", "production")
    assert record["trigger"] == "cli"
    assert record["branch"] == "main"
    assert record["commit_sha"] == redeploys.shas["v1"]
    assert record["release"] and record["release"].endswith(redeploys.shas["v1"][:7])
    assert record["previous_release"] is None
    assert record["error"] is None
    assert record["queued_at"] <= record["started_at"] <= record["completed_at"]
    assert record["duration_seconds"] >= 0
    assert [s["name"] for s in record["steps"]] == API_STEPS
    for step in record["steps"]:
        assert set(step) >= STEP_FIELDS
    statuses = {s["name"]: s["status"] for s in record["steps"]}
    assert statuses["install"] == statuses["migrate"] == "skipped"  # none configured
    assert all(statuses[name] == "succeeded" for name in
               ("fetch", "release", "build", "activate", "restart", "health_check", "cleanup"))


def test_deploy_progress_goes_to_stderr_when_json_is_asked(redeploys: Flow) -> None:
    outcome = redeploys.outcomes["first"]
    assert "deployment 1: hello/production from branch main" in outcome.stderr
    assert "health_check" in outcome.stderr
    assert outcome.stdout.lstrip().startswith("{")


def test_the_deployed_app_answers_with_its_version(redeploys: Flow) -> None:
    assert redeploys.served["first"] == "v1"
    release = redeploys.records["first"]["release"]
    assert redeploys.links["first"] == release
    built = redeploys.workspace.app_path / "releases" / release / "BUILD_INFO"
    assert built.read_text() == f"commit={redeploys.shas['v1']}\nbranch=main\n"


def test_deploying_the_live_commit_again_is_a_successful_no_op(redeploys: Flow) -> None:
    first, same = redeploys.records["first"], redeploys.records["same"]
    assert redeploys.outcomes["same"].exit_code == 0
    assert same["status"] == "succeeded"
    assert same["id"] != first["id"]
    assert same["release"] == first["release"]
    assert same["commit_sha"] == first["commit_sha"]
    statuses = [(s["name"], s["status"]) for s in same["steps"]]
    assert statuses[0] == ("fetch", "succeeded")
    assert all(status == "skipped" for _, status in statuses[1:])
    assert redeploys.links["same"] == first["release"]
    assert redeploys.served["same"] == "v1"


def test_force_builds_a_new_release_of_the_same_commit(redeploys: Flow) -> None:
    first, forced = redeploys.records["first"], redeploys.records["forced"]
    assert redeploys.outcomes["forced"].exit_code == 0
    assert forced["status"] == "succeeded"
    assert forced["commit_sha"] == first["commit_sha"]
    assert forced["release"] != first["release"]
    assert forced["previous_release"] == first["release"]
    assert redeploys.links["forced"] == forced["release"]
    assert redeploys.served["forced"] == "v1"
    assert all(s["status"] != "skipped" for s in forced["steps"]
               if s["name"] not in ("install", "migrate"))


def test_a_broken_commit_is_rolled_back(broken: Flow) -> None:
    good, bad = broken.records["good"], broken.records["broken"]
    assert broken.outcomes["good"].exit_code == 0
    assert broken.outcomes["broken"].exit_code == 1
    assert bad["status"] == "rolled_back"
    assert bad["commit_sha"] == broken.shas["v2"]
    assert bad["previous_release"] == good["release"]
    assert "health_check" in bad["error"]
    steps = {s["name"]: s for s in bad["steps"]}
    assert steps["health_check"]["status"] == "failed"
    assert steps["cleanup"]["status"] == "skipped"
    assert steps["activate"]["compensation_status"] == "compensated"
    assert steps["restart"]["compensation_status"] == "compensated"
    # The first release is live again and answering.
    assert broken.links["broken"] == good["release"]
    assert broken.served["broken"] == "v1"
    # The failed release is gone from disk.
    assert not (broken.workspace.app_path / "releases" / bad["release"]).exists()


def test_the_live_output_says_a_step_error_once_and_how_long_steps_took(broken: Flow) -> None:
    progress = broken.outcomes["broken"].stderr  # --json: the live progress goes to stderr
    assert progress.count("health check failed after") == 1, progress
    assert re.search(r"✓ fetch \(\d+\.\ds\)", progress), progress
    assert re.search(r"✗ health_check \(\d+\.\ds\) health check failed", progress), progress


def test_a_long_step_says_it_is_still_running(capsys: pytest.CaptureFixture[str]) -> None:
    progress = LiveProgress(stderr=False)
    progress.STILL_RUNNING_EVERY = 0.05
    progress.on_step(3, "build", StepStatus.RUNNING, None)
    seen: list[str] = []

    def said_still_running() -> bool:
        seen.append(capsys.readouterr().out)
        return "build still running" in "".join(seen)

    wait_for(said_still_running, 30, lambda: f"'build still running' in {''.join(seen)!r}",
             interval=0.02)
    progress.on_step(3, "build", StepStatus.SUCCEEDED, None)
    assert re.search(r"✓ build \(\d+\.\ds\)", capsys.readouterr().out)
    progress.close()


# -- read commands ---------------------------------------------------------------------------
def test_history_newest_first_with_limit_and_status(broken: Flow) -> None:
    config = broken.workspace.config_path
    good, bad = broken.records["good"], broken.records["broken"]
    history = invoke(config, "history", "--json")
    assert history.exit_code == 0
    assert [r["id"] for r in history.json()] == [bad["id"], good["id"]]
    assert set(history.json()[0]) >= RECORD_FIELDS
    assert [s["name"] for s in history.json()[0]["steps"]] == API_STEPS
    assert [r["id"] for r in invoke(config, "history", "--json", "--limit", "1").json()] == [
        bad["id"]]
    only_good = invoke(config, "history", "--json", "--status", "succeeded").json()
    assert [r["id"] for r in only_good] == [good["id"]]
    assert invoke(config, "history", "--json", "--env", "staging").json() == []
    table = invoke(config, "history")
    assert table.exit_code == 0 and "rolled_back" in table.stdout


def test_status_shows_the_live_release(broken: Flow) -> None:
    result = invoke(broken.workspace.config_path, "status", "--json")
    assert result.exit_code == 0
    (entry,) = result.json()
    assert (entry["fraise"], entry["environment"], entry["branch"]) == ("hello", "production",
                                                                         "main")
    assert entry["current_release"] == broken.records["good"]["release"]
    assert entry["current_commit_sha"] == broken.shas["v1"]
    assert entry["last_deployment_id"] == broken.records["broken"]["id"]
    assert entry["last_status"] == "rolled_back"
    one = invoke(broken.workspace.config_path, "status", "hello", "production", "--json")
    assert one.json() == [entry]


def test_stats_counts(broken: Flow) -> None:
    result = invoke(broken.workspace.config_path, "stats", "--json")
    assert result.exit_code == 0
    stats = result.json()
    assert stats["total_deployments"] == 2
    assert stats["successful"] == 1
    assert stats["rolled_back"] == 1
    assert stats["failed"] == 0
    assert stats["success_rate"] == 0.5
    assert stats["average_duration_seconds"] > 0
    assert stats["p95_duration_seconds"] >= stats["average_duration_seconds"]
    assert invoke(broken.workspace.config_path, "stats", "--env", "staging",
                  "--json").json()["total_deployments"] == 0


def test_logs_prints_the_steps_and_the_output(broken: Flow) -> None:
    bad = broken.records["broken"]
    result = invoke(broken.workspace.config_path, "logs", str(bad["id"]))
    assert result.exit_code == 0
    out = result.stdout
    assert f"deployment {bad['id']}" in out
    for name in API_STEPS:
        assert name in out
    assert f"commit {broken.shas['v2'][:12]} (Broken v2)" in out
    assert "built " + broken.shas["v2"][:12] in out  # the build command's own output
    assert "health check attempt 1/" in out
    assert f"current -> releases/{broken.records['good']['release']}" in out
    as_json = invoke(broken.workspace.config_path, "logs", str(bad["id"]), "--json").json()
    assert as_json["deployment"]["id"] == bad["id"]
    lines = [row["line"] for row in as_json["logs"]]
    assert lines[-1].startswith(f"deployment {bad['id']} rolled_back")
    missing = invoke(broken.workspace.config_path, "logs", "9999")
    assert missing.exit_code != 0 and "9999" in missing.stderr


def test_releases_marks_the_live_one(broken: Flow) -> None:
    result = invoke(broken.workspace.config_path, "releases", "hello", "production", "--json")
    assert result.exit_code == 0
    by_id = {r["release"]: r for r in result.json()}
    good, bad = broken.records["good"]["release"], broken.records["broken"]["release"]
    assert set(by_id) == {good, bad}
    assert by_id[good]["live"] is True and by_id[good]["status"] == "active"
    assert by_id[bad]["live"] is False and by_id[bad]["status"] == "failed"
    assert by_id[good]["commit_sha"] == broken.shas["v1"]
    assert [r["release"] for r in result.json()] == [bad, good]  # newest first


def test_list(broken: Flow) -> None:
    result = invoke(broken.workspace.config_path, "list", "--json")
    assert result.exit_code == 0
    assert result.json() == [{
        "fraise": "hello", "environment": "production", "type": "api", "branch": "main",
        "app_path": str(broken.workspace.app_path), "repository": str(broken.workspace.repo),
        "description": "The sample web app",
    }]


# -- mistakes --------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [
    ["deploy", "nope", "production"],
    ["rollback", "nope", "production"],
    ["releases", "nope", "production"],
    ["status", "nope"],
])
def test_an_unknown_fraise_is_named(workspace: Workspace, command: list[str]) -> None:
    result = invoke(workspace.config_path, *command)
    assert result.exit_code != 0
    assert "'nope'" in result.stderr
    assert not (workspace.app_path / "current").exists()


@pytest.mark.parametrize("command", [
    ["deploy", "hello", "qa"],
    ["rollback", "hello", "qa"],
    ["releases", "hello", "qa"],
    ["status", "hello", "qa"],
])
def test_an_unknown_environment_is_named(workspace: Workspace, command: list[str]) -> None:
    result = invoke(workspace.config_path, *command)
    assert result.exit_code != 0
    assert "'qa'" in result.stderr


def test_an_unknown_target_as_a_real_process(workspace: Workspace) -> None:
    result = run_fraisier(workspace.config_path, "deploy", "hello", "qa")
    assert result.exit_code == 1
    assert "fraise 'hello' has no environment 'qa'" in result.stderr
    assert "Traceback" not in result.stderr
    # Nothing was queued for it.
    assert invoke(workspace.config_path, "history", "--json").json() == []


def test_no_follow_queues_for_a_worker_and_returns(workspace: Workspace) -> None:
    queued = invoke(workspace.config_path, "deploy", "hello", "production", "--no-follow",
                    "--json")
    assert queued.exit_code == 0, queued.stderr
    record = queued.json()
    assert record["status"] == "queued"
    # Nothing ran here: no release, and the deployment waits for a worker.
    assert not (workspace.app_path / "current").exists()
    listed = invoke(workspace.config_path, "history", "--json").json()
    assert [(r["id"], r["status"]) for r in listed] == [(record["id"], "queued")]
