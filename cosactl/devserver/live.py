"""What ``cosactl dev`` shows: a live table on a terminal, plain log lines otherwise.

Both views read the project's MQTT traffic (``{prefix}/#``, observed by :func:`observe`) into
a :class:`Board`: one row per device with its last state, age, publishes, errors and
availability, plus the last reload. A stream (a device the heartbeat reports with ``dropped``)
shows its items per second (messages under ``{prefix}/{stream}/``) and drops instead.

``cosactl watch`` shows the same views for a production broker (the reading loop both share is
:func:`cosactl.devserver.follow.follow`), and a board may follow one device only
(``Board.only``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from cosalette._topics import AVAILABILITY, ERROR, STATE, STATUS, split_topic

if TYPE_CHECKING:
    pass

__all__ = ["Board", "LiveView", "PlainView", "Reload", "make_view"]

FRAME_INTERVAL = 0.2  # at most five redraws a second
RATE_WINDOW = 5.0  # items/s of a stream: its messages over the last five seconds
ROOT = "(app)"


@dataclass
class Reload:
    """One reload, with the timings the view and the benchmark report."""

    number: int
    reason: str
    noticed: float  # time.monotonic() when the change was seen
    pid: int | None = None
    import_ms: float | None = None
    prepare_ms: float | None = None
    ready_ms: float | None = None  # change seen -> new child ready
    swap_ms: float | None = None  # old child stopped, new one told to go
    first_state_ms: float | None = None  # change seen -> first state from the new child
    went_at: float | None = None
    error: str | None = None

    @property
    def head(self) -> str:
        """``reload #3 (devices/counter.py)``, or ``start``."""
        return f"reload #{self.number} ({self.reason})" if self.number else "start"

    def summary(self) -> str:
        """One line: what changed and how long it took, or the error."""
        head = self.head
        if self.error is not None:
            first = self.error.strip().splitlines()[0] if self.error.strip() else "failed"
            keep = "; the previous version keeps running" if self.number else ""
            return f"{head} failed: {first}{keep}"
        if self.went_at is None:
            return f"{head}: starting..."
        parts = [f"ready in {self.ready_ms:.0f} ms"]
        if self.import_ms is not None and self.prepare_ms is not None:
            parts.append(f"import {self.import_ms:.0f} ms, wiring {self.prepare_ms:.0f} ms")
        if self.swap_ms is not None and self.number:
            parts.append(f"old stopped in {self.swap_ms:.0f} ms")
        if self.first_state_ms is not None:
            parts.append(f"first state after {self.first_state_ms:.0f} ms")
        return f"{head}: " + ", ".join(parts)


@dataclass
class DeviceRow:
    """The live view's row for one device."""

    name: str
    state: str = ""
    state_at: float | None = None
    publishes: int = 0
    errors: int = 0
    availability: str = "-"
    stream: bool = False
    dropped: int = 0
    recent: collections.deque[float] = field(default_factory=collections.deque)

    def seen(self, now: float) -> None:
        """Note one message now, for the items-per-second rate."""
        self.recent.append(now)
        while self.recent and self.recent[0] < now - RATE_WINDOW:
            self.recent.popleft()

    def rate(self, now: float) -> float:
        """Messages per second over the last :data:`RATE_WINDOW` seconds."""
        return sum(1 for t in self.recent if t >= now - RATE_WINDOW) / RATE_WINDOW


