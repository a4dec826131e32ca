"""Quartz-style cron schedules: validate an expression once, then find its next fire time."""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
from collections.abc import Callable, Iterable
from typing import NoReturn, TypeVar

__all__ = ["CronSchedule"]

_FIELD_NAMES = ("second", "minute", "hour", "day-of-month", "month", "day-of-week", "year")
_MONTH_NAMES = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTH_MAX_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MIN_YEAR, _MAX_YEAR = 1970, 2099
_SCAN_YEARS = 4
_UNCONSTRAINED = ("*", "?")
_T = TypeVar("_T")

# A day matcher receives (weekday of the 1st, Monday=0; days in month) and yields matching days.
_DayMatcher = Callable[[int, int], Iterable[int]]


class _FieldError(Exception):
    """One field is malformed; the constructor adds the field name and expression."""


def _fail(reason: str) -> NoReturn:
    raise _FieldError(reason)


def _number(token: str, lo: int, hi: int, names: dict[str, int] | None = None) -> int:
    """Parse one value (digits or a name) and check it lies in ``lo..hi``."""
    upper = token.upper()
    if names and upper in names:
        return names[upper]
    if not (token.isascii() and token.isdigit()):
        _fail(f"{token!r} is not a number" + (" or name" if names else ""))
    value = int(token)
    if not lo <= value <= hi:
        _fail(f"{value} is outside {lo}-{hi}")
    return value


def _parse_values(text: str, lo: int, hi: int, names: dict[str, int] | None = None) -> list[int]:
    """Expand lists, ranges (wrapping past *hi* like Quartz) and steps into sorted values."""
    span = hi - lo + 1
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not (step_text.isascii() and step_text.isdigit()) or not 1 <= int(step_text) <= span:
                _fail(f"step {step_text!r} must be a number from 1 to {span}")
            step = int(step_text)
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _number(first, lo, hi, names), _number(last, lo, hi, names)
        elif base:
            start = _number(base, lo, hi, names)
            end = hi if slash else start
        else:
            _fail(f"empty value in {text!r}")
        count = (end - start) % span + 1
        values.update(lo + (start - lo + offset) % span for offset in range(0, count, step))
    return sorted(values)


def _values(lo: int, hi: int, names: dict[str, int] | None = None) -> Callable[[str], list[int]]:
    """Build a parser for a plain numeric field."""
    return lambda text: _parse_values(text, lo, hi, names)


def _parse_dom(text: str) -> _DayMatcher:
    """Parse day-of-month: values, ``L``, ``L-n``, ``LW`` or ``nW``."""
    upper = text.upper()
    if upper == "L" or upper.startswith("L-"):
        back = 0 if upper == "L" else _number(upper[2:], 0, 30)
        return lambda first, days: [days - back] if days - back >= 1 else []
    if upper == "LW":
        return lambda first, days: [_nearest_weekday(days, first, days)]
    if upper.endswith("W"):
        target = _number(upper[:-1], 1, 31)
        return lambda first, days: [_nearest_weekday(target, first, days)] if target <= days else []
    if any(c in upper for c in "LW#"):
        _fail("L and W must stand alone (L, L-n, LW, nW)")
    wanted = _parse_values(text, 1, 31)
    return lambda first, days: [d for d in wanted if d <= days]


def _nearest_weekday(day: int, first: int, days: int) -> int:
    """Quartz ``W``: the weekday nearest to *day* without leaving the month."""
    weekday = (first + day - 1) % 7
    if weekday == 5:  # Saturday: Friday before, or Monday after when the 1st is a Saturday
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: Monday after, or Friday before when it is the last day
        return day + 1 if day < days else day - 2
    return day


def _python_weekday(quartz: int) -> int:
    """Map Quartz 1=SUN..7=SAT to Python's Monday=0..Sunday=6."""
    return (quartz + 5) % 7


