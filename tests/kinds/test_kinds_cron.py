"""Five-field cron: parsing, next runs, and the OnCalendar= conversion checked against
systemd's own calendar parser."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from fraisier.cli.main import cli
from fraisier.domain.cron import CronError, parse_cron
from tests.support.services import require_binary

BASE = datetime(2026, 11, 26, 5, 7, tzinfo=UTC)  # a Thursday


def _next(expression: str, count: int, start: datetime = BASE) -> list[datetime]:
    schedule, found, moment = parse_cron(expression), [], start
    for _ in range(count):
        moment = schedule.next_after(moment)
        found.append(moment)
    return found


def test_steps_ranges_lists_and_names():
    assert [t.minute for t in _next("*/20 * * * *", 4)] == [20, 40, 0, 20]
    assert _next("30 2 * * mon-fri", 2) == [datetime(2026, 11, 27, 2, 30, tzinfo=UTC),
                                           datetime(2026, 11, 30, 2, 30, tzinfo=UTC)]
    assert _next("0 9 1 jan,jul *", 2) == [datetime(2027, 1, 1, 9, 0, tzinfo=UTC),
                                          datetime(2027, 7, 1, 9, 0, tzinfo=UTC)]
    assert [t.hour for t in _next("0 1-7/3 * * *", 3)] == [7, 1, 4]
    assert _next("0 0 * * 7", 1) == _next("0 0 * * sun", 1) == _next("0 0 * * 0", 1)


def test_day_of_month_or_day_of_week_like_every_cron():
    # Both restricted: the 1st of the month OR any Sunday.
    runs = _next("0 12 1 * sun", 3)
    assert [(t.day, t.strftime("%a")) for t in runs] == [(29, "Sun"), (1, "Tue"), (6, "Sun")]
    # A day field starting with `*` keeps the AND meaning: odd days that are Mondays.
    assert all(t.day % 2 == 1 and t.weekday() == 0 for t in _next("0 0 */2 * mon", 4))


@pytest.mark.parametrize("expression, message", [
    ("* * * *", "expected 5 fields"),
    ("60 * * * *", "minute: 60 is out of range 0-59"),
    ("* * * foo *", "month: 'foo' is not a number or a name"),
    ("*/0 * * * *", "step must be a positive number"),
    ("5-1 * * * *", "runs backwards"),
    ("1,,2 * * * *", "empty list item"),
    ("0 0 31 feb *", "never runs"),
])
def test_invalid_expressions_say_why(expression, message):
    with pytest.raises(CronError, match=re.escape(message)):
        _next(expression, 1)


@pytest.mark.parametrize("expression", [
    "*/15 * * * *", "30 2 * * mon-fri", "0 0 1,15 * sun", "5/20 1-5/2 * jan,jul *",
    "0 0 29 feb *", "0 12 * * 6,0", "45 23 31 * *", "0 */6 */2 * *",
])
def test_on_calendar_means_the_same_to_systemd(expression):
    require_binary("systemd-analyze")
    schedule = parse_cron(expression)
    count = 6
    systemd: set[datetime] = set()
    for spec in schedule.on_calendar():
        done = subprocess.run(
            ["systemd-analyze", "calendar", f"--iterations={count}",
             "--base-time=" + BASE.strftime("%Y-%m-%d %H:%M:%S UTC"), spec],
            capture_output=True, text=True, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
            check=True)
        for stamp in re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ ([\d-]+ [\d:]+) UTC",
                                done.stdout):
            systemd.add(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC))
    assert sorted(systemd)[:count] == _next(expression, count)


def test_validate_names_the_job_of_a_bad_schedule(tmp_path):
    config = tmp_path / "fraises.yaml"
    config.write_text(f"""
fraises:
  reports:
    type: scheduled
    repository: {tmp_path}
    jobs:
      nightly:
        schedule: "0 25 * * *"
        command: [echo, hi]
      after:
        depends_on: [nightly, missing]
        command: [echo, after]
    environments:
      production:
        branch: main
        app_path: {tmp_path}/srv
""")
    result = CliRunner().invoke(cli, ["-c", str(config), "validate"])
    assert result.exit_code == 1
    assert "fraises.reports.jobs.nightly.schedule: " in result.output
    assert "hour: 25 is out of range 0-23" in result.output
    # Cross-references are checked once every section is well-formed.
    config.write_text(config.read_text().replace("0 25 * * *", "0 23 * * *"))
    result = CliRunner().invoke(cli, ["-c", str(config), "validate"])
    assert result.exit_code == 1
    assert "fraises.reports.jobs.after.depends_on.1: unknown job 'missing'" in result.output