@dataclass
class Board:
    """The traffic seen so far under one topic prefix."""

    prefix: str
    devices: dict[str, DeviceRow] = field(default_factory=dict)
    status: str = "-"
    heartbeat_at: float | None = None
    """When the last live (not retained) heartbeat arrived."""
    app_errors: int = 0
    last_reload: Reload | None = None
    only: str | None = None
    """Follow this device only (and its sub-entities): other devices' messages and the app's
    error topic (it repeats every device's errors) are ignored; the heartbeat is kept."""

    def row(self, name: str) -> DeviceRow:
        """The row of *name*, created on first sight."""
        found = self.devices.get(name)
        if found is None:
            found = self.devices[name] = DeviceRow(name)
        return found

    def device_of(self, topic: str) -> str | None:
        """The row *topic* belongs to (``(app)`` for the root device, a stream's name for its
        items), or ``None`` for the app's own topics and topics no row shows."""
        parts = split_topic(self.prefix, topic)
        if parts is None:
            return None
        device, kind = parts
        if kind not in (STATE, AVAILABILITY, ERROR):
            return self._stream_of(topic)
        if not device and kind == ERROR:
            return None
        return device or ROOT

    def follows(self, topic: str) -> bool:
        """Whether *topic* is shown under :attr:`only` (always true without it)."""
        if self.only is None:
            return True
        parts = split_topic(self.prefix, topic)
        if parts is not None and parts == ("", STATUS):
            return True
        name = self.device_of(topic)
        return name is not None and (name == self.only or name.startswith(self.only + "/"))

    def on_message(self, topic: str, payload: str, retain: bool, now: float) -> str | None:
        """Record one message; returns ``"state"``, ``"error"``... or ``None`` when ignored."""
        parts = split_topic(self.prefix, topic)
        if parts is None:
            return None
        device, kind = parts
        if not device and kind == STATUS:
            self.status = "offline" if payload == "offline" else "online"
            if not retain and payload != "offline":
                self.heartbeat_at = now
            self._heartbeat(payload)
            return "status"
        if not self.follows(topic):
            return None
        if not device and kind == ERROR:
            self.app_errors += 0 if retain else 1
            return "error"
        if kind not in (STATE, AVAILABILITY, ERROR):
            stream = self._stream_of(topic)
            if stream is None or retain:
                return None
            self.row(stream).seen(now)
            return "item"
        row = self.row(device or ROOT)
        if kind == "state":
            row.state = payload
            if not retain:
                row.state_at = now
                row.publishes += 1
                row.seen(now)
                pending = self.last_reload
                if pending and pending.went_at and pending.first_state_ms is None:
                    pending.first_state_ms = (now - pending.noticed) * 1000
        elif kind == "availability":
            row.availability = payload
        elif not retain:
            row.errors += 1
        return kind

    def _heartbeat(self, payload: str) -> None:
        """Mark the devices the heartbeat reports with ``dropped`` as streams; keep the count."""
        try:
            devices = json.loads(payload).get("devices")
        except (ValueError, AttributeError):
            return
        if not isinstance(devices, dict):
            return
        for name, info in devices.items():
            dropped = info.get("dropped") if isinstance(info, dict) else None
            followed = self.only is None or name == self.only
            if isinstance(dropped, int) and isinstance(name, str) and followed:
                row = self.row(name)
                row.stream, row.dropped = True, dropped

    def _stream_of(self, topic: str) -> str | None:
        """The stream whose ``{prefix}/{stream}/...`` holds *topic*, if any."""
        rest = topic[len(self.prefix) + 1 :]
        for name, row in self.devices.items():
            if row.stream and rest.startswith(name + "/"):
                return name
        return None


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _age(now: float, then: float | None) -> str:
    if then is None:
        return "-"
    seconds = max(now - then, 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h"


class PlainView:
    """Log lines: session events, each message, the children's output."""

    def __init__(self, prefix: str, stream: TextIO | None = None) -> None:
        self.board = Board(prefix)
        self.stream = stream or sys.stdout
        self._reported: set[int] = set()

    def _line(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"{stamp} dev: {text}", file=self.stream, flush=True)

    def info(self, text: str) -> None:
        """A session event."""
        self._line(text)

    def problem(self, text: str) -> None:
        """An error (several lines are fine)."""
        self._line(text)

    def output(self, line: str) -> None:
        """A line the app printed or logged, as it is."""
        print(line, file=self.stream, flush=True)

    def reloaded(self, record: Reload) -> None:
        """A reload finished (or failed)."""
        self.board.last_reload = record
        self._line(record.summary())

    def message(self, topic: str, payload: str, retain: bool) -> None:
        """One message under the prefix; the first state after a reload is timed."""
        reload = self.board.last_reload
        before = reload.first_state_ms if reload else None
        kind = self.board.on_message(topic, payload, retain, time.monotonic())
        if kind is None:
            return
        self._line(f"{topic} {'(retained) ' if retain else ''}{_shorten(payload, 200)}")
        if reload is not None and before is None and reload.first_state_ms is not None:
            what = f"reload #{reload.number}" if reload.number else "start"
            self._line(f"{what}: first state after {reload.first_state_ms:.0f} ms")

    async def run(self) -> None:
        """Nothing to redraw."""
        await asyncio.Event().wait()

    def close(self) -> None:
        """Nothing to clean up."""


class LiveView(PlainView):
    """A table redrawn in place (ANSI), with log lines scrolling above it."""

    def __init__(self, prefix: str, header: str, stream: TextIO | None = None) -> None:
        super().__init__(prefix, stream or sys.stdout)
        self.header = header
        self._pending: list[str] = []
        self._height = 0
        self._dirty = True

    def _line(self, text: str) -> None:
        self._pending.append(f"{time.strftime('%H:%M:%S')} {text}")
        self._dirty = True

    def output(self, line: str) -> None:
        """A line of the app, shown above the table."""
        self._pending.append(line)
        self._dirty = True

    def message(self, topic: str, payload: str, retain: bool) -> None:
        """Messages update the table only."""
        self.board.on_message(topic, payload, retain, time.monotonic())
        self._dirty = True

    def reloaded(self, record: Reload) -> None:
        """The reload line of the table."""
        self.board.last_reload = record
        if record.error is not None:
            self._pending.append(f"{time.strftime('%H:%M:%S')} \x1b[31m{record.error}\x1b[0m")
        self._dirty = True

    def frame(self, width: int) -> list[str]:
        """The table as lines no wider than *width*."""
        now = time.monotonic()
        board = self.board
        rows = list(board.devices.values())
        name_w = min(max([6, *(len(r.name) for r in rows)]), 28)
        state_w = max(width - name_w - 30, 10)
        status = board.status + (f", {board.app_errors} app errors" if board.app_errors else "")
        if board.heartbeat_at is not None and board.status == "online":
            status += f", heartbeat {_age(now, board.heartbeat_at)} ago"
        lines = [f"\x1b[1m{_shorten(self.header + ' · app ' + status, width)}\x1b[0m"]
        lines.append(
            f"{'DEVICE':<{name_w}} {'STATE':<{state_w}} {'AGE':>6} {'PUB':>5} {'ERR':>4}  AVAIL"
            + (" | STREAM ITEMS/S, DROPS" if any(r.stream for r in rows) else "")
        )
        for row in rows:
            avail = row.availability
            color = "\x1b[32m" if avail == "online" else "\x1b[33m" if avail == "offline" else ""
            if row.stream:
                avail = f"{row.rate(now):.1f}/s, {row.dropped} dropped"
                color = "\x1b[33m" if row.dropped else ""
            errors = f"\x1b[31m{row.errors:>4}\x1b[0m" if row.errors else f"{row.errors:>4}"
            lines.append(
                f"{_shorten(row.name, name_w):<{name_w}} {_shorten(row.state, state_w):<{state_w}} "
                f"{_age(now, row.state_at):>6} {row.publishes:>5} {errors}  "
                f"{color}{avail}\x1b[0m"
            )
        if not rows:
            idle = f"waiting for {board.only}" if board.only else "no device has published yet"
            lines.append(f"({idle})")
        summary, red = self.status_line()
        lines.append(("\x1b[31m" if red else "") + _shorten(summary, width) + "\x1b[0m")
        lines.append("\x1b[2mCtrl-C stops the session\x1b[0m")
        return lines

    def status_line(self) -> tuple[str, bool]:
        """The line under the rows and whether it is an error (red): the last reload."""
        reload = self.board.last_reload
        summary = reload.summary() if reload else "starting..."
        return summary, reload is not None and reload.error is not None

    def render(self) -> None:
        """Redraw: clear the old table, print pending lines, draw the table."""
        width = shutil.get_terminal_size((100, 24)).columns - 1
        out = [f"\x1b[{self._height}F\x1b[J"] if self._height else []
        out += [line + "\n" for line in self._pending]
        self._pending.clear()
        frame = self.frame(width)
        out += [line + "\n" for line in frame]
        self._height = len(frame)
        self.stream.write("".join(out))
        self.stream.flush()
        self._dirty = False

    async def run(self) -> None:
        """Redraw when something changed, and once a second for the ages."""
        last = 0.0
        while True:
            now = time.monotonic()
            if self._dirty or now - last >= 1.0:
                self.render()
                last = now
            await asyncio.sleep(FRAME_INTERVAL)

    def close(self) -> None:
        """Leave the last table on screen."""
        with contextlib.suppress(Exception):
            self.render()


def make_view(prefix: str, header: str, *, live: bool) -> PlainView:
    """The table on a terminal (unless *live* is false), else plain log lines."""
    if live and sys.stdout.isatty():
        return LiveView(prefix, header)
    return PlainView(prefix)
