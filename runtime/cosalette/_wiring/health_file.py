"""The health file: a small JSON document a running app keeps fresh (``[health]`` settings).

Every ``interval`` seconds, and as soon as the broker connection comes or goes, the run writes
its pid, version, broker, connection state and device statuses (what the heartbeat knows) to
the file, atomically (a temporary file in the same folder, fsync, rename); at the end of
teardown it writes ``"status": "stopped"``. ``cosactl health`` and ``python -m cosalette
health`` judge it (``cosalette._health_check``). A write that fails is logged once, and the
app goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cosalette._app.description import AppDescription
from cosalette._health import HealthReporter
from cosalette._health_check import default_health_path
from cosalette._json import dumps
from cosalette._settings import Settings

__all__ = ["POLL", "HealthFile", "health_file_for"]

logger = logging.getLogger("cosalette")

POLL = 1.0
"""How often (s) the connection state is looked at, so a change is written within this."""

_STOP_WAIT = 1.0  # how long the "stopped" write waits for a write still in progress, s


def health_file_for(
    app: AppDescription,
    settings: Settings,
    mqtt: object,
    reporter: HealthReporter,
    own_client: bool,
) -> HealthFile | None:
    """The run's health file, or ``None`` when ``[health]`` turns it off.

    A run handed its MQTT client from outside (*own_client* false: the testing kit, an
    embedding) writes it only when ``health.file`` names one, so tests never overwrite a live
    daemon's file.
    """
    options = settings.health
    if not options.enabled or (not options.file and not own_client):
        return None
    if options.file:
        path = Path(options.file).expanduser()
    else:
        try:
            store_file = getattr(app.store, "path", None)  # a file store or sqlite factory
            path = default_health_path(
                app.name, store_file if isinstance(store_file, Path) else None
            )
        except ValueError as exc:
            logger.warning("%s: no health file: %s (set [health] file)", app.name, exc)
            return None
    return HealthFile(
        path,
        app=app.name,
        version=app.version,
        mqtt=mqtt,
        reporter=reporter,
        interval=options.interval,
        stale_after=options.max_age,
        broker_unreachable_limit=options.broker_unreachable_limit,
    )


class HealthFile:
    """Writes one run's health document to *path*; never raises on a failed write."""

    def __init__(
        self,
        path: Path,
        *,
        app: str,
        version: str,
        mqtt: object,
        reporter: HealthReporter,
        interval: float,
        stale_after: float,
        broker_unreachable_limit: float,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.app = app
        self.version = version
        self.interval = interval
        self.stale_after = stale_after
        self.broker_unreachable_limit = broker_unreachable_limit
        self._mqtt = mqtt
        self._reporter = reporter
        self._wall = wall
        self._connected: bool | None = None  # None: not looked at yet
        self._since: float | None = None  # wall time the connection was found down
        self._devices: dict[str, str] = {}
        self._lock = threading.Lock()  # one write at a time; "stopped" is the last one
        self._stopped = False
        self._failing = False
        self.writes = 0
        """Successful writes so far."""

    # --- what is written -----------------------------------------------------------------

    def _connected_now(self) -> bool:
        value = getattr(self._mqtt, "is_connected", None)
        return True if value is None else bool(value)  # test doubles: always connected

    def observe(self) -> bool:
        """Look at the broker connection; ``True`` when it changed since the last look."""
        connected = self._connected_now()
        if connected == self._connected:
            return False
        self._connected = connected
        self._since = None if connected else self._wall()
        return True

    def snapshot(self, status: str = "running") -> dict[str, Any]:
        """The document to write now (*status* ``"running"`` or ``"stopped"``)."""
        if self._connected is None:
            self.observe()
        if status == "running":
            self._devices = self._reporter.statuses()
        now = self._wall()
        broker = getattr(self._mqtt, "broker", None)
        return {
            "pid": os.getpid(),
            "app": self.app,
            "version": self.version,
            "status": status,
            "written_at": round(now, 3),
            "written_at_iso": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
            "connected": bool(self._connected),
            "disconnected_since": None if self._since is None else round(self._since, 3),
            "broker": broker if isinstance(broker, str) else None,
            "devices": dict(self._devices),
            "interval": self.interval,
            "stale_after": self.stale_after,
            "broker_unreachable_limit": self.broker_unreachable_limit,
        }

    # --- writing -------------------------------------------------------------------------

    def write(self, doc: dict[str, Any]) -> bool:
        """Write *doc* atomically (thread-safe); ``False`` when it failed (logged once)."""
        with self._lock:
            if self._stopped:
                return False  # a late periodic write never hides "stopped"
            return self._write_locked(doc)

    def _write_locked(self, doc: dict[str, Any]) -> bool:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, (dumps(doc) + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if not self._failing:
                self._failing = True
                logger.warning(
                    "%s: cannot write the health file %s: %s (retrying quietly; "
                    "`cosactl health` reports the app unhealthy until it works)",
                    self.app,
                    self.path,
                    exc.strerror or exc,
                )
            return False
        if self._failing:
            self._failing = False
            logger.info("%s: the health file %s is written again", self.app, self.path)
        self.writes += 1
        return True

    async def run(self, sleep: Callable[[float], Awaitable[None]], stop: asyncio.Event) -> None:
        """Write now, then every ``interval`` s and on every connection change, until *stop*.

        *sleep* is the run's interruptible sleep (it returns early when *stop* is set).
        """
        logger.info("%s: health file %s (every %g s)", self.app, self.path, self.interval)
        poll = min(POLL, self.interval)
        due = 0.0
        while not stop.is_set():
            if self.observe() or due <= 0:
                due = self.interval
                try:
                    await asyncio.to_thread(self.write, self.snapshot())  # fsync off the loop
                except Exception:  # never the daemon's end; a failed write is logged in write()
                    logger.exception("%s: health file %s not written", self.app, self.path)
            await sleep(poll)
            due -= poll

    def stop(self) -> None:
        """Write ``"status": "stopped"`` (the last write; later ones are dropped)."""
        if not self._lock.acquire(timeout=_STOP_WAIT):
            logger.warning("%s: health file %s is still being written", self.app, self.path)
            self._stopped = True
            return
        try:
            self._stopped = True
            self._write_locked(self.snapshot("stopped"))
        finally:
            self._lock.release()
