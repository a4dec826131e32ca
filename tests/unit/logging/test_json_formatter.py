"""JsonFormatter: one JSON object per line, UTC timestamps, optional fields."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timedelta

from cosalette._logging import JsonFormatter


def _record(
    msg: str = "hello %s",
    args: tuple[object, ...] = ("world",),
    *,
    exc: bool = False,
    stack: str | None = None,
) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom\nsecond line")
        except RuntimeError:
            exc_info = sys.exc_info()
    record = logging.LogRecord(
        "cosalette.test", logging.WARNING, __file__, 1, msg, args, exc_info, sinfo=stack
    )
    record.created = 1_700_000_000.25
    return record


def test_basic_fields() -> None:
    line = JsonFormatter(service="gas2mqtt", version="1.2.3").format(_record())
    entry = json.loads(line)
    assert entry == {
        "timestamp": "2023-11-14T22:13:20.250000+00:00",
        "level": "WARNING",
        "logger": "cosalette.test",
        "message": "hello world",
        "service": "gas2mqtt",
        "version": "1.2.3",
    }
    ts = datetime.fromisoformat(entry["timestamp"])
    assert ts.utcoffset() == timedelta(0)


def test_version_omitted_when_empty() -> None:
    entry = json.loads(JsonFormatter(service="svc").format(_record()))
    assert "version" not in entry
    assert entry["service"] == "svc"
    assert "exception" not in entry
    assert "stack_info" not in entry


def test_exception_is_included_on_one_line() -> None:
    line = JsonFormatter().format(_record(exc=True))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["exception"].startswith("Traceback")
    assert "RuntimeError: boom\nsecond line" in entry["exception"]


def test_stack_info_included() -> None:
    entry = json.loads(JsonFormatter().format(_record(stack="Stack (most recent call last):\n  x")))
    assert entry["stack_info"].startswith("Stack")


def test_no_line_breaks_of_any_kind() -> None:
    nasty = "a\nb\rc\u2028d\u2029e\x85f\x0bg\x0ch\x1ci"
    line = JsonFormatter().format(_record("%s", (nasty,)))
    assert len(line.splitlines()) == 1
    assert json.loads(line)["message"] == nasty


def test_non_ascii_kept_readable() -> None:
    line = JsonFormatter().format(_record("Gaszähler %s", ("°C",)))
    assert "Gaszähler °C" in line


def test_unserialisable_args_do_not_break() -> None:
    entry = json.loads(JsonFormatter().format(_record("%s", (object(),))))
    assert entry["message"].startswith("<object object")
