"""Quartz-style cron schedules: validate an expression once, then find its next fire time.

Rules beyond the Quartz field syntax:

* When neither day field is ``?`` a day matches if *either* matches (union), so
  ``0 0 8 * * MON-FRI`` fires every day; ``?`` in both means every day. ``?`` in any other
  field means ``*``.
* An expression that can never fire is rejected at construction, naming the field:
  ``30 2`` (30 February), ``31`` in 30-day months only, ``L-29 2``, ``MON#6``, or a year
  field with no matching date left from now on.
* ``next_fire_after`` works on the wall clock of *after* and keeps its tzinfo. With a
  zone that has DST rules (``zoneinfo``) the result is a real local time, strictly later
  than *after* as an instant: a wall time the spring-forward gap skips is shifted forward
  by the gap (02:30 becomes 03:30 CEST, so a daily 02:30 job fires once that day), and
  in the repeated autumn hour the search keeps following the wall clock, so chaining
  never fires the same wall time twice (the second pass only counts when *after* is in it).
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
from collections.abc import Callable, Iterable
from typing import NoReturn, TypeVar

__all__ = ["CronSchedule"]

_FIELD_NAMES = ("second", "minute", "hour", "day-of-month", "month", "day-of-week", "year")
_MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June", "July")
_MONTHS += ("August", "September", "October", "November", "December")
_MONTH_NAMES = {name[:3].upper(): number for number, name in enumerate(_MONTHS, start=1)}
_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MIN_YEAR, _MAX_YEAR = 1970, 2099
# Without a year field a feasible day pattern recurs within one 400-year Gregorian cycle.
_SCAN_YEARS = 400
_TABLE_CACHE = 512  # cached (year, month) day tables per schedule before the cache is reset
_T = TypeVar("_T")

# A day matcher receives (weekday of the 1st, Monday=0; days in month) and yields matching days.
_DayMatcher = Callable[[int, int], Iterable[int]]


def _now() -> dt.datetime:
    """Local wall time; the construction-time year check compares against it."""
    return dt.datetime.now()


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
    """Expand ``*``, values, ranges, steps and lists into sorted values (``N-M/S`` stops at M)."""
    span = hi - lo + 1
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not (step_text.isascii() and step_text.isdigit()) or not 1 <= int(step_text) <= span:
                _fail(f"step {step_text!r} must be a number from 1 to {span}")
            step = int(step_text)
        if base in ("*", "?"):
            start, end = lo, hi
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _number(first, lo, hi, names), _number(last, lo, hi, names)
            if start > end:
                _fail(f"range {base!r} runs backwards; split a wrapping range (22-23,0-1)")
        elif base:
            start = _number(base, lo, hi, names)
            end = hi if slash else start
        else:
            _fail(f"empty value in {text!r}")
        values.update(range(start, end + 1, step))
    return sorted(values)


def _parse_dom(text: str) -> tuple[_DayMatcher, int]:
    """Parse day-of-month (values, ``L``, ``L-n``, ``LW``, ``nW``) into (matcher, month length
    needed for any match)."""
    upper = text.upper()
    if upper == "L" or upper.startswith("L-"):
        back = 0 if upper == "L" else _number(upper[2:], 0, 30)
        return (lambda first, days: [days - back] if days > back else []), back + 1
    if upper == "LW":
        return (lambda first, days: [_nearest_weekday(days, first, days)]), 1
    if upper.endswith("W"):
        target = _number(upper[:-1], 1, 31)

        def nearest(first: int, days: int) -> list[int]:
            return [_nearest_weekday(target, first, days)] if target <= days else []

        return nearest, target
    if any(c in upper for c in "LW#"):
        _fail("L and W must stand alone (L, L-n, LW, nW)")
    wanted = _parse_values(text, 1, 31)
    return (lambda first, days: [d for d in wanted if d <= days]), wanted[0]


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
    text = "SAT" if text.upper() == "L" else text
    upper = text.upper()
    if "#" in upper:
        day_text, _, nth_text = upper.partition("#")
        weekday = _python_weekday(_number(day_text, 1, 7, _DAY_NAMES))
        if nth_text.isascii() and nth_text.isdigit() and int(nth_text) > 5:
            _fail(f"#{nth_text} never occurs: no month has more than five of a weekday")
        nth = _number(nth_text, 1, 5)

        def nth_weekday(first: int, days: int) -> list[int]:
            day = 1 + (weekday - first) % 7 + 7 * (nth - 1)
            return [day] if day <= days else []

        return nth_weekday
    if len(upper) > 1 and upper.endswith("L"):
        weekday = _python_weekday(_number(upper[:-1], 1, 7, _DAY_NAMES))
        return lambda first, days: [days - ((first + days - 1 - weekday) % 7)]
    wanted = {_python_weekday(q) for q in _parse_values(text, 1, 7, _DAY_NAMES)}
    return lambda first, days: [d for d in range(1, days + 1) if (first + d - 1) % 7 in wanted]


def _every_day(first: int, days: int) -> Iterable[int]:
    return range(1, days + 1)


def _next_table(values: Iterable[int], size: int) -> tuple[int, ...]:
    """``table[v]`` is the smallest value >= v, or -1: one index instead of a bisect."""
    table = [-1] * (size + 1)
    allowed, best = set(values), -1
    for v in range(size, -1, -1):
        if v in allowed:
            best = v
        table[v] = best
    return tuple(table)


def _english_list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


class CronSchedule:
    """A parsed Quartz cron expression: ``sec min hour day-of-month month day-of-week [year]``.

    Invalid or impossible expressions raise ValueError at construction, naming the field.
    """

    __slots__ = (
        "_expression",
        "_match",
        "_next_h",
        "_next_mi",
        "_next_mo",
        "_next_s",
        "_tables",
        "_year_set",
        "_years",
    )

    def __init__(self, expression: str) -> None:
        if not isinstance(expression, str):
            msg = f"cron expression must be a str, got {type(expression).__name__}"
            raise TypeError(msg)
        self._expression = expression
        parts = expression.split()
        if len(parts) not in (6, 7):
            self._invalid(
                "expected 6 or 7 fields (second minute hour day-of-month month day-of-week "
                f"[year]), got {len(parts)}"
            )
        field = self._field
        self._next_s = _next_table(field(parts, 0, lambda t: _parse_values(t, 0, 59)), 60)
        self._next_mi = _next_table(field(parts, 1, lambda t: _parse_values(t, 0, 59)), 60)
        self._next_h = _next_table(field(parts, 2, lambda t: _parse_values(t, 0, 23)), 24)
        months = field(parts, 4, lambda t: _parse_values(t, 1, 12, _MONTH_NAMES))
        self._next_mo = _next_table(months, 13)
        self._years: list[int] | None = None
        if len(parts) == 7 and parts[6] not in ("*", "?"):
            self._years = field(parts, 6, lambda t: _parse_values(t, _MIN_YEAR, _MAX_YEAR))
        self._year_set = frozenset(self._years or ())
        self._tables: dict[int, tuple[int, ...]] = {}
        dom_text, dow_text = parts[3], parts[5]
        dom = None if dom_text == "?" else field(parts, 3, _parse_dom)
        dow = None if dow_text == "?" else field(parts, 5, _parse_dow)
        self._match = self._days_matcher(dom_text, dom, dow, months)
        self._check_years(parts)

    def _days_matcher(
        self,
        dom_text: str,
        dom: tuple[_DayMatcher, int] | None,
        dow: _DayMatcher | None,
        months: list[int],
    ) -> _DayMatcher:
        """Combine the day fields; reject a day-of-month that no selected month has."""
        if dom is None:
            return _every_day if dow is None else dow
        dom_match, needed = dom
        if dow is not None:  # neither day field is '?': a day matches when either field matches
            return lambda first, days: {*dom_match(first, days), *dow(first, days)}
        if max(_MONTH_DAYS[m] + (m == 2) for m in months) < needed:  # e.g. 30 February
            names = _english_list([_MONTHS[m - 1] for m in months])
            self._invalid(f"day-of-month {dom_text} never occurs in {names}")
        return dom_match

    def _field(self, parts: list[str], index: int, parse: Callable[[str], _T]) -> _T:
        """Parse field *index*, turning a malformed field into a ValueError that names it."""
        try:
            return parse(parts[index])
        except _FieldError as exc:
            reason = str(exc)
        self._invalid(f"{_FIELD_NAMES[index]} field {parts[index]!r}: {reason}")

    def _check_years(self, parts: list[str]) -> None:
        """With a year field, reject it unless a fire time is still ahead (strictly after now)."""
        if self._years is None:
            return
        now = _now()
        first, last = self._years[0], self._years[-1]
        if last < now.year:
            self._invalid(f"year {parts[6]} is entirely in the past (it is {now.year} now)")
        t = now if first <= now.year else dt.datetime(first, 1, 1) - dt.timedelta(seconds=1)
        if self._search(t.year, t.month, t.day, t.hour, t.minute, t.second + 1, last) is None:
            left = " left" if first <= now.year else ""
            self._invalid(
                f"year {parts[6]} has no matching date{left} (day-of-month {parts[3]}, "
                f"month {parts[4]}, day-of-week {parts[5]})"
            )

    def _invalid(self, reason: str) -> NoReturn:
        msg = f"CronSchedule({self._expression!r}): {reason}"
        raise ValueError(msg)

    @property
    def expression(self) -> str:
        """The expression text as given."""
        return self._expression

    def next_fire_after(self, after: dt.datetime) -> dt.datetime:
        """Return the first matching time strictly after *after* (microseconds dropped, +1 s).

        The result keeps *after*'s tzinfo; see the module docstring for DST gaps and folds.
        Raises ValueError when the year field has no matching time after *after*.
        """
        tz = after.tzinfo
        limit = self._years[-1] if self._years else min(after.year + _SCAN_YEARS, dt.MAXYEAR)
        y, mo, d, h, mi = after.year, after.month, after.day, after.hour, after.minute
        s = after.second + 1
        if tz is None or type(tz) is dt.timezone or after.utcoffset() is None:
            found = self._search(y, mo, d, h, mi, s, limit)
            if found is None:
                self._exhausted(after)
            return dt.datetime(*found, tzinfo=tz)
        reference = after.astimezone(dt.UTC)
        while (found := self._search(y, mo, d, h, mi, s, limit)) is not None:
            for fold in (0, 1):  # fold=1 is the second pass of a repeated (fall-back) hour
                instant = dt.datetime(*found, tzinfo=tz, fold=fold).astimezone(dt.UTC)
                if instant > reference:
                    return instant.astimezone(tz)  # a wall time in a DST gap becomes a real one
            y, mo, d, h, mi, s = found
            s += 1
        self._exhausted(after)

    def _exhausted(self, after: dt.datetime) -> NoReturn:
        msg = (
            f"No matching fire time found after {after.isoformat()} for cron expression "
            f"{self._expression!r}"
        )
        raise ValueError(msg)

    def _search(
        self, y: int, mo: int, d: int, h: int, mi: int, s: int, limit: int
    ) -> tuple[int, int, int, int, int, int] | None:
        """Earliest matching wall time at or after the given fields, which may overflow by one
        (s=60, d=32 …), up to the end of year *limit*."""
        next_s, next_mi, next_h, next_mo = self._next_s, self._next_mi, self._next_h, self._next_mo
        years, tables = self._years, self._tables
        while y <= limit:
            if years is not None and y not in self._year_set:
                index = bisect.bisect_right(years, y)
                if index == len(years):
                    return None
                y, mo, d, h, mi, s = years[index], 1, 1, 0, 0, 0
                continue
            month = next_mo[mo]
            if month < 0:
                y, mo, d, h, mi, s = y + 1, 1, 1, 0, 0, 0
                continue
            if month != mo:
                mo, d, h, mi, s = month, 1, 0, 0, 0
            table = tables.get(y * 16 + mo) or self._day_table(y, mo)
            day = table[d]
            if day < 0:
                mo, d, h, mi, s = mo + 1, 1, 0, 0, 0
                continue
            if day != d:
                d, h, mi, s = day, 0, 0, 0
            hour = next_h[h]
            if hour < 0:
                d, h, mi, s = d + 1, 0, 0, 0
                continue
            if hour != h:
                h, mi, s = hour, 0, 0
            minute = next_mi[mi]
            if minute < 0:
                h, mi, s = h + 1, 0, 0
                continue
            if minute != mi:
                mi, s = minute, 0
            second = next_s[s]
            if second < 0:
                mi, s = mi + 1, 0
                continue
            return y, mo, d, h, mi, second
        return None

    def _day_table(self, year: int, month: int) -> tuple[int, ...]:
        """Build and cache the next-matching-day table of one month (index up to 32)."""
        days = _MONTH_DAYS[month] + (month == 2 and calendar.isleap(year))
        first = dt.date(year, month, 1).weekday()
        table = _next_table((d for d in self._match(first, days) if 1 <= d <= days), 32)
        if len(self._tables) >= _TABLE_CACHE:
            self._tables.clear()
        self._tables[year * 16 + month] = table
        return table

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CronSchedule):
            return NotImplemented
        return self._expression == other._expression

    def __hash__(self) -> int:
        return hash(self._expression)

    def __repr__(self) -> str:
        return f"CronSchedule({self._expression!r})"
