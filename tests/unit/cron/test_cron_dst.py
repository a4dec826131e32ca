"""CronSchedule across DST changes (Europe/Berlin, zoneinfo) and with fixed offsets.

Decided behaviour (see the cosalette._cron module docstring):

* The search runs on the wall clock of ``after`` and the result keeps its tzinfo.
* Every result is a real local time and strictly later than ``after`` as an instant.
* Spring forward (2024-03-31, 02:00 CET -> 03:00 CEST): a wall time in the gap is shifted
  forward by the gap, so a daily 02:30 job fires once, at 03:30 CEST.
* Fall back (2024-10-27, 03:00 CEST -> 02:00 CET): the search follows the wall clock, so a
  chained schedule never fires the same wall time twice; the second pass of 02:00-02:59 is
  only used when ``after`` is already in it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cosalette import CronSchedule

BERLIN = ZoneInfo("Europe/Berlin")
CET, CEST = timedelta(hours=1), timedelta(hours=2)


def chain(expression: str, after: datetime, count: int) -> list[datetime]:
    schedule, out = CronSchedule(expression), []
    for _ in range(count):
        after = schedule.next_fire_after(after)
        out.append(after)
    return out


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def assert_real_and_increasing(start: datetime, fires: list[datetime]) -> None:
    previous = start
    for fire in fires:
        assert fire.tzinfo is BERLIN
        assert fire.astimezone(UTC).astimezone(BERLIN).replace(tzinfo=None) == fire.replace(
            tzinfo=None
        ), f"{fire} is not a real Berlin time"
        assert fire.astimezone(UTC) > previous.astimezone(UTC)
        previous = fire


def test_daily_job_in_the_spring_gap_fires_once_shifted_by_the_gap() -> None:
    start = datetime(2024, 3, 30, 12, tzinfo=BERLIN)
    fires = chain("0 30 2 * * ?", start, 3)
    assert_real_and_increasing(start, fires)
    assert [f.astimezone(UTC) for f in fires] == [
        utc(2024, 3, 31, 1, 30),  # 02:30 does not exist: 03:30 CEST
        utc(2024, 4, 1, 0, 30),  # 02:30 CEST
        utc(2024, 4, 2, 0, 30),
    ]
    assert (fires[0].hour, fires[0].minute, fires[0].utcoffset()) == (3, 30, CEST)


def test_frequent_job_across_the_spring_gap() -> None:
    start = datetime(2024, 3, 31, 1, 30, tzinfo=BERLIN)
    fires = chain("0 */20 * * * ?", start, 4)
    assert_real_and_increasing(start, fires)
    # 02:00 (in the gap) becomes 03:00 CEST; 02:20 and 02:40 do not exist.
    assert [(f.hour, f.minute, f.utcoffset()) for f in fires] == [
        (1, 40, CET),
        (3, 0, CEST),
        (3, 20, CEST),
        (3, 40, CEST),
    ]


def test_after_inside_the_gap() -> None:
    # 02:10 does not exist; with fold=0 it is the instant 03:10 CEST (01:10 UTC).
    in_gap = datetime(2024, 3, 31, 2, 10, tzinfo=BERLIN)
    hourly = CronSchedule("0 30 * * * ?").next_fire_after(in_gap)
    assert hourly.astimezone(UTC) == utc(2024, 3, 31, 1, 30)
    # 03:00 CEST has already passed at that instant: the next one is tomorrow.
    daily = CronSchedule("0 0 3 * * ?").next_fire_after(in_gap)
    assert daily.astimezone(UTC) == utc(2024, 4, 1, 1, 0)


def test_daily_job_in_the_repeated_autumn_hour_fires_once() -> None:
    start = datetime(2024, 10, 26, 12, tzinfo=BERLIN)
    fires = chain("0 30 2 * * ?", start, 3)
    assert_real_and_increasing(start, fires)
    assert [f.astimezone(UTC) for f in fires] == [
        utc(2024, 10, 27, 0, 30),  # 02:30 CEST, the first pass
        utc(2024, 10, 28, 1, 30),  # not 02:30 CET on the 27th again
        utc(2024, 10, 29, 1, 30),
    ]


def test_frequent_job_follows_the_wall_clock_through_the_autumn_hour() -> None:
    start = datetime(2024, 10, 27, 1, 30, tzinfo=BERLIN)
    fires = chain("0 */20 * * * ?", start, 6)
    assert_real_and_increasing(start, fires)
    assert [(f.hour, f.minute, f.fold, f.utcoffset()) for f in fires] == [
        (1, 40, 0, CEST),
        (2, 0, 0, CEST),
        (2, 20, 0, CEST),
        (2, 40, 0, CEST),
        (3, 0, 0, CET),  # the second pass of 02:00-02:59 (CET) is not repeated
        (3, 20, 0, CET),
    ]


def test_after_in_the_second_pass_of_the_autumn_hour() -> None:
    second_pass = datetime(2024, 10, 27, 2, 20, tzinfo=BERLIN, fold=1)
    result = CronSchedule("0 30 * * * ?").next_fire_after(second_pass)
    assert (result.hour, result.minute, result.fold) == (2, 30, 1)
    assert result.astimezone(UTC) == utc(2024, 10, 27, 1, 30)
    # A daily 02:30 job whose first-pass 02:30 is already an hour behind: tomorrow.
    later = datetime(2024, 10, 27, 2, 40, tzinfo=BERLIN, fold=1)
    assert CronSchedule("0 30 2 * * ?").next_fire_after(later).astimezone(UTC) == utc(
        2024, 10, 28, 1, 30
    )


def test_a_year_of_hourly_fires_in_berlin_never_goes_backwards() -> None:
    start = datetime(2023, 12, 31, 23, tzinfo=BERLIN)
    schedule, fires, t = CronSchedule("0 0 * * * ?"), [], start
    while (t := schedule.next_fire_after(t)).year == 2024:
        fires.append(t)
    assert_real_and_increasing(start, fires)
    # 366 days x 24 wall hours, less the 02:00 that spring forward merges into 03:00.
    assert len(fires) == 366 * 24 - 1
    assert len({f.astimezone(UTC) for f in fires}) == len(fires)


@pytest.mark.parametrize("tz", [UTC, timezone(timedelta(hours=-5)), timezone(CEST)])
def test_fixed_offsets_are_plain_wall_clock_arithmetic(tz: timezone) -> None:
    after = datetime(2024, 3, 31, 1, 59, 59, 999_999, tzinfo=tz)
    result = CronSchedule("0 30 2 * * ?").next_fire_after(after)
    assert result == datetime(2024, 3, 31, 2, 30, tzinfo=tz)
    assert result.tzinfo is tz


def test_naive_stays_naive() -> None:
    result = CronSchedule("0 30 2 * * ?").next_fire_after(datetime(2024, 3, 31, 1))
    assert result == datetime(2024, 3, 31, 2, 30) and result.tzinfo is None


def test_strictly_after_drops_microseconds_and_adds_a_second() -> None:
    every_second = CronSchedule("* * * * * ?")
    assert every_second.next_fire_after(datetime(2024, 1, 1, 6, 0, 0, 999_999)) == datetime(
        2024, 1, 1, 6, 0, 1
    )
    assert every_second.next_fire_after(datetime(2024, 12, 31, 23, 59, 59, 1)) == datetime(
        2025, 1, 1
    )
    # The end of the first pass of the repeated hour: the wall clock goes on to 03:00 CET.
    zoned = datetime(2024, 10, 27, 2, 59, 59, 500_000, tzinfo=BERLIN)
    assert every_second.next_fire_after(zoned).astimezone(UTC) == utc(2024, 10, 27, 2, 0)
    second_pass = zoned.replace(fold=1)
    assert every_second.next_fire_after(second_pass).astimezone(UTC) == utc(2024, 10, 27, 2, 0)
