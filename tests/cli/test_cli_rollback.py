"""`fraisier rollback`: back to the previous good release, or to a named one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from _cli_support import current_release, invoke, run_fraisier, serving

from fraisier.demo import Workspace, make_workspace


@dataclass
class Steps:
    workspace: Workspace
    records: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    served: dict[str, str] = field(default_factory=dict)
    links: dict[str, str | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def run(self, label: str, *args: str, real: bool = False) -> None:
        runner = run_fraisier if real else invoke
        outcome = runner(self.workspace.config_path, *args, "--json")
        self.records[label] = outcome.json()
        self.codes[label] = outcome.exit_code
        self.errors[label] = outcome.stderr
        self.served[label] = serving(self.workspace.port)
        self.links[label] = current_release(self.workspace.app_path)


@pytest.fixture(scope="module")
def rollbacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steps]:
    steps = Steps(make_workspace(tmp_path_factory.mktemp("rollbacks")))
    try:
        steps.run("v1", "deploy", "hello", "production")
        steps.workspace.commit("Version 2", {"VERSION": "v2\n"})
        steps.run("v2", "deploy", "hello", "production")
        steps.run("back", "rollback", "hello", "production", real=True)
        steps.run("to_v2", "rollback", "hello", "production", "--to",
                  steps.records["v2"]["release"])
        steps.run("again", "rollback", "hello", "production", "--to",
                  steps.records["v2"]["release"])
        yield steps
    finally:
        steps.workspace.stop_app()


def test_the_two_deployments_succeeded(rollbacks: Steps) -> None:
    assert (rollbacks.codes["v1"], rollbacks.codes["v2"]) == (0, 0)
    assert rollbacks.served["v1"] == "v1" and rollbacks.served["v2"] == "v2"


def test_rollback_goes_back_to_the_previous_release(rollbacks: Steps) -> None:
    record = rollbacks.records["back"]
    v1, v2 = rollbacks.records["v1"], rollbacks.records["v2"]
    assert rollbacks.codes["back"] == 0, rollbacks.errors["back"]
    assert record["status"] == "succeeded"
    assert record["trigger"] == "rollback"
    assert record["release"] == v1["release"]
    assert record["previous_release"] == v2["release"]
    assert record["commit_sha"] == v1["commit_sha"]
    assert [s["name"] for s in record["steps"]] == ["select", "migrate_down", "activate",
                                                   "restart", "health_check"]
    assert rollbacks.links["back"] == v1["release"]
    assert rollbacks.served["back"] == "v1"


def test_rollback_to_a_named_release(rollbacks: Steps) -> None:
    record = rollbacks.records["to_v2"]
    v2 = rollbacks.records["v2"]
    assert rollbacks.codes["to_v2"] == 0, rollbacks.errors["to_v2"]
    assert record["status"] == "succeeded"
    assert record["release"] == v2["release"]
    assert rollbacks.links["to_v2"] == v2["release"]
    assert rollbacks.served["to_v2"] == "v2"


def test_rollback_to_the_live_release_fails_and_changes_nothing(rollbacks: Steps) -> None:
    record = rollbacks.records["again"]
    assert rollbacks.codes["again"] == 1
    # Nothing had been changed, so there was nothing to roll back.
    assert record["status"] == "failed"
    assert "already live" in record["error"]
    assert rollbacks.links["again"] == rollbacks.records["v2"]["release"]
    assert rollbacks.served["again"] == "v2"


def test_releases_after_the_rollbacks(rollbacks: Steps) -> None:
    listed = invoke(rollbacks.workspace.config_path, "releases", "hello", "production",
                    "--json").json()
    live = [r["release"] for r in listed if r["live"]]
    assert live == [rollbacks.records["v2"]["release"]]
    assert {r["status"] for r in listed} == {"active", "previous"}


def test_rollback_with_nothing_to_go_back_to(workspace: Workspace) -> None:
    result = run_fraisier(workspace.config_path, "rollback", "hello", "production")
    assert result.exit_code == 1
    combined = result.stdout + result.stderr
    assert "hello/production has no previous good release to roll back to" in combined
    assert "Traceback" not in combined
    # Refused before anything was queued (the API refuses the same request the same way).
    assert invoke(workspace.config_path, "history", "--json").json() == []
    assert not (workspace.app_path / "current").exists()


def test_rollback_to_an_unknown_release(workspace: Workspace) -> None:
    assert invoke(workspace.config_path, "deploy", "hello", "production").exit_code == 0
    live = current_release(workspace.app_path)
    result = invoke(workspace.config_path, "rollback", "hello", "production", "--to",
                    "20000101T000000000000Z-0000000", "--json")
    assert result.exit_code == 1
    assert ("no good release of hello/production matches '20000101T000000000000Z-0000000'"
            in result.stderr)
    assert [r["trigger"] for r in invoke(workspace.config_path, "history", "--json").json()] \
        == ["cli"]
    assert current_release(workspace.app_path) == live
    assert serving(workspace.port) == "v1"
