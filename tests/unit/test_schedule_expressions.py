"""Schedules run when EventBridge would run them: next-fire times of rate and cron expressions (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.aws.schedule_expressions import ScheduleError, parse_schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (expression, now, the next run) -- 2026-01-01 is a Thursday
NEXT = [
    ("cron(0 10 * * ? *)", "2026-01-01T09:59:30", "2026-01-01T10:00"),  # AWS's example: 10:00 daily
    ("cron(0 10 * * ? *)", "2026-01-01T10:00:00", "2026-01-02T10:00"),  # strictly after now
    ("cron(15 12 * * ? *)", "2026-01-01T13:00", "2026-01-02T12:15"),
    ("cron(0 18 ? * MON-FRI *)", "2026-01-02T18:00", "2026-01-05T18:00"),  # Friday -> Monday
    ("cron(0 8 1 * ? *)", "2026-01-15T00:00", "2026-02-01T08:00"),
    ("cron(0/15 * * * ? *)", "2026-01-01T10:07", "2026-01-01T10:15"),
    ("cron(1/10 * * * ? *)", "2026-01-01T10:12", "2026-01-01T10:21"),  # 1, 11, 21... (the guide)
    ("cron(5-30/10 * * * ? *)", "2026-01-01T10:16", "2026-01-01T10:25"),
    ("cron(0 0 L * ? *)", "2026-02-10T00:00", "2026-02-28T00:00"),  # the month's last day
    ("cron(0 0 L * ? *)", "2028-02-10T00:00", "2028-02-29T00:00"),  # a leap year
    ("cron(0 9 LW * ? *)", "2026-01-01T00:00", "2026-01-30T09:00"),  # 31st is a Saturday
    ("cron(0 9 1W * ? *)", "2026-01-15T00:00", "2026-02-02T09:00"),  # Feb 1 is a Sunday
    ("cron(0 9 1W * ? *)", "2026-07-15T00:00", "2026-08-03T09:00"),  # Aug 1 Saturday: not July 31
    ("cron(0 9 15W * ? *)", "2026-03-01T00:00", "2026-03-16T09:00"),  # 15th Sunday -> Monday
    ("cron(0 9 31W * ? *)", "2026-01-01T00:00", "2026-01-30T09:00"),  # the last day a Saturday
    ("cron(0 12 ? * 3#2 *)", "2026-01-01T00:00", "2026-01-13T12:00"),  # the second Tuesday
    ("cron(0 12 ? * 6L *)", "2026-01-01T00:00", "2026-01-30T12:00"),  # the last Friday
    ("cron(0 12 ? * L *)", "2026-01-01T00:00", "2026-01-03T12:00"),  # L alone: Saturday
    ("cron(0 0 1 JAN,JUL ? *)", "2026-02-01T00:00", "2026-07-01T00:00"),
    ("cron(0 0 ? * SUN 2027)", "2026-06-01T00:00", "2027-01-03T00:00"),
    ("cron(0 22-2 * * ? *)", "2026-01-01T02:30", "2026-01-01T22:00"),  # a range that wraps
    ("cron(0 0 ? * FRI-MON *)", "2026-01-06T00:00", "2026-01-09T00:00"),
    ("cron(0 0 31 * ? *)", "2026-02-01T00:00", "2026-03-31T00:00"),  # months without a 31st skipped
    ("cron(0 0 ? * mon *)", "2026-01-01T00:00", "2026-01-05T00:00"),  # names in any case
]


@pytest.mark.parametrize(("expression", "now", "expected"), NEXT)
def test_next_cron_run(expression: str, now: str, expected: str) -> None:
    assert parse_schedule(expression).next_after(at(now)) == at(expected)


def test_a_cron_whose_years_are_over_never_runs_again() -> None:
    schedule = parse_schedule("cron(30 23 31 12 ? 2026)")
    assert schedule.next_after(at("2027-01-01T00:00")) is None


@pytest.mark.parametrize(
    ("expression", "now", "expected"),
    [
        ("rate(5 minutes)", "2026-01-01T10:00:00", "2026-01-01T10:05:00"),  # first: a period after start
        ("rate(5 minutes)", "2026-01-01T10:07:30", "2026-01-01T10:10:00"),
        ("rate(1 minute)", "2026-01-01T10:01:00", "2026-01-01T10:02:00"),
        ("rate(2 hours)", "2026-01-01T10:00:00", "2026-01-01T12:00:00"),
        ("rate(1 day)", "2026-01-01T10:00:00", "2026-01-02T10:00:00"),
    ],
)
def test_a_rate_counts_from_when_up_started(expression: str, now: str, expected: str) -> None:
    started = at("2026-01-01T10:00:00")
    assert parse_schedule(expression).next_after(at(now), started=started) == at(expected)


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("rate(1 hours)", "singular"),
        ("rate(5 hour)", "plural"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 weeks)", "minute, minutes"),
        ("cron(0 10 * * * *)", "must be ?"),
        ("cron(0 10 ? * ? *)", "must be ?"),
        ("cron(0 10 * * ?)", "six fields"),
        ("cron(60 10 * * ? *)", "Minutes '60' is not 0-59"),
        ("cron(0 10 ? * 3#1,6#3 *)", "one expression"),
        ("cron(0 10 ? * MON/2 *)", "not /"),
        ("cron(0 10 * FOO ? *)", "Month 'FOO'"),
        ("cron(0 10 * * ? 2300)", "Year '2300'"),
        ("every 5 minutes", "rate(...) or cron(...)"),
    ],
)
def test_expressions_eventbridge_refuses_are_refused_with_why(expression: str, says: str) -> None:
    with pytest.raises(ScheduleError, match=None) as caught:
        parse_schedule(expression)
    assert says in str(caught.value)
