"""etl fraises: deploy runs the script; `fraisier run` runs it again; every run is recorded."""

from __future__ import annotations

import json
import os

from _kinds_support import step
from click.testing import CliRunner

from fraisier.cli.main import cli
from tests.support.waiting import wait_for

ETL_CONFIG = """
state:
  url: sqlite:///{root}/state.db
fraises:
  loader:
    type: etl
    repository: {repo}
    script: [{python}, etl.py]
    notifications:
      on_success: [{python}, -c, "import os; open(os.environ['FRAISIER_APP_PATH'] + '/notified', 'a').write(os.environ['FRAISIER_RUN_STATUS'] + '\\\\n')"]
      on_failure: [{python}, -c, "import os; open(os.environ['FRAISIER_APP_PATH'] + '/notified', 'a').write(os.environ['FRAISIER_RUN_STATUS'] + '\\\\n')"]
    environments:
      production:
        branch: main
        app_path: {root}/srv/loader
        script_timeout: 20
"""

ETL_OK = """
import os, pathlib
print("loading rows from", os.environ["FRAISIER_RELEASE_DIR"])
out = pathlib.Path(os.environ["FRAISIER_APP_PATH"]) / "loaded.txt"
out.write_text(out.read_text() + "x" if out.exists() else "x")
print("done")
"""


def _notified(project) -> list[str]:
    path = project.root / "srv" / "loader" / "notified"
    return path.read_text().split() if path.exists() else []


def test_deploy_runs_the_script_and_records_the_run(project):
    project.configure(ETL_CONFIG)
    project.commit({"etl.py": ETL_OK})
    record = project.deploy("loader")
    assert record.status == "succeeded", record.error
    data = step(record, "script").data
    assert data["exit_code"] == 0 and data["status"] == "succeeded"
    store = project.store()
    run = store.runs.get(data["run_id"])
    assert run.trigger == "deploy" and run.deployment_id == record.id
    assert run.release == record.release
    assert "done" in run.output_tail
    lines = [entry["line"] for entry in store.ledger.logs(record.id)]
    assert any(line.startswith("loading rows from") and record.release in line for line in lines)
    assert (project.root / "srv" / "loader" / "loaded.txt").read_text() == "x"
    assert _notified(project) == ["succeeded"]


def test_failed_script_rolls_back_to_previous_release_and_notifies(project):
    project.configure(ETL_CONFIG)
    project.commit({"etl.py": ETL_OK})
    first = project.deploy("loader")
    assert first.status == "succeeded"
    project.commit({"etl.py": "import sys\nprint('bad row 17')\nsys.exit(3)\n"})
    second = project.deploy("loader")
    assert second.status == "rolled_back"
    assert "script" in second.error and "status 3" in second.error
    assert step(second, "script").status == "failed"
    assert step(second, "activate").compensation_status == "compensated"
    store = project.store()
    assert store.releases.active("loader", "production").release_id == first.release
    failed = store.runs.list("loader", "production")[0]
    assert failed.status == "failed" and failed.exit_code == 3
    assert "bad row 17" in failed.output_tail
    assert _notified(project) == ["succeeded", "failed"]


