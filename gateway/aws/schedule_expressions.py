"""EventBridge schedule expressions, evaluated as EventBridge evaluates them (UTC).

    schedule = parse_schedule("cron(0 10 ? * MON-FRI *)")
    schedule.next_after(datetime(2026, 1, 2, 9, 59, tzinfo=UTC))   # 2026-01-02 10:00 (a Friday)
    parse_schedule("rate(5 minutes)").next_after(now, started=up_started)

Sources, one rule each (AWS's EventBridge user guide):

- rate: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html
  ``rate(value unit)``; value a positive number; unit ``minute|minutes|hour|hours|day|days``,
  singular for 1 and plural above ("rate(1 hours) and rate(5 hour) aren't valid"). "A rate
  expression starts when you create the scheduled event rule": here, when ``up`` starts.
- cron: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
  six required fields ``Minutes Hours Day-of-month Month Day-of-week Year``; values 0-59,
  0-23, 1-31, 1-12 or JAN-DEC, 1-7 or SUN-SAT (1 is Sunday), 1970-2199; wildcards
  ``, - * /`` everywhere, ``? L W`` in Day-of-month, ``? L #`` in Day-of-week; ``1/10`` is
  "every tenth minute, starting from the first"; ``L`` is the last day of the month or week;
  ``3W`` the weekday closest to the third; ``3#2`` the second Tuesday; with ``#`` only one
  expression in Day-of-week; Day-of-month and Day-of-week cannot both be given: one of them
  must be ``?``. Cron expressions are in UTC (the same page's examples, "UTC+0").

Where the guide is silent, the Quartz semantics its syntax comes from decide: ``nW`` never
leaves its month, ``5L`` in Day-of-week is the month's last Thursday, a range may wrap
(``FRI-MON``), and ``L`` alone in Day-of-week is Saturday (the week's last day).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTHS = {m: n for n, m in enumerate(_MONTH_NAMES, 1)}
DAYS = {d: n for n, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")


class ScheduleError(ValueError):
    """An expression EventBridge would refuse; the message says which part and why."""


@dataclass(frozen=True)
class Rate:
    seconds: int
    expression: str

    def next_after(self, now: datetime, started: datetime | None = None) -> datetime:
        """The first run after ``now``: ``started`` + a whole number of periods (the first one
        period after it: the rule's creation is not a run)."""
        origin = started or now
        periods = max(1, int((now - origin).total_seconds() // self.seconds) + 1)
        return origin + timedelta(seconds=periods * self.seconds)


@dataclass(frozen=True)
class DayOfMonth:
    values: frozenset[int] = frozenset()
    last: bool = False
    last_weekday: bool = False
    nearest_weekday: frozenset[int] = frozenset()
    """``nW``: the weekday closest to day n, in the same month."""

    def matches(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        if day.day in self.values or (self.last and day.day == last):
            return True
        if self.last_weekday and day.day == _nearest_weekday(day, last, last):
            return True
        return any(n <= last and day.day == _nearest_weekday(day, n, last) for n in self.nearest_weekday)


@dataclass(frozen=True)
class DayOfWeek:
    values: frozenset[int] = frozenset()
    """1 (Sunday) to 7 (Saturday)."""
    last_of_month: frozenset[int] = frozenset()
    """``nL``: the month's last such weekday."""
    nth: tuple[int, int] | None = None
    """``d#n``: the month's n-th weekday d."""

    def matches(self, day: date) -> bool:
        weekday = aws_weekday(day)
        if weekday in self.values:
            return True
        last = calendar.monthrange(day.year, day.month)[1]
        if weekday in self.last_of_month and day.day + 7 > last:
            return True
        return self.nth is not None and self.nth == (weekday, (day.day - 1) // 7 + 1)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: DayOfMonth | None
    """None: ``?`` (Day-of-week decides)."""
    months: frozenset[int]
    day_of_week: DayOfWeek | None
    """None: ``?`` (Day-of-month decides)."""
    years: frozenset[int]
    expression: str

    def matches_day(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.day_of_month is not None:
            return self.day_of_month.matches(day)
        assert self.day_of_week is not None
        return self.day_of_week.matches(day)

    def next_after(self, now: datetime, started: datetime | None = None) -> datetime | None:
        """The first run strictly after ``now`` (None: there is none before 2200)."""
        now = now.astimezone(UTC)
        start = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        while day.year <= 2199:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
                continue
            if self.matches_day(day):
                for hour in hours:
                    for minute in minutes:
                        at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if at >= start:
                            return at
            day += timedelta(days=1)
        return None


Schedule = Rate | Cron


def aws_weekday(day: date) -> int:
    """1 (Sunday) to 7 (Saturday), as cron's Day-of-week counts."""
    return (day.weekday() + 1) % 7 + 1


def _nearest_weekday(day: date, n: int, last: int) -> int:
    """The weekday (Monday-Friday) closest to day ``n`` of ``day``'s month, never leaving it."""
    weekday = date(day.year, day.month, n).weekday()
    if weekday == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return n - 1 if n > 1 else n + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before on the last day
        return n + 1 if n < last else n - 2
    return n


def parse_schedule(expression: str) -> Schedule:
    """A ``rate(...)`` or ``cron(...)`` expression; :class:`ScheduleError` says what is wrong."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        return _rate(int(rate.group(1)), rate.group(2), text)
    if text.startswith("rate("):
        raise ScheduleError(f"'{text}': a rate is rate(VALUE UNIT), e.g. rate(5 minutes)")
    cron = _CRON.match(text)
    if cron is None:
        raise ScheduleError(f"'{text}': a schedule is rate(...) or cron(...), e.g. cron(0 10 * * ? *)")
    return _cron(cron.group(1).split(), text)


def _rate(value: int, unit: str, text: str) -> Rate:
    base = unit[:-1] if unit.endswith("s") else unit
    if base not in _UNITS:
        raise ScheduleError(f"'{text}': the unit is one of minute, minutes, hour, hours, day, days")
    if value < 1:
        raise ScheduleError(f"'{text}': the value must be a positive number")
    if value == 1 and unit != base:
        raise ScheduleError(f"'{text}': with 1 the unit is singular: rate(1 {base})")
    if value > 1 and unit == base:
        raise ScheduleError(f"'{text}': above 1 the unit is plural: rate({value} {base}s)")
    return Rate(value * _UNITS[base], text)


def _cron(fields: list[str], text: str) -> Cron:
    if len(fields) != 6:
        raise ScheduleError(
            f"'{text}': cron has six fields (Minutes Hours Day-of-month Month Day-of-week Year), "
            f"{len(fields)} given"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(
            f"'{text}': one of Day-of-month and Day-of-week must be ? and the other not "
            "(e.g. cron(0 10 * * ? *) or cron(0 10 ? * MON *))"
        )
    return Cron(
        minutes=_values(minute, 0, 59, "Minutes", text),
        hours=_values(hour, 0, 23, "Hours", text),
        day_of_month=None if dom == "?" else _day_of_month(dom, text),
        months=_values(month, 1, 12, "Month", text, MONTHS),
        day_of_week=None if dow == "?" else _day_of_week(dow, text),
        years=_values(year, 1970, 2199, "Year", text),
        expression=text,
    )


def _values(
    field: str, lo: int, hi: int, name: str, text: str, names: dict[str, int] | None = None
) -> frozenset[int]:
    found: set[int] = set()
    for item in field.split(","):
        found |= _item(item, lo, hi, name, text, names)
    return frozenset(found)


def _item(item: str, lo: int, hi: int, name: str, text: str, names: dict[str, int] | None) -> set[int]:
    """``*``, ``n``, ``a-b`` (wrapping when a > b), any of them ``/step``."""
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) < 1:
            raise ScheduleError(f"'{text}': {name} '{item}': the step after / must be a positive number")
        step = int(step_text)
    if base == "*":
        first, last = lo, hi
    elif "-" in base:
        a, _, b = base.partition("-")
        first, last = _number(a, lo, hi, name, text, names), _number(b, lo, hi, name, text, names)
    else:
        first = _number(base, lo, hi, name, text, names)
        last = hi if slash else first  # 1/10: from 1 to the end
    span = list(range(first, last + 1)) if first <= last else [*range(first, hi + 1), *range(lo, last + 1)]
    return set(span[::step])


def _number(token: str, lo: int, hi: int, name: str, text: str, names: dict[str, int] | None) -> int:
    upper = token.upper()
    if names and upper in names:
        return names[upper]
    if not token.isdigit() or not lo <= int(token) <= hi:
        named = (
            f" or {min(names, key=names.__getitem__)}-{max(names, key=names.__getitem__)}" if names else ""
        )
        raise ScheduleError(f"'{text}': {name} '{token}' is not {lo}-{hi}{named}")
    return int(token)


def _day_of_month(field: str, text: str) -> DayOfMonth:
    values: set[int] = set()
    last = last_weekday = False
    nearest: set[int] = set()
    for item in field.split(","):
        upper = item.upper()
        if upper == "L":
            last = True
        elif upper == "LW":
            last_weekday = True
        elif upper.endswith("W"):
            nearest.add(_number(upper[:-1], 1, 31, "Day-of-month", text, None))
        else:
            values |= _item(item, 1, 31, "Day-of-month", text, None)
    return DayOfMonth(frozenset(values), last, last_weekday, frozenset(nearest))


def _day_of_week(field: str, text: str) -> DayOfWeek:
    if "#" in field:
        if "," in field:
            raise ScheduleError(f"'{text}': with # Day-of-week holds one expression only (e.g. 3#2)")
        day, _, nth = field.partition("#")
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise ScheduleError(f"'{text}': Day-of-week '{field}': after # comes 1-5 (the n-th such day)")
        return DayOfWeek(nth=(_number(day, 1, 7, "Day-of-week", text, DAYS), int(nth)))
    values: set[int] = set()
    last: set[int] = set()
    for item in field.split(","):
        upper = item.upper()
        if upper == "L":
            values.add(7)  # the week's last day
        elif upper.endswith("L"):
            last.add(_number(upper[:-1], 1, 7, "Day-of-week", text, DAYS))
        else:
            if "/" in item:
                raise ScheduleError(f"'{text}': Day-of-week takes , - * ? L # (not /)")
            values |= _item(item, 1, 7, "Day-of-week", text, DAYS)
    return DayOfWeek(frozenset(values), frozenset(last))


def iso(moment: datetime) -> str:
    """``2026-01-02T10:00:00Z``, as EventBridge writes an event's ``time``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
