"""Scheduled fraises: systemd units (checked by systemd-analyze; only systemctl is recorded
instead of run) and the builtin scheduler driven by an injected clock."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import UTC, datetime, timedelta

from _kinds_support import step
from click.testing import CliRunner

from fraisier.cli.main import cli
from fraisier.kinds.scheduler import Scheduler
from tests.support.services import require_binary
from tests.support.waiting import wait_for

CONFIG = """
state:
  url: sqlite:///{root}/state.db
fraises:
  reports:
    type: scheduled
    repository: {repo}
    jobs:
      nightly:
        schedule: "30 2 * * mon-fri"
        command: [{python}, job.py, nightly]
      publish:
        depends_on: [nightly]
        command: [{python}, job.py, publish]
      hourly:
        schedule: "0 * * * *"
        command: [{python}, job.py, hourly]
        timeout: 30
    environments:
      production:
        branch: main
        app_path: {root}/srv/reports
        scheduler: SCHEDULER
        systemd_dir: {root}/units
"""

JOB = """
import os, sys, time
name = sys.argv[1]
with open(os.path.join(os.environ["FRAISIER_APP_PATH"], "ran.log"), "a") as log:
    log.write(name + "\\n")
if os.path.exists(os.path.join(os.environ["FRAISIER_APP_PATH"], "slow")):
    time.sleep(float(open(os.path.join(os.environ["FRAISIER_APP_PATH"], "slow")).read()))