def _parse_dow(text: str) -> _DayMatcher:
    """Parse day-of-week: values, names, ``L`` (Saturday), ``dL`` (last d) or ``d#k`` (k-th d)."""
    upper = text.upper()
    if upper == "L":
        upper = "SAT"
    if "#" in upper:
        day_text, _, nth_text = upper.partition("#")
        weekday = _python_weekday(_number(day_text, 1, 7, _DAY_NAMES))
        nth = _number(nth_text, 1, 5)

        def nth_weekday(first: int, days: int) -> list[int]:
            day = 1 + (weekday - first) % 7 + 7 * (nth - 1)
            return [day] if day <= days else []

        return nth_weekday
    if len(upper) > 1 and upper.endswith("L"):
        weekday = _python_weekday(_number(upper[:-1], 1, 7, _DAY_NAMES))
        return lambda first, days: [days - ((first + days - 1 - weekday) % 7)]
    wanted = {_python_weekday(q) for q in _parse_values(upper, 1, 7, _DAY_NAMES)}
    return lambda first, days: [d for d in range(1, days + 1) if (first + d - 1) % 7 in wanted]


def _parse_field(expression: str, parts: list[str], index: int, parse: Callable[[str], _T]) -> _T:
    """Parse field *index*, turning a malformed field into a ValueError that names it."""
    text = parts[index]
    try:
        if text == "?" and index not in (3, 5):
            _fail("'?' is only allowed in day-of-month or day-of-week")
        return parse(text)
    except _FieldError as exc:
        msg = (
            f"Invalid cron expression {expression!r}: "
            f"bad {_FIELD_NAMES[index]} field {text!r}: {exc}"
        )
        raise ValueError(msg) from None


def _next_value(values: list[int], current: int) -> int | None:
    """Smallest allowed value >= *current*, or None when the field has to roll over."""
    index = bisect.bisect_left(values, current)
    return values[index] if index < len(values) else None


