"""CronSchedule day rules: month ends, leap years, L, W, #, union of day fields, year field.

Each day rule is checked against an independent predicate over every day of 2023-2030.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest

from cosalette import CronSchedule


def last_day(d: date) -> int:
    return calendar.monthrange(d.year, d.month)[1]


def nearest_weekday(d: date, n: int) -> bool:
    """Quartz nW, stated independently: the weekday of the month closest to day n (if n exists)."""
    if n > last_day(d):
        return False
    weekdays = [x for x in range(1, last_day(d) + 1) if date(d.year, d.month, x).weekday() < 5]
    return d.day == min(weekdays, key=lambda x: abs(x - n))


def nth_weekday(d: date, weekday: int, nth: int) -> bool:
    return d.weekday() == weekday and (d.day - 1) // 7 == nth - 1


DAY_RULES: list[tuple[str, Callable[[date], bool]]] = [
    ("31 * ?", lambda d: d.day == 31),
    ("30 * ?", lambda d: d.day == 30),
    ("L * ?", lambda d: d.day == last_day(d)),
    ("L-3 * ?", lambda d: d.day == last_day(d) - 3),
    ("L 2 ?", lambda d: d.month == 2 and d.day == last_day(d)),
    ("29 2 ?", lambda d: (d.month, d.day) == (2, 29)),
    ("LW * ?", lambda d: nearest_weekday(d, last_day(d))),
    ("1W * ?", lambda d: nearest_weekday(d, 1)),
    ("15W * ?", lambda d: nearest_weekday(d, 15)),
    ("31W * ?", lambda d: nearest_weekday(d, 31)),
    ("? * FRI#2", lambda d: nth_weekday(d, 4, 2)),
    ("? * 6#5", lambda d: nth_weekday(d, 4, 5)),
    ("? * 2L", lambda d: d.weekday() == 0 and d.day + 7 > last_day(d)),
    ("? * FRIL", lambda d: d.weekday() == 4 and d.day + 7 > last_day(d)),
    ("? * L", lambda d: d.weekday() == 5),
    ("? * 1,7", lambda d: d.weekday() >= 5),
    ("15 * MON", lambda d: d.day == 15 or d.weekday() == 0),
    ("L * 6#3", lambda d: d.day == last_day(d) or nth_weekday(d, 4, 3)),
    ("1-7 * SUN", lambda d: d.day <= 7 or d.weekday() == 6),
    ("31 4,6,9,11,12 ?", lambda d: (d.month, d.day) == (12, 31)),
]


@pytest.mark.parametrize(("days", "matches"), DAY_RULES, ids=[r for r, _ in DAY_RULES])
def test_day_rules_agree_with_independent_predicates(
    days: str, matches: Callable[[date], bool]
) -> None:
    schedule = CronSchedule(f"0 0 12 {days}")
    day, end = date(2023, 1, 1), date(2031, 1, 1)
    expected = []
    while day < end:
        if matches(day):
            expected.append(datetime(day.year, day.month, day.day, 12))
        day += timedelta(days=1)
    got, t = [], datetime(2022, 12, 31, 12)
    while (t := schedule.next_fire_after(t)) < datetime(2031, 1, 1):
        got.append(t)
    assert got == expected and got


def test_month_ends_skip_short_months() -> None:
    schedule = CronSchedule("0 0 0 31 * ?")
    t, got = datetime(2024, 1, 31), []
    for _ in range(4):
        t = schedule.next_fire_after(t)
        got.append(t.date())
    assert got == [date(2024, 3, 31), date(2024, 5, 31), date(2024, 7, 31), date(2024, 8, 31)]


def test_last_day_of_february_in_leap_and_common_years() -> None:
    schedule = CronSchedule("0 0 0 L 2 ?")
    assert schedule.next_fire_after(datetime(2024, 1, 1)) == datetime(2024, 2, 29)
    assert schedule.next_fire_after(datetime(2024, 2, 29)) == datetime(2025, 2, 28)
    # 2100 is not a leap year (divisible by 100, not by 400); 2000 was.
    assert schedule.next_fire_after(datetime(2100, 1, 1)) == datetime(2100, 2, 28)
    assert schedule.next_fire_after(datetime(2000, 1, 1)) == datetime(2000, 2, 29)


def test_february_29th_from_2025_is_2028() -> None:
    schedule = CronSchedule("0 0 0 29 2 ?")
    assert schedule.next_fire_after(datetime(2025, 1, 1)) == datetime(2028, 2, 29)
    assert schedule.next_fire_after(datetime(2028, 2, 29)) == datetime(2032, 2, 29)
    # Across the skipped leap year 2100 the gap is eight years.
    assert schedule.next_fire_after(datetime(2096, 3, 1)) == datetime(2104, 2, 29)


def test_rare_but_possible_days_are_found_decades_ahead() -> None:
    # A fifth Monday in February needs a leap year whose 1 February is a Monday.
    assert CronSchedule("0 0 0 ? FEB MON#5").next_fire_after(datetime(2024, 3, 1)) == datetime(
        2044, 2, 29
    )


def test_l_minus_n_and_lw() -> None:
    assert CronSchedule("0 0 0 L-3 * ?").next_fire_after(datetime(2024, 2, 1)) == datetime(
        2024, 2, 26
    )
    # 2024-08-31 is a Saturday and 2024-03-31 a Sunday: LW is the Friday before.
    lw = CronSchedule("0 0 0 LW * ?")
    assert lw.next_fire_after(datetime(2024, 8, 1)) == datetime(2024, 8, 30)
    assert lw.next_fire_after(datetime(2024, 3, 1)) == datetime(2024, 3, 29)


def test_nearest_weekday_stays_in_the_month() -> None:
    one_w = CronSchedule("0 0 0 1W * ?")
    # 2024-06-01 is a Saturday: the Friday before is in May, so it is Monday the 3rd.
    assert one_w.next_fire_after(datetime(2024, 5, 31)) == datetime(2024, 6, 3)
    # 2024-09-01 is a Sunday: Monday the 2nd.
    assert one_w.next_fire_after(datetime(2024, 8, 31)) == datetime(2024, 9, 2)
    fifteen_w = CronSchedule("0 0 0 15W * ?")
    assert fifteen_w.next_fire_after(datetime(2024, 6, 1)) == datetime(2024, 6, 14)  # Sat → Fri
    assert fifteen_w.next_fire_after(datetime(2024, 9, 1)) == datetime(2024, 9, 16)  # Sun → Mon
    assert fifteen_w.next_fire_after(datetime(2024, 5, 1)) == datetime(2024, 5, 15)  # Wed
    # 2024-03-31 is a Sunday and the last day: the Friday before.
    assert CronSchedule("0 0 0 31W 3 ?").next_fire_after(datetime(2024, 1, 1)) == datetime(
        2024, 3, 29
    )


def test_nth_and_last_weekday() -> None:
    assert CronSchedule("0 0 12 ? * FRI#2").next_fire_after(datetime(2024, 1, 1)) == datetime(
        2024, 1, 12, 12
    )
    fifth_friday = CronSchedule("0 0 12 ? * 6#5")
    t, got = datetime(2024, 1, 1), []
    for _ in range(3):
        t = fifth_friday.next_fire_after(t)
        got.append(t.date())
    # January, February and April 2024 have no fifth Friday.
    assert got == [date(2024, 3, 29), date(2024, 5, 31), date(2024, 8, 30)]
    assert CronSchedule("0 0 0 ? * 2L").next_fire_after(datetime(2024, 1, 1)) == datetime(
        2024, 1, 29
    )
    assert CronSchedule("0 0 0 ? * L").next_fire_after(datetime(2024, 1, 1)) == datetime(2024, 1, 6)


def test_union_when_neither_day_field_is_question_mark() -> None:
    # The 13th of any month, or any Friday.
    schedule = CronSchedule("0 0 0 13 * FRI")
    t, got = datetime(2024, 1, 1), []
    for _ in range(4):
        t = schedule.next_fire_after(t)
        got.append(t.date())
    assert got == [date(2024, 1, 5), date(2024, 1, 12), date(2024, 1, 13), date(2024, 1, 19)]
    # With a '*' on either side the union is every day: use '?' to restrict to weekdays.
    assert CronSchedule("0 0 8 * * MON-FRI").next_fire_after(datetime(2024, 1, 5, 9)) == datetime(
        2024, 1, 6, 8
    )
    assert CronSchedule("0 0 8 ? * MON-FRI").next_fire_after(datetime(2024, 1, 5, 9)) == datetime(
        2024, 1, 8, 8
    )


def test_union_keeps_an_impossible_day_of_month_alive() -> None:
    # 30 February never happens, but the Mondays of February do.
    assert CronSchedule("0 0 0 30 2 MON").next_fire_after(datetime(2024, 1, 1)) == datetime(
        2024, 2, 5
    )


def test_year_field_lists_ranges_and_steps() -> None:
    assert CronSchedule("0 0 0 1 1 ? 2090-2098/4").next_fire_after(
        datetime(2091, 1, 1)
    ) == datetime(2094, 1, 1)
    assert CronSchedule("0 0 0 29 2 ? 2090-2099").next_fire_after(datetime(2090, 1, 1)) == (
        datetime(2092, 2, 29)
    )
    assert CronSchedule("0 0 0 1 1 ? *").next_fire_after(datetime(2099, 6, 1)) == datetime(
        2100, 1, 1
    )


@pytest.mark.parametrize(
    "expression",
    [
        "0 0 9 ? jan-Mar mon-fri",
        "0 0 9 ? JAN-MAR MON-FRI",
        "0 0 9 ? 1-3 2-6",
        "0 0 9 ? Jan-3 Mon-6",
    ],
)
def test_names_are_case_insensitive_and_mix_with_numbers(expression: str) -> None:
    schedule = CronSchedule(expression)
    assert schedule.next_fire_after(datetime(2024, 3, 29, 10)) == datetime(2025, 1, 1, 9)
    assert schedule.next_fire_after(datetime(2024, 1, 6)) == datetime(2024, 1, 8, 9)


@pytest.mark.parametrize("field", ["dom", "dom-L", "dom-W"])
def test_every_single_day_and_month_constructs_exactly_when_it_can_fire(field: str) -> None:
    """Construction succeeds if and only if the day exists in that month in some year."""
    for month in range(1, 13):
        longest = 29 if month == 2 else calendar.monthrange(2023, month)[1]
        for n in range(0, 31) if field == "dom-L" else range(1, 32):
            day = {"dom": str(n), "dom-L": f"L-{n}", "dom-W": f"{n}W"}[field]
            expression = f"0 0 0 {day} {month} ?"
            possible = (n < longest) if field == "dom-L" else (n <= longest)
            if not possible:
                with pytest.raises(ValueError, match=r"day-of-month .* never occurs in"):
                    CronSchedule(expression)
                continue
            fire = CronSchedule(expression).next_fire_after(datetime(2023, 12, 31))
            assert fire.month == month, expression


def test_every_nth_weekday_of_every_month_can_fire() -> None:
    for month in range(1, 13):
        for weekday in range(1, 8):
            for nth in range(1, 6):
                schedule = CronSchedule(f"0 0 0 ? {month} {weekday}#{nth}")
                fire = schedule.next_fire_after(datetime(2024, 1, 1))
                assert fire.month == month
                assert (fire.weekday() + 1) % 7 + 1 == weekday
                assert (fire.day - 1) // 7 == nth - 1