print("job", name, "done")
"""


def _recording_systemctl(tmp_path, monkeypatch):
    log = tmp_path / "systemctl.log"
    script = tmp_path / "systemctl"
    script.write_text(f"#!/bin/sh\necho \"$*\" >> {log}\n")
    script.chmod(0o755)
    monkeypatch.setenv("FRAISIER_SYSTEMCTL", str(script))
    return log


def test_systemd_units_are_written_verified_enabled_and_removed(project, monkeypatch):
    require_binary("systemd-analyze")
    calls = _recording_systemctl(project.root, monkeypatch)
    project.configure(CONFIG.replace("SCHEDULER", "systemd"))
    project.commit({"job.py": JOB})
    record = project.deploy("reports")
    assert record.status == "succeeded", record.error
    units = project.root / "units"
    names = sorted(p.name for p in units.iterdir())
    base = "fraisier-reports-production-"
    assert names == [f"{base}hourly.service", f"{base}hourly.timer", f"{base}nightly.service",
                     f"{base}nightly.timer", f"{base}publish.service"]
    timer = (units / f"{base}nightly.timer").read_text()
    assert "OnCalendar=Mon,Tue,Wed,Thu,Fri *-*-* 02:30:00 UTC" in timer
    assert "Persistent=true" in timer
    assert f"OnSuccess={base}publish.service" in (units / f"{base}nightly.service").read_text()
    verify = subprocess.run(["systemd-analyze", "verify", *[str(units / n) for n in names]],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    assert verify.stderr.strip() == "" and verify.stdout.strip() == ""
    assert calls.read_text().splitlines() == [
        "daemon-reload", f"enable --now {base}hourly.timer {base}nightly.timer"]
    assert step(record, "schedule").data["scheduler"] == "systemd"

    # The unit runs `fraisier run`: do what systemd would do and check the run is recorded.
    service = (units / f"{base}hourly.service").read_text()
    exec_line = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    argv = json.loads("[" + ", ".join(_unquote(exec_line.removeprefix("ExecStart="))) + "]")
    done = subprocess.run(argv, capture_output=True, text=True, cwd=project.root)
    assert done.returncode == 0, done.stderr
    run = project.store().runs.list("reports", name="hourly")[0]
    assert run.trigger == "schedule" and run.status == "succeeded"

    # Drop a job: its units are disabled and removed; the others stay.
    project.configure(CONFIG.replace("SCHEDULER", "systemd").replace(
        'schedule: "0 * * * *"', 'schedule: "0 * * * *"\n        description: kept'))
    text = project.config_path.read_text()
    start = text.index("      publish:")
    end = text.index("      hourly:")
    project.config_path.write_text(text[:start] + text[end:])
    calls.write_text("")
    assert project.deploy("reports").status == "succeeded"
    assert f"{base}publish.service" not in {p.name for p in units.iterdir()}
    assert "OnSuccess" not in (units / f"{base}nightly.service").read_text()
    assert calls.read_text().splitlines() == [
        "daemon-reload", f"enable --now {base}hourly.timer {base}nightly.timer"]


def _unquote(text: str) -> list[str]:
    """The ExecStart= arguments as JSON strings (our quoting is JSON-compatible here)."""
    return [f'"{part}"' for part in text[1:-1].split('" "')]


def test_systemd_removed_timers_are_disabled(project, monkeypatch):
    calls = _recording_systemctl(project.root, monkeypatch)
    project.configure(CONFIG.replace("SCHEDULER", "systemd"))
    project.commit({"job.py": JOB})
    assert project.deploy("reports").status == "succeeded"
    text = project.config_path.read_text()
    project.config_path.write_text(text[:text.index("      hourly:")]
                                   + text[text.index("    environments:"):])
    calls.write_text("")
    assert project.deploy("reports").status == "succeeded"
    base = "fraisier-reports-production-"
    assert calls.read_text().splitlines()[0] == f"disable --now {base}hourly.timer"
    assert not (project.root / "units" / f"{base}hourly.timer").exists()


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _ran(project) -> list[str]:
    path = project.root / "srv" / "reports" / "ran.log"
    return path.read_text().split() if path.exists() else []


def _builtin(project):
    project.configure(CONFIG.replace("SCHEDULER", "builtin"))
    project.commit({"job.py": JOB})
    assert project.deploy("reports").status == "succeeded"
    return project.store()


START = datetime(2026, 11, 26, 5, 10, tzinfo=UTC)  # a Thursday


def test_builtin_scheduler_runs_due_jobs_once_and_their_dependents(project):
    store = _builtin(project)
    clock = Clock(START)
    scheduler = Scheduler(store, project.config, clock=clock)
    try:
        assert scheduler.run_pending(START + timedelta(minutes=30)) == []  # nothing due yet
        scheduler.run_pending(START + timedelta(minutes=50, seconds=5))
        assert _ran(project) == ["hourly"]
        scheduler.run_pending(START + timedelta(minutes=51))  # same slot: not again
        assert _ran(project) == ["hourly"]
        run = store.runs.list("reports", name="hourly")[0]
        assert run.scheduled_for == "2026-11-26T06:00:00.000000Z"
        assert run.status == "succeeded" and run.exit_code == 0 and "done" in run.output_tail
        # Friday 02:30: nightly, then publish because it depends on nightly.
        scheduler.run_pending(datetime(2026, 11, 27, 2, 30, 1, tzinfo=UTC))
        ran = _ran(project)
        # nightly and hourly run side by side; publish only once nightly has finished.
        assert sorted(ran) == ["hourly", "hourly", "nightly", "publish"]
        assert ran.index("publish") > ran.index("nightly")
        publish = store.runs.list("reports", name="publish")[0]
        assert publish.trigger == "dependency"
    finally:
        scheduler.close()


def test_catch_up_once_runs_a_missed_job_once(project):
    store = _builtin(project)
    scheduler = Scheduler(store, project.config, clock=Clock(START))
    try:
        scheduler.run_pending(START + timedelta(minutes=50))
        # Down for five hours: five hourly runs were missed; one catch-up run is made.
        scheduler.run_pending(START + timedelta(hours=5, minutes=40))
        runs = store.runs.list("reports", name="hourly")
        assert [r.scheduled_for[11:16] for r in runs] == ["10:00", "06:00"]
        assert _ran(project).count("hourly") == 2
    finally:
        scheduler.close()


def test_catch_up_skip_records_the_missed_run_without_running_it(project):
    store = _builtin(project)
    text = project.config_path.read_text().replace("scheduler: builtin",
                                                  "scheduler: builtin\n        catch_up: skip")
    project.config_path.write_text(text)
    scheduler = Scheduler(store, project.config, clock=Clock(START))
    try:
        scheduler.run_pending(START + timedelta(hours=3))
        [skipped] = store.runs.list("reports", name="hourly")
        assert skipped.status == "skipped" and skipped.scheduled_for[11:16] == "08:00"
        assert _ran(project) == []
        scheduler.run_pending(datetime(2026, 11, 26, 9, 0, 30, tzinfo=UTC))  # on time
        assert _ran(project) == ["hourly"]
    finally:
        scheduler.close()


def test_never_two_runs_of_one_job_at_once(project):
    store = _builtin(project)
    (project.root / "srv" / "reports" / "slow").write_text("1.5")
    scheduler = Scheduler(store, project.config, clock=Clock(START), owner="a")
    try:
        futures = scheduler.run_pending(START + timedelta(minutes=50), wait=False)
        assert len(futures) == 1
        wait_for(lambda: store.runs.list("reports", name="hourly"))
        again = scheduler.run_pending(START + timedelta(hours=1, minutes=50), wait=False)
        assert again == []  # this scheduler knows the job is still running
        # Anyone else (another scheduler, a person) is refused by the database itself.
        other = CliRunner().invoke(cli, ["-c", str(project.config_path), "run", "reports",
                                         "production", "hourly"])
        assert other.exit_code == 1 and "already running" in other.output
        futures[0].result()
        runs = store.runs.list("reports", name="hourly")
        assert len(runs) == 1 and runs[0].status == "succeeded"
    finally:
        scheduler.close()



def test_a_job_that_times_out_is_recorded_and_killed(project):
    store = _builtin(project)
    (project.root / "srv" / "reports" / "slow").write_text("120")
    text = project.config_path.read_text().replace("timeout: 30", "timeout: 1")
    project.config_path.write_text(text)
    result = CliRunner().invoke(cli, ["-c", str(project.config_path), "run", "reports",
                                      "production", "hourly", "--json"])
    assert result.exit_code == 1
    run = json.loads(result.stdout)
    assert run["status"] == "timed_out" and "timed out" in run["error"]
    assert store.runs.get(run["id"]).status == "timed_out"


def test_jobs_lists_last_and_next_runs(project):
    store = _builtin(project)
    scheduler = Scheduler(store, project.config, clock=Clock(START))
    try:
        scheduler.run_pending(START + timedelta(minutes=55))
    finally:
        scheduler.close()
    result = CliRunner().invoke(cli, ["-c", str(project.config_path), "jobs", "reports",
                                      "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["job"]: row for row in json.loads(result.stdout)}
    assert rows["hourly"]["last_status"] == "succeeded"
    assert rows["hourly"]["next_run"].endswith(":00:00.000000Z")
    assert rows["publish"]["schedule"] is None and rows["publish"]["depends_on"] == ["nightly"]
    assert rows["nightly"]["last_run"] is None
    table = CliRunner().invoke(cli, ["-c", str(project.config_path), "jobs"],
                               env={"COLUMNS": "200"})
    assert "after nightly" in table.output


def test_run_forever_stops_when_asked(project):
    store = _builtin(project)
    scheduler = Scheduler(store, project.config)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run_forever, args=(stop, 0.05))
    thread.start()
    stop.set()
    thread.join(10)
    assert not thread.is_alive()




def test_failed_systemctl_puts_back_the_previous_units(project, monkeypatch):
    calls = _recording_systemctl(project.root, monkeypatch)
    project.configure(CONFIG.replace("SCHEDULER", "systemd"))
    project.commit({"job.py": JOB})
    first = project.deploy("reports")
    assert first.status == "succeeded"
    units = project.root / "units"
    before = {p.name: p.read_text() for p in units.iterdir()}
    # The next `enable` fails (say a unit systemd refuses); everything goes back.
    failing = project.root / "systemctl"
    failing.write_text(f"#!/bin/sh\necho \"$*\" >> {calls}\n"
                       f"[ \"$1\" = enable ] && [ ! -e {project.root}/failed-once ] && "
                       f"touch {project.root}/failed-once && exit 1\nexit 0\n")
    project.config_path.write_text(project.config_path.read_text().replace(
        '"30 2 * * mon-fri"', '"45 4 * * *"'))
    project.commit({"job.py": JOB + "\n# v2\n"})
    second = project.deploy("reports")
    assert second.status == "rolled_back", second.error
    assert step(second, "schedule").compensation_status == "compensated"
    assert {p.name: p.read_text() for p in units.iterdir()} == before
    assert project.store().releases.active("reports", "production").release_id == first.release


def test_a_manual_run_follows_depends_on_like_the_scheduler(project):
    store = _builtin(project)
    result = CliRunner().invoke(cli, ["-c", str(project.config_path), "run", "reports",
                                      "production", "nightly"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert _ran(project) == ["nightly", "publish"]
    publish = store.runs.list("reports", name="publish")[0]
    assert publish.trigger == "dependency" and publish.status == "succeeded"
    assert "publish" in result.stdout  # its row is printed with nightly's