class CronSchedule:
    """A parsed Quartz cron expression: ``sec min hour day-of-month month day-of-week [year]``.

    Invalid expressions raise ValueError at construction, naming the offending field.
    """

    def __init__(self, expression: str) -> None:
        if not isinstance(expression, str):
            msg = f"cron expression must be a str, got {type(expression).__name__}"
            raise TypeError(msg)
        parts = expression.split()
        if len(parts) not in (6, 7):
            msg = (
                f"Invalid cron expression {expression!r}: expected 6 or 7 fields "
                "(second minute hour day-of-month month day-of-week [year]), "
                f"got {len(parts)}"
            )
            raise ValueError(msg)
        self._expression = expression

        self._seconds = _parse_field(expression, parts, 0, _values(0, 59))
        self._minutes = _parse_field(expression, parts, 1, _values(0, 59))
        self._hours = _parse_field(expression, parts, 2, _values(0, 23))
        self._months = _parse_field(expression, parts, 4, _values(1, 12, _MONTH_NAMES))
        self._years: list[int] | None = None
        if len(parts) == 7 and parts[6] != "*":
            self._years = _parse_field(expression, parts, 6, _values(_MIN_YEAR, _MAX_YEAR))
        dom_text, dow_text = parts[3], parts[5]
        dom = None if dom_text in _UNCONSTRAINED else _parse_field(expression, parts, 3, _parse_dom)
        dow = None if dow_text in _UNCONSTRAINED else _parse_field(expression, parts, 5, _parse_dow)
        if dom_text == "?" and dow_text == "?":
            self._invalid("day-of-month and day-of-week cannot both be '?'")
        if dom is not None and dow is not None:
            self._invalid(
                "day-of-month and day-of-week cannot both be restricted; "
                "use '?' in one of them (e.g. '0 0 8 ? * MON-FRI')"
            )
        self._day_matcher: _DayMatcher = dom or dow or (lambda first, days: range(1, days + 1))
        self._check_reachable(dom_text)

    def _check_reachable(self, dom_text: str) -> None:
        """Reject plain day-of-month values that no selected month has, such as 30 February."""
        if not dom_text[:1].isdigit() or any(c in dom_text.upper() for c in "LW"):
            return
        longest = max(_MONTH_MAX_DAYS[m] for m in self._months)
        if not any(self._day_matcher(0, longest)):
            self._invalid(f"day-of-month {dom_text!r} never occurs in the selected months")

    def _invalid(self, reason: str) -> NoReturn:
        msg = f"Invalid cron expression {self._expression!r}: {reason}"
        raise ValueError(msg)

    @property
    def expression(self) -> str:
        """The expression text as given."""
        return self._expression

    def next_fire_after(self, after: dt.datetime) -> dt.datetime:
        """Return the first matching time strictly after *after*, in the same timezone.

        Raises ValueError when nothing matches within four years of *after*.
        """
        tz = after.tzinfo
        limit = min(after.year + _SCAN_YEARS, dt.MAXYEAR - 1)
        start = after.replace(tzinfo=None, microsecond=0, fold=0) + dt.timedelta(seconds=1)
        while True:
            wall = self._next_wall_time(start, limit)
            if wall is None:
                msg = (
                    f"No fire time within {_SCAN_YEARS} years after {after.isoformat()} "
                    f"for cron expression {self._expression!r}"
                )
                raise ValueError(msg)
            if tz is None or after.utcoffset() is None:
                return wall.replace(tzinfo=tz)
            # Around a DST fall-back the same wall time happens twice: pick a strictly later one.
            reference = after.astimezone(dt.UTC)
            for fold in (0, 1):
                candidate = wall.replace(tzinfo=tz, fold=fold)
                if candidate.astimezone(dt.UTC) > reference:
                    return candidate
            start = wall + dt.timedelta(seconds=1)

    def _next_wall_time(self, start: dt.datetime, limit: int) -> dt.datetime | None:
        """Earliest naive wall time >= *start* that matches, advancing field by field."""
        y, mo, d = start.year, start.month, start.day
        h, mi, s = start.hour, start.minute, start.second
        while y <= limit:
            if self._years is not None:
                year = _next_value(self._years, y)
                if year is None:
                    return None
                if year != y:
                    y, mo, d, h, mi, s = year, 1, 1, 0, 0, 0
                    continue
            month = _next_value(self._months, mo)
            if month is None:
                y, mo, d, h, mi, s = y + 1, 1, 1, 0, 0, 0
                continue
            if month != mo:
                mo, d, h, mi, s = month, 1, 0, 0, 0
            day = self._next_day(y, mo, d)
            if day is None:
                mo, d, h, mi, s = mo + 1, 1, 0, 0, 0
                continue
            if day != d:
                d, h, mi, s = day, 0, 0, 0
            hour = _next_value(self._hours, h)
            if hour is None:
                d, h, mi, s = d + 1, 0, 0, 0
                continue
            if hour != h:
                h, mi, s = hour, 0, 0
            minute = _next_value(self._minutes, mi)
            if minute is None:
                h, mi, s = h + 1, 0, 0
                continue
            if minute != mi:
                mi, s = minute, 0
            second = _next_value(self._seconds, s)
            if second is None:
                mi, s = mi + 1, 0
                continue
            return dt.datetime(y, mo, d, h, mi, second)
        return None

    def _next_day(self, year: int, month: int, day: int) -> int | None:
        """First matching day of *month* on or after *day*, or None."""
        first, days = calendar.monthrange(year, month)
        if day > days:
            return None
        return min((d for d in self._day_matcher(first, days) if day <= d <= days), default=None)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CronSchedule):
            return NotImplemented
        return self._expression == other._expression

    def __hash__(self) -> int:
        return hash(self._expression)

    def __repr__(self) -> str:
        return f"CronSchedule({self._expression!r})"