def test_fraisier_run_reruns_on_the_active_release_and_runs_lists_it(project):
    project.configure(ETL_CONFIG)
    project.commit({"etl.py": ETL_OK})
    assert project.deploy("loader").status == "succeeded"
    runner = CliRunner()
    args = ["-c", str(project.config_path)]
    result = runner.invoke(cli, [*args, "run", "loader", "production", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["trigger"] == "cli" and run["status"] == "succeeded" and run["exit_code"] == 0
    assert (project.root / "srv" / "loader" / "loaded.txt").read_text() == "xx"
    listed = runner.invoke(cli, [*args, "runs", "loader", "production", "--json"])
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.stdout)
    assert [r["trigger"] for r in runs] == ["cli", "deploy"]
    assert all(r["duration_seconds"] is not None for r in runs)
    table = runner.invoke(cli, [*args, "runs", "loader"], env={"COLUMNS": "250"})
    assert table.exit_code == 0 and "script" in table.output


def test_run_without_a_deployed_release_is_refused(project):
    project.configure(ETL_CONFIG)
    result = CliRunner().invoke(cli, ["-c", str(project.config_path), "run", "loader",
                                      "production"])
    assert result.exit_code == 1
    assert "no active release" in result.output


def test_script_timeout_kills_the_whole_process_group(project):
    project.configure(ETL_CONFIG.replace("script_timeout: 20", "script_timeout: 1"))
    # The script starts a grandchild that would outlive a plain kill of the script.
    project.commit({"etl.py": """
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        open(os.environ["FRAISIER_APP_PATH"] + "/child.pid", "w").write(str(child.pid))
        print("waiting", flush=True)
        time.sleep(300)
    """})
    record = project.deploy("loader")
    assert record.status == "failed"  # first deployment: nothing to roll back to
    assert "timed out" in record.error
    run = project.store().runs.list("loader")[0]
    assert run.status == "timed_out" and "waiting" in run.output_tail
    child = int((project.root / "srv" / "loader" / "child.pid").read_text())
    # The group was SIGKILLed: wait until the kernel reaped the grandchild.
    wait_for(lambda: not _alive(child), 30, f"the script's child {child} to be gone")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie no longer runs: reap it if it is ours, else read its state
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[1].split()[0] != "Z"
    except OSError:
        return False




def test_a_run_left_running_by_a_dead_process_does_not_block_the_job(project):
    import socket
    import subprocess

    project.configure(ETL_CONFIG)
    project.commit({"etl.py": ETL_OK})
    assert project.deploy("loader").status == "succeeded"
    gone = subprocess.Popen(["true"])
    gone.wait()
    store = project.store()
    stale = store.runs.start("loader", "production", "etl", "script", trigger="cli",
                             owner=f"cli:{socket.gethostname()}:{gone.pid}")
    alive = store.runs.start("loader", "production", "etl", "other", trigger="cli",
                             owner=f"cli:{socket.gethostname()}:{os.getpid()}")
    result = CliRunner().invoke(cli, ["-c", str(project.config_path), "run", "loader",
                                      "production"])
    assert result.exit_code == 0, result.output
    assert store.runs.get(stale).status == "failed"
    assert "abandoned" in store.runs.get(stale).error
    assert store.runs.get(alive).status == "running"  # a live owner is never touched


SECRET_ENV_CONFIG = ETL_CONFIG.replace(
    "    script: [{python}, etl.py]\n",
    "    script: [{python}, etl.py]\n"
    "    env: {{API_TOKEN: \"${{secret:file:{root}/token.json#token}}\", MODE: plain}}\n")

ETL_WRITES_TOKEN = """
import os, pathlib
pathlib.Path(os.environ["FRAISIER_APP_PATH"], "seen").write_text(
    os.environ["API_TOKEN"] + " " + os.environ["MODE"])
"""


def test_fraisier_run_fetches_secret_references_on_every_run(project):
    from fraisier.config import cache
    from fraisier.secrets.resolver import clear_cache

    (project.root / "token.json").write_text('{"token": "first-value"}')
    project.configure(SECRET_ENV_CONFIG)
    project.commit({"etl.py": ETL_WRITES_TOKEN})
    assert project.deploy("loader").status == "succeeded"
    args = ["-c", str(project.config_path), "run", "loader", "production"]
    seen = project.root / "srv" / "loader" / "seen"

    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert seen.read_text() == "first-value plain"
    # The cache keeps the script's view with the reference, never the value behind it...
    entry = cache.lookup(cache.config_file(project.config_path))
    assert entry is not None
    kept = entry.summary["scripts"]["loader/production"]["env"]
    assert kept["API_TOKEN"].startswith("${secret:file:") and kept["MODE"] == "plain"
    # ...so a run after the secret changed uses the new value (a new `fraisier run`
    # process; here the resolver's short in-process cache is emptied instead).
    (project.root / "token.json").write_text('{"token": "second-value"}')
    clear_cache()
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert seen.read_text() == "second-value plain"
    assert "second-value" not in second.output


def test_fraisier_run_says_one_line_per_run_after_the_script_output(project):
    project.configure(ETL_CONFIG)
    project.commit({"etl.py": ETL_OK})
    assert project.deploy("loader").status == "succeeded"
    result = CliRunner().invoke(cli, ["-c", str(project.config_path), "run", "loader",
                                      "production"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("loading rows from ") and lines[1] == "done"
    run_id = project.store().runs.list("loader")[0].id
    assert lines[2].startswith(f"run {run_id} loader/production script: succeeded (exit 0, ")
    assert len(lines) == 3
