"""Five-field cron expressions: parse, find the next run, and say the same thing to systemd.

One parser serves validation, the builtin scheduler and the systemd `OnCalendar=` conversion,
so the three can never disagree about what a schedule means. Schedules are read in UTC.

Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec),
day of week (0-7 or sun-sat; 0 and 7 are Sunday). Each field is `*`, a number, a name,
a range `a-b`, a step `*/n`, `a-b/n` or `a/n`, or a comma list of those.
As in every cron, when neither day field starts with `*`, a day matches if EITHER matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_SYSTEMD_DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
_FIELDS = (  # name, low, high, names (index 0 = value `low` unless offset below)
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
# Far enough to reach the rarest valid date (Feb 29 on a given weekday recurs within 28 years).
_SEARCH_DAYS = 366 * 29


class CronError(ValueError):
    """The expression is not valid five-field cron; the message says which field and why."""


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday ... 6 = Saturday
    # Like every cron since Vixie's: only when neither day field starts with `*` does a day
    # match if EITHER matches; otherwise both must.
    either_day: bool

    def matches_day(self, moment: datetime) -> bool:
        if moment.month not in self.months:
            return False
        in_days = moment.day in self.days
        in_weekdays = (moment.isoweekday() % 7) in self.weekdays
        if self.either_day:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def next_after(self, moment: datetime) -> datetime:
        """The first scheduled minute strictly after `moment` (UTC)."""
        moment = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = moment.replace(hour=0, minute=0)
        for _ in range(_SEARCH_DAYS):
            if self.matches_day(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= moment:
                            return candidate
            day += timedelta(days=1)
        raise CronError(f"{self.expression!r} never runs")

    def on_calendar(self) -> list[str]:
        """systemd `OnCalendar=` values meaning the same as this schedule (in UTC).

        systemd requires day-of-month AND weekday to match, cron either: when both are
        restricted, one value per day field covers the cron meaning.
        """
        time_part = f"{_join(self.hours, 24)}:{_join(self.minutes, 60)}:00"
        months = "*" if len(self.months) == 12 else _join(self.months, 13)
        days = "*" if len(self.days) == 31 else _join(self.days, 32)
        weekdays = ",".join(_SYSTEMD_DAYS[d] for d in sorted(self.weekdays))
        if self.either_day:
            return [f"*-{months}-{days} {time_part} UTC",
                    f"{weekdays} *-{months}-* {time_part} UTC"]
        prefix = f"{weekdays} " if len(self.weekdays) < 7 else ""
        return [f"{prefix}*-{months}-{days} {time_part} UTC"]


def _join(values: frozenset[int], span: int) -> str:
    return ",".join(f"{v:02d}" if span > 13 else str(v) for v in sorted(values))


def parse_cron(expression: str) -> CronSchedule:
    parts = expression.split()
    if len(parts) != 5:
        raise CronError(f"expected 5 fields (minute hour day month weekday), got {len(parts)}")
    sets = []
    for text, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
        sets.append(_parse_field(text.lower(), name, low, high, names))
    weekdays = frozenset(d % 7 for d in sets[4])
    return CronSchedule(
        expression=expression, minutes=sets[0], hours=sets[1], days=sets[2], months=sets[3],
        weekdays=weekdays,
        either_day=not parts[2].startswith("*") and not parts[4].startswith("*"),
    )


def _parse_field(text: str, name: str, low: int, high: int,
                 names: list[str] | None) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{name}: empty list item in {text!r}")
        span, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name}: step must be a positive number, got {step_text!r}")
            step = int(step_text)
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _value(a, name, low, high, names), _value(b, name, low, high, names)
            if first > last:
                raise CronError(f"{name}: range {span!r} runs backwards")
        else:
            first = _value(span, name, low, high, names)
            last = high if slash else first  # `5/15` means from 5 to the end, every 15
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _value(text: str, name: str, low: int, high: int, names: list[str] | None) -> int:
    if names and text in names:
        return names.index(text) + (1 if name == "month" else 0)
    if not text.isdigit():
        hint = f" or a name ({', '.join(names)})" if names else ""
        raise CronError(f"{name}: {text!r} is not a number{hint}")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name}: {value} is out of range {low}-{high}")
    return value
