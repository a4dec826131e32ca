"""CronSchedule: Quartz expressions parse eagerly and yield the right next fire times."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cosalette import CronSchedule

# 2024-01-01 is a Monday.
MONDAY_NOON = datetime(2024, 1, 1, 12, 0, 0)


def fires(expression: str, after: datetime, count: int = 3) -> list[datetime]:
    schedule = CronSchedule(expression)
    out: list[datetime] = []
    for _ in range(count):
        after = schedule.next_fire_after(after)
        out.append(after)
    return out


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 0 6 * * ?", [(1, 2, 6, 0), (1, 3, 6, 0), (1, 4, 6, 0)]),
        ("0 0 6,18 * * ?", [(1, 1, 18, 0), (1, 2, 6, 0), (1, 2, 18, 0)]),
        ("0 30 * * * ?", [(1, 1, 12, 30), (1, 1, 13, 30), (1, 1, 14, 30)]),
        ("0 0 0 1 * ?", [(2, 1, 0, 0), (3, 1, 0, 0), (4, 1, 0, 0)]),
        ("0 0 8 ? * MON-FRI", [(1, 2, 8, 0), (1, 3, 8, 0), (1, 4, 8, 0)]),
        ("0 30 10-13 ? * WED,FRI", [(1, 3, 10, 30), (1, 3, 11, 30), (1, 3, 12, 30)]),
    ],
)
def test_documented_examples(expression: str, expected: list[tuple[int, int, int, int]]) -> None:
    assert fires(expression, MONDAY_NOON) == [
        datetime(2024, mo, d, h, mi) for mo, d, h, mi in expected
    ]


def test_weekdays_skip_the_weekend() -> None:
    friday_evening = datetime(2024, 1, 5, 9, 0)
    assert fires("0 0 8 ? * MON-FRI", friday_evening, 1) == [datetime(2024, 1, 8, 8, 0)]


def test_result_is_strictly_after() -> None:
    schedule = CronSchedule("0 0 6 * * ?")
    exactly = datetime(2024, 1, 1, 6, 0, 0)
    assert schedule.next_fire_after(exactly) == datetime(2024, 1, 2, 6, 0)
    assert schedule.next_fire_after(exactly.replace(microsecond=500)) == datetime(2024, 1, 2, 6)
    assert schedule.next_fire_after(exactly - timedelta(microseconds=1)) == exactly


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("*/15 * * * * ?", ["12:00:15", "12:00:30", "12:00:45", "12:01:00"]),
        ("5/20 * * * * ?", ["12:00:05", "12:00:25", "12:00:45", "12:01:05"]),
        ("0 10-30/10 * * * ?", ["12:10:00", "12:20:00", "12:30:00", "13:10:00"]),
        ("0 0 */6 * * ?", ["18:00:00", "00:00:00", "06:00:00", "12:00:00"]),
        ("0 0 22-23,0-1 * * ?", ["22:00:00", "23:00:00", "00:00:00", "01:00:00"]),
        ("0 0 9-17/4 * * ?", ["13:00:00", "17:00:00", "09:00:00", "13:00:00"]),
    ],
)
def test_steps_and_ranges(expression: str, expected: list[str]) -> None:
    got = [t.strftime("%H:%M:%S") for t in fires(expression, MONDAY_NOON, 4)]
    assert got == expected


def test_month_and_day_names_are_case_insensitive() -> None:
    assert fires("0 0 0 1 jan,Jul ?", MONDAY_NOON, 2) == [
        datetime(2024, 7, 1),
        datetime(2025, 1, 1),
    ]
    assert CronSchedule("0 0 8 ? * mon").next_fire_after(MONDAY_NOON) == datetime(2024, 1, 8, 8)


def test_numeric_day_of_week_is_quartz_numbering() -> None:
    # Quartz: 1 = Sunday, 7 = Saturday.
    assert fires("0 0 0 ? * 1", MONDAY_NOON, 1) == [datetime(2024, 1, 7)]
    assert fires("0 0 0 ? * 7", MONDAY_NOON, 1) == [datetime(2024, 1, 6)]


def test_last_day_of_month_handles_leap_years() -> None:
    assert fires("0 0 0 L * ?", MONDAY_NOON, 3) == [
        datetime(2024, 1, 31),
        datetime(2024, 2, 29),
        datetime(2024, 3, 31),
    ]
    assert fires("0 0 0 L 2 ?", datetime(2024, 3, 1), 1) == [datetime(2025, 2, 28)]
    assert fires("0 0 0 L-1 * ?", MONDAY_NOON, 1) == [datetime(2024, 1, 30)]


def test_quartz_weekday_specials() -> None:
    assert fires("0 0 0 ? * 6L", MONDAY_NOON, 2) == [datetime(2024, 1, 26), datetime(2024, 2, 23)]
    assert fires("0 0 0 ? * MON#2", MONDAY_NOON, 2) == [datetime(2024, 1, 8), datetime(2024, 2, 12)]
    # 2024-06-15 is a Saturday: the nearest weekday is Friday the 14th.
    assert fires("0 0 0 15W 6 ?", MONDAY_NOON, 1) == [datetime(2024, 6, 14)]
    # 2024-08-31 is a Saturday: the last weekday is Friday the 30th.
    assert fires("0 0 0 LW 8 ?", MONDAY_NOON, 1) == [datetime(2024, 8, 30)]


def test_years_field() -> None:
    assert fires("0 0 0 1 1 ? 2096,2097", MONDAY_NOON, 2) == [
        datetime(2096, 1, 1),
        datetime(2097, 1, 1),
    ]
    # Beyond the last listed year there is nothing left: next_fire_after says so.
    with pytest.raises(ValueError, match="No matching fire time found after 2096-06-01"):
        CronSchedule("0 0 0 1 1 ? 2096").next_fire_after(datetime(2096, 6, 1))
    # A far year is a real answer, not an error (no four-year scan limit).
    assert CronSchedule("0 0 0 1 1 ? 2090").next_fire_after(MONDAY_NOON) == datetime(2090, 1, 1)


def test_february_29th_fires_every_leap_year() -> None:
    assert fires("0 0 0 29 2 ?", datetime(2024, 3, 1), 2) == [
        datetime(2028, 2, 29),
        datetime(2032, 2, 29),
    ]


@pytest.mark.parametrize("days", ["* *", "? ?", "* ?", "? *", "* MON-FRI"])
def test_unrestricted_day_fields_mean_every_day(days: str) -> None:
    assert fires(f"0 0 6 {days.split()[0]} * {days.split()[1]}", MONDAY_NOON, 2) == [
        datetime(2024, 1, 2, 6),
        datetime(2024, 1, 3, 6),
    ]


def test_question_mark_outside_the_day_fields_means_every_value() -> None:
    assert CronSchedule("0 0 ? * * ?").next_fire_after(MONDAY_NOON) == datetime(2024, 1, 1, 13)


def test_timezone_is_preserved() -> None:
    plus2 = timezone(timedelta(hours=2))
    result = CronSchedule("0 0 6 * * ?").next_fire_after(datetime(2024, 1, 1, 7, tzinfo=plus2))
    assert result == datetime(2024, 1, 2, 6, tzinfo=plus2)
    assert result.tzinfo is plus2


def test_dst_fall_back_does_not_go_backwards() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2024-10-27 02:00-03:00 happens twice; start inside the second pass (fold=1).
    second_pass = datetime(2024, 10, 27, 2, 20, tzinfo=berlin, fold=1)
    result = CronSchedule("0 30 * * * ?").next_fire_after(second_pass)
    assert result.tzinfo is berlin
    assert result.astimezone(UTC) > second_pass.astimezone(UTC)
    assert result.astimezone(UTC) == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)


# Independent predicates to check many consecutive fire times against a brute-force scan.
REFERENCE: list[tuple[str, Callable[[datetime], bool]]] = [
    (
        "0 30 10-13 ? * WED,FRI",
        lambda t: t.minute == 30 and 10 <= t.hour <= 13 and t.weekday() in (2, 4),
    ),
    (
        "0 */20 8-9 ? * SUN,SAT",
        lambda t: t.minute % 20 == 0 and t.hour in (8, 9) and t.weekday() >= 5,
    ),
    (
        "0 0 0 L * ?",
        lambda t: t.hour == t.minute == 0 and t.day == calendar.monthrange(t.year, t.month)[1],
    ),
    ("0 15 6 1,15 * ?", lambda t: (t.hour, t.minute) == (6, 15) and t.day in (1, 15)),
    (
        "0 45 23 ? FEB-MAR 2#1",
        lambda t: (
            (t.hour, t.minute) == (23, 45) and t.month in (2, 3) and t.weekday() == 0 and t.day <= 7
        ),
    ),
]


@pytest.mark.parametrize(("expression", "matches"), REFERENCE, ids=[e for e, _ in REFERENCE])
def test_agrees_with_brute_force_scan(expression: str, matches: Callable[[datetime], bool]) -> None:
    schedule = CronSchedule(expression)
    t = datetime(2024, 1, 20, 7, 13)
    end = datetime(2024, 4, 1)
    expected = []
    minute = t.replace(second=0) + timedelta(minutes=1)
    while minute < end:
        if matches(minute):
            expected.append(minute)
        minute += timedelta(minutes=1)
    got = []
    while True:
        t = schedule.next_fire_after(t)
        if t >= end:
            break
        got.append(t)
    assert got == expected and got


@pytest.mark.parametrize(
    ("expression", "field"),
    [
        ("0 0 6 * *", "6 or 7 fields"),
        ("0 0 6 * * ? 2024 x", "6 or 7 fields"),
        ("60 0 6 * * ?", "second"),
        ("0 60 6 * * ?", "minute"),
        ("0 0 24 * * ?", "hour"),
        ("0 0 6 32 * ?", "day-of-month"),
        ("0 0 6 0 * ?", "day-of-month"),
        ("0 0 6 * 13 ?", "month"),
        ("0 0 6 * FOO ?", "month"),
        ("0 0 6 ? * 8", "day-of-week"),
        ("0 0 6 ? * MOX", "day-of-week"),
        ("0 0 6 ? * 2#6", "day-of-week"),
        ("0 0 6 * * ? 1969", "year"),
        ("*/0 * * * * ?", "second"),
        ("*/61 * * * * ?", "second"),
        ("0 1-x * * * ?", "minute"),
        ("0 1,,2 * * * ?", "minute"),
        ("0 0 22-1 * * ?", "hour field '22-1': range '22-1' runs backwards"),
        ("0 0 6 ? * SAT-SUN", "day-of-week"),
        ("0 0 6 30 2 ?", "never occurs"),
        ("0 0 6 1,L * ?", "day-of-month"),
    ],
)
def test_invalid_expressions_name_the_problem(expression: str, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        CronSchedule(expression)


def test_equality_hash_and_repr_use_the_expression() -> None:
    a, b = CronSchedule("0 0 6 * * ?"), CronSchedule("0 0 6 * * ?")
    assert a == b and hash(a) == hash(b)
    assert a != CronSchedule("0 0 7 * * ?")
    assert CronSchedule("0 0 12 * * MON") != CronSchedule("0 0 12 * * 2")
    assert len({a, b}) == 1
    assert a.expression == "0 0 6 * * ?"
    assert repr(a) == "CronSchedule('0 0 6 * * ?')"
    assert a != "0 0 6 * * ?"


def test_yearly_schedule_jumps_whole_years() -> None:
    # Once a year, on New Year: consecutive fires are a year apart.
    schedule = CronSchedule("0 0 0 1 1 ?")
    t = MONDAY_NOON
    for _ in range(3):
        t = schedule.next_fire_after(t)
    assert t == datetime(2027, 1, 1)
