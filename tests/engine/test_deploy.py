"""An api deployment end to end: real git repository, real processes, real HTTP health checks."""

import os
import re

from fraisier.domain.model import ReleaseStatus
from tests.support.waiting import wait_for


def test_first_deployment_goes_live(harness):
    head = harness.ws.commit("v1 with migration", {"MIGRATION": "r1\n"})
    record = harness.deploy()
    assert record.status == "succeeded", record.error
    assert record.commit_sha == head
    assert harness.current == record.release
    assert record.release.endswith(head[:7])
    assert harness.serving() == "v1"
    assert harness.db_revisions() == ["r1"]
    release_dir = harness.ws.app_path / "releases" / record.release
    assert not (release_dir / ".git").exists()
    assert (release_dir / "BUILT").read_text() == head
    assert [s.status for s in record.steps] == ["succeeded"] * 9
    assert harness.store.releases.active("hello", "production").release_id == record.release


def test_commands_see_fraisier_environment(harness):
    first = harness.deploy()
    harness.ws.commit("v2", {"VERSION": "v2\n"})
    second = harness.deploy()
    assert second.status == "succeeded", second.error
    lines = (harness.ws.app_path / "env.log").read_text().splitlines()
    build_lines = [line for line in lines if line.startswith("build ")]
    last = dict(part.split("=", 1) for part in build_lines[-1].split()[1:])
    assert last["FRAISIER_FRAISE"] == "hello"
    assert last["FRAISIER_ENVIRONMENT"] == "production"
    assert last["FRAISIER_DEPLOYMENT_ID"] == str(second.id)
    assert last["FRAISIER_COMMIT"] == second.commit_sha
    assert last["FRAISIER_BRANCH"] == "main"
    assert last["FRAISIER_RELEASE_DIR"].endswith(second.release)
    assert last["FRAISIER_PREVIOUS_RELEASE_DIR"].endswith(first.release)


def test_redeploying_the_live_commit_is_a_noop(harness):
    first = harness.deploy()
    again = harness.deploy()
    assert again.status == "succeeded"
    assert again.release == first.release
    assert harness.steps(again)["fetch"] == "succeeded"
    assert harness.steps(again)["release"] == "skipped"
    assert harness.release_dirs() == [first.release]
    forced = harness.deploy(force=True)
    assert forced.status == "succeeded", forced.error
    assert forced.release != first.release
    assert harness.current == forced.release


def test_deploy_a_named_commit(harness):
    first_sha = harness.ws.commit("v1", {"VERSION": "v1\n", "MIGRATION": "r1\n"})
    harness.ws.commit("v2", {"VERSION": "v2\n"})
    record = harness.deploy(commit=first_sha[:10])
    assert record.status == "succeeded", record.error
    assert record.commit_sha == first_sha
    assert harness.serving() == "v1"


def test_unknown_commit_fails_at_fetch_and_changes_nothing(harness):
    record = harness.deploy(commit="0123456789abcdef")
    assert record.status == "failed"
    assert "0123456789abcdef" in record.error
    assert harness.steps(record)["fetch"] == "failed"
    assert harness.current is None


def _fail_second_deploy(harness, files):
    first = harness.deploy()
    assert first.status == "succeeded", first.error
    harness.ws.commit("v2", {"VERSION": "v2\n", **files})
    second = harness.deploy()
    return first, second


def _assert_rolled_back(harness, first, second, failed_step):
    assert second.status == "rolled_back", second.error
    assert second.error.startswith(f"{failed_step}:")
    assert harness.steps(second)[failed_step] == "failed"
    assert harness.current == first.release
    assert second.release not in harness.release_dirs()  # failed releases are removed
    failed = harness.store.releases.get("hello", "production", second.release)
    assert failed.status == ReleaseStatus.FAILED.value
    assert harness.store.releases.active("hello", "production").release_id == first.release
    assert harness.serving() == "v1"


def test_install_failure_rolls_back(harness):
    first, second = _fail_second_deploy(harness, {"FAIL_INSTALL": "x"})
    _assert_rolled_back(harness, first, second, "install")
    assert harness.steps(second)["build"] == "skipped"


def test_build_failure_rolls_back(harness):
    first, second = _fail_second_deploy(harness, {"FAIL_BUILD": "x"})
    _assert_rolled_back(harness, first, second, "build")


