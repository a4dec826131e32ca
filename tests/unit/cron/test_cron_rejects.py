"""CronSchedule rejects malformed and impossible expressions at construction, naming the field."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from cosalette import CronSchedule


@pytest.fixture
def now_2030(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the construction-time clock that the year check compares against."""
    monkeypatch.setattr("cosalette._cron._now", lambda: datetime(2030, 6, 1, 12, 0, 0, 500))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 0 0 30 2 ?", "day-of-month 30 never occurs in February"),
        ("0 0 0 30,31 FEB ?", "day-of-month 30,31 never occurs in February"),
        (
            "0 0 0 31 4,6,9,11 ?",
            "day-of-month 31 never occurs in April, June, September or November",
        ),
        ("0 0 0 31 APR-JUN/2 ?", "day-of-month 31 never occurs in April or June"),
        ("0 0 0 L-29 2 ?", "day-of-month L-29 never occurs in February"),
        ("0 0 0 L-30 4 ?", "day-of-month L-30 never occurs in April"),
        ("0 0 0 30W 2 ?", "day-of-month 30W never occurs in February"),
        ("0 0 0 31W 9 ?", "day-of-month 31W never occurs in September"),
        (
            "0 0 0 ? * MON#6",
            "day-of-week field 'MON#6': #6 never occurs: no month has more than five of a weekday",
        ),
        ("0 0 0 ? * 2#0", "day-of-week field '2#0': 0 is outside 1-5"),
        ("0 0 0 1 1 ? 2000-2020", "year 2000-2020 is entirely in the past (it is 2030 now)"),
        ("0 0 0 1 1 ? 1970,2029", "year 1970,2029 is entirely in the past (it is 2030 now)"),
        (
            "0 0 0 1 1 ? 2030",
            "year 2030 has no matching date left (day-of-month 1, month 1, day-of-week ?)",
        ),
        (
            "0 0 12 1 6 ? 2030",
            "year 2030 has no matching date left (day-of-month 1, month 6, day-of-week ?)",
        ),
        (
            "0 0 0 29 2 ? 2031",
            "year 2031 has no matching date (day-of-month 29, month 2, day-of-week ?)",
        ),
        (
            "0 0 0 ? 2 MON#5 2031-2035",
            "year 2031-2035 has no matching date (day-of-month ?, month 2, day-of-week MON#5)",
        ),
    ],
)
@pytest.mark.usefixtures("now_2030")
def test_impossible_expressions_are_rejected_naming_the_field_and_why(
    expression: str, message: str
) -> None:
    with pytest.raises(ValueError) as info:
        CronSchedule(expression)
    assert str(info.value) == f"CronSchedule({expression!r}): {message}"


@pytest.mark.usefixtures("now_2030")
@pytest.mark.parametrize(
    "expression",
    [
        "0 0 13 1 6 ? 2030",  # later today
        "0 0 0 1 1 ? 2029-2031",  # partly in the past
        "0 0 0 29 2 ? 2031-2032",  # 2032 is a leap year
        "0 0 0 ? 2 MON#5 2031-2044",  # 2044-02-29 is a Monday
        "0 0 0 30 2 MON 2031",  # union: the Mondays of February 2031
    ],
)
def test_year_fields_with_a_date_still_ahead_are_accepted(expression: str) -> None:
    CronSchedule(expression)


@pytest.mark.parametrize(
    ("expression", "field", "reason"),
    [
        ("0 0 6 * *", None, "expected 6 or 7 fields"),
        ("0 0 6 * * ? 2090 x", None, "got 8"),
        ("", None, "got 0"),
        ("60 0 6 * * ?", "second", "60 is outside 0-59"),
        ("0 60 6 * * ?", "minute", "60 is outside 0-59"),
        ("0 0 24 * * ?", "hour", "24 is outside 0-23"),
        ("0 0 6 32 * ?", "day-of-month", "32 is outside 1-31"),
        ("0 0 6 0 * ?", "day-of-month", "0 is outside 1-31"),
        ("0 0 6 L-31 * ?", "day-of-month", "31 is outside 0-30"),
        ("0 0 6 32W * ?", "day-of-month", "32 is outside 1-31"),
        ("0 0 6 1,L * ?", "day-of-month", "L and W must stand alone"),
        ("0 0 6 * 13 ?", "month", "13 is outside 1-12"),
        ("0 0 6 * FOO ?", "month", "'FOO' is not a number or name"),
        ("0 0 6 ? * 8", "day-of-week", "8 is outside 1-7"),
        ("0 0 6 ? * 0", "day-of-week", "0 is outside 1-7"),
        ("0 0 6 ? * MOX", "day-of-week", "'MOX' is not a number or name"),
        ("0 0 6 ? * 8L", "day-of-week", "8 is outside 1-7"),
        ("0 0 6 * * ? 1969", "year", "1969 is outside 1970-2099"),
        ("0 0 6 * * ? 2100", "year", "2100 is outside 1970-2099"),
        ("*/0 * * * * ?", "second", "step '0' must be a number from 1 to 60"),
        ("0 0 0/25 * * ?", "hour", "step '25' must be a number from 1 to 24"),
        ("0 0 6 ? * */x", "day-of-week", "step 'x'"),
        ("0 30-10 * * * ?", "minute", "range '30-10' runs backwards"),
        ("0 0 6 ? * FRI-MON", "day-of-week", "range 'FRI-MON' runs backwards"),
        ("0 0 6 * DEC-JAN ?", "month", "range 'DEC-JAN' runs backwards"),
        ("0 1-x * * * ?", "minute", "'x' is not a number"),
        ("0 1,,2 * * * ?", "minute", "empty value"),
        ("0 -5 * * * ?", "minute", "'' is not a number"),
        ("0 ５ * * * ?", "minute", "is not a number"),  # noqa: RUF001 - a non-ASCII digit
    ],
)
def test_malformed_fields_are_named(expression: str, field: str | None, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        CronSchedule(expression)
    text = str(info.value)
    assert text.startswith(f"CronSchedule({expression!r}): ")
    if field is not None:
        assert re.search(rf": {field} field '[^']*': ", text), text
    assert reason in text


def test_a_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be a str, got int"):
        CronSchedule(5)  # type: ignore[arg-type]