def test_migrate_failure_rolls_back_without_running_down_for_it(harness):
    harness.ws.commit("r1", {"MIGRATION": "r1\n"})
    first, second = _fail_second_deploy(harness, {"FAIL_MIGRATE": "x", "MIGRATION": "r2\n"})
    _assert_rolled_back(harness, first, second, "migrate")
    assert harness.db_revisions() == ["r1"]
    migrate = next(s for s in second.steps if s.name == "migrate")
    assert migrate.compensation_status is None  # a step that failed is not "undone"


def test_restart_failure_restarts_previous_release(harness):
    first, second = _fail_second_deploy(harness, {"FAIL_RESTART": "x"})
    _assert_rolled_back(harness, first, second, "restart")
    restart = next(s for s in second.steps if s.name == "restart")
    assert restart.compensation_status == "compensated"


def test_health_failure_rolls_back_code_and_database(harness):
    harness.ws.commit("r1", {"MIGRATION": "r1\n"})
    first, second = _fail_second_deploy(harness, {"BROKEN": "x", "MIGRATION": "r2\n"})
    _assert_rolled_back(harness, first, second, "health_check")
    assert harness.db_revisions() == ["r1"]  # migrate.down went back to the recorded revision
    migrate = next(s for s in second.steps if s.name == "migrate")
    assert migrate.data["revision_before"] == "r1"
    assert migrate.compensation_status == "compensated"
    lines = [line["line"] for line in harness.store.ledger.logs(second.id)]
    order = [i for i, line in enumerate(lines)
             if re.search(r"undoing (activate|migrate|restart)", line)]
    assert [lines[i].split()[-1] for i in order] == ["activate", "migrate", "restart"]
    attempts = [line for line in lines if line.startswith("health check attempt")]
    assert len(attempts) >= 6  # every attempt is logged, the previous release's check too


def test_first_deployment_failure_leaves_no_current(harness):
    harness.ws.commit("broken", {"BROKEN": "x"})
    record = harness.deploy()
    assert record.status == "failed"
    assert "health_check" in record.error
    assert harness.current is None
    assert harness.release_dirs() == []


def test_failed_compensation_is_rollback_failed(harness):
    first = harness.deploy()
    (harness.ws.app_path / "FAIL_ALL_RESTARTS").write_text("x")
    harness.ws.commit("v2", {"VERSION": "v2\n"})
    second = harness.deploy()
    assert second.status == "rollback_failed"
    assert "rollback failed" in second.error
    assert "undo restart" in second.error
    assert harness.current == first.release  # the link itself was put back
    restart = next(s for s in second.steps if s.name == "restart")
    assert restart.compensation_status == "compensation_failed"


def test_cleanup_keeps_the_newest_good_releases(tmp_path):
    from .conftest import Harness
    from .sample import make_sample

    harness = Harness(make_sample(tmp_path, keep=2))
    try:
        records = []
        for version in range(1, 5):
            harness.ws.commit(f"v{version}", {"VERSION": f"v{version}\n", "N": str(version)})
            records.append(harness.deploy())
        assert all(r.status == "succeeded" for r in records)
        assert harness.release_dirs() == sorted(r.release for r in records[-2:])
        statuses = {r.release_id: r.status
                    for r in harness.store.releases.list("hello", "production")}
        assert statuses[records[0].release] == "pruned"
        assert statuses[records[1].release] == "pruned"
        assert statuses[records[3].release] == "active"
    finally:
        harness.ws.stop_app()
        harness.store.close()


def test_command_timeout_kills_the_process_group(tmp_path):
    from fraisier.engine.process import run_command

    pid_file = tmp_path / "child.pid"
    # The timeout leaves the shell time to start its child even on a loaded machine.
    result = run_command(["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"], cwd=tmp_path,
                         env=os.environ, timeout=2)
    assert result.timed_out and not result.ok
    child = int(pid_file.read_text())
    # SIGKILL is delivered asynchronously: give the grandchild a moment to be gone (the
    # bound only stops a hung test; it is 20 s short of the `sleep`).
    wait_for(lambda: not _running(child), 10, "the grandchild to die with its group",
             interval=0.02)


def _running(pid):
    """Alive and not a zombie (an orphan is reaped by whoever is PID 1, maybe late)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
