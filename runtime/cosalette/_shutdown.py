"""Shutdown: signals, exit codes, the teardown watchdog, and sleeps that shutdown interrupts.

A sleeping handler task is registered in a :class:`SleepRegistry`; when shutdown is signalled
the registry cancels exactly those sleeps, and :func:`interruptible_sleep` turns that
cancellation back into a normal return.  This keeps a telemetry cycle to one await on the clock.

:class:`ProcessShutdown` is for a process that runs one app (``app.cli()``, ``cosactl run``):
the first SIGTERM/SIGINT asks for shutdown, a second one, or a teardown that outlives its
deadline, ends the process at once with the first signal's exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import FrameType, TracebackType
from typing import Any, NoReturn, ParamSpec, Protocol, TypeVar

from cosalette._clock import ClockPort

P = ParamSpec("P")
T = TypeVar("T")

logger = logging.getLogger("cosalette")

EXIT_CODES: dict[int, int] = {signal.SIGTERM: 0, signal.SIGINT: 0}
"""The exit code of a stop asked for by each signal: a requested stop is a clean exit."""

_WAKE = "cosalette-shutdown-wake"


class SleepRegistry:
    """Tracks tasks sleeping in :func:`interruptible_sleep` for one shutdown event."""

    def __init__(self, shutdown_event: asyncio.Event) -> None:
        self.event = shutdown_event
        self._sleepers: set[asyncio.Task[object]] = set()
        self._woken: set[asyncio.Task[object]] = set()
        self._watcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start watching the event (needs a running loop)."""
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        """Stop the watcher task."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    @property
    def active(self) -> bool:
        """Whether a watcher is running, so sleeps can take the fast path."""
        return self._watcher is not None and not self._watcher.done()

    async def _watch(self) -> None:
        await self.event.wait()
        self.wake_all()

    def wake_all(self) -> None:
        """Interrupt every registered sleep."""
        for task in list(self._sleepers):
            if task not in self._woken:
                self._woken.add(task)
                task.cancel(_WAKE)

    async def sleep(self, clock: ClockPort, seconds: float) -> None:
        """Sleep on *clock*; return early and quietly when shutdown is signalled."""
        task: asyncio.Task[object] | None = asyncio.current_task()
        if task is None or not self.active:
            await _racing_sleep(clock, seconds, self.event)
            return
        self._sleepers.add(task)
        try:
            await clock.sleep(seconds)
        except asyncio.CancelledError:
            if task in self._woken:
                self._woken.discard(task)
                task.uncancel()
                return
            raise
        finally:
            self._sleepers.discard(task)
        if task in self._woken:  # woken after the sleep had already completed
            self._woken.discard(task)
            task.uncancel()


async def _racing_sleep(clock: ClockPort, seconds: float, event: asyncio.Event) -> None:
    """Slow path for contexts built outside the runtime: race the sleep against the event."""
    if event.is_set():
        return
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in (sleeper, waiter):
            if not fut.done():
                fut.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await fut


async def interruptible_sleep(
    clock: ClockPort,
    seconds: float,
    event: asyncio.Event,
    registry: SleepRegistry | None,
) -> None:
    """Sleep for *seconds* unless *event* is (or becomes) set."""
    if event.is_set():
        return
    if registry is not None:
        await registry.sleep(clock, seconds)
    else:
        await _racing_sleep(clock, seconds, event)


def install_signal_handlers(event: asyncio.Event) -> Callable[[], None]:
    """SIGINT/SIGTERM set *event* (loop signal handlers); returns a function that removes them."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, event.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            continue

    def remove() -> None:
        for sig in installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)

    return remove


class Watched(Protocol):
    """What the watchdog reads of a run, from its own thread."""

    @property
    def will_topic(self) -> str:
        """The topic the app's last will sets to ``offline``."""
        ...

    def stuck(self, loop: asyncio.AbstractEventLoop, *, blocked: bool) -> list[str]:
        """A log line for each handler teardown still waits for."""
        ...


_DONE = 0  # bytes the watchdog reads besides signal numbers: it may stop
_PONG = 1  # the loop ran a callback the watchdog posted


class ProcessShutdown:
    """The signals of a process that runs one app, and a watchdog over its teardown.

    The first SIGTERM/SIGINT sets :attr:`event`. A second one ends the process at once; so does
    a loop still blocked *probe* s after *grace*, or a teardown unfinished after *grace* +
    *margin*. Each such exit names what it abandons and uses the first signal's exit code.
    The signal handler only writes a byte to a socket; a daemon thread does the rest.
    """

    def __init__(self, *, grace: float, margin: float, probe: float) -> None:
        self.event = asyncio.Event()
        self.signum: int | None = None
        self._grace, self._margin, self._probe = grace, margin, probe
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watched: Watched | None = None
        self._previous: dict[int, Any] = {}
        self._thread: threading.Thread | None = None
        self._inbox, self._outbox = socket.socketpair()
        self._outbox.setblocking(False)

    @property
    def exit_code(self) -> int:
        """The code the process ends with: the first signal's (0 before any)."""
        return EXIT_CODES.get(self.signum, 0) if self.signum is not None else 0

    def __enter__(self) -> ProcessShutdown:
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._on_signal)
        except ValueError:  # not the main thread: no signals, no watchdog
            return self
        self._thread = threading.Thread(target=self._watch, name="cosalette-watchdog", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        if self._thread is not None:
            self._send(_DONE)
            self._thread.join(1.0)
        self._inbox.close()
        self._outbox.close()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop :attr:`event` lives in (a signal that came first sets it now)."""
        self._loop = loop
        if self.signum is not None:
            self.event.set()

    def watch(self, watched: Watched) -> None:
        """The run whose stuck handlers an exit names."""
        self._watched = watched

    def exit_now(self, lines: list[str], *, connected: bool) -> NoReturn:
        """Log *lines* and why, flush the logs, and end the process with :attr:`exit_code`."""
        for line in lines:
            logger.error("%s", line)
        code = self.exit_code
        if connected:
            topic = self._watched.will_topic if self._watched is not None else "its status topic"
            logger.error(
                "exiting now (code %d) without a clean MQTT disconnect: "
                "the broker publishes the app's last will, %s = offline",
                code,
                topic,
            )
        else:
            logger.error("exiting now (code %d) without waiting for what was abandoned", code)
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):
                handler.flush()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._send(signum)  # no locks, no logging: the watchdog thread does the rest

    def _send(self, byte: int) -> None:
        with contextlib.suppress(OSError):
            self._outbox.send(bytes([byte]))

    # --- the watchdog thread ------------------------------------------------------------

    def _watch(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # the sockets closed under it
            self._watch_teardown()

    def _watch_teardown(self) -> None:
        first = self._next(None)
        if first in (None, _DONE, _PONG):
            return
        self._first(first)
        start = time.monotonic()
        if self._wait(start + self._grace) == _DONE:
            return
        loop = self._loop
        if loop is not None:  # is the loop still turning, or blocked in a handler?
            with contextlib.suppress(RuntimeError):  # closed: asyncio.run is ending
                loop.call_soon_threadsafe(self._send, _PONG)
            answer = self._wait(time.monotonic() + self._probe, pong=True)
            if answer == _DONE:
                return
            if answer is None:
                self._expire(blocked=True)
        if self._wait(start + self._grace + self._margin) != _DONE:
            self._expire(blocked=False)

    def _next(self, deadline: float | None) -> int | None:
        timeout = None if deadline is None else max(0.001, deadline - time.monotonic())
        self._inbox.settimeout(timeout)
        try:
            data = self._inbox.recv(1)
        except TimeoutError:
            return None
        if not data:
            raise OSError("the watchdog's socket was closed")
        return data[0]

    def _wait(self, deadline: float, *, pong: bool = False) -> int | None:
        """Read until *deadline* (``None``), ``_DONE``, or ``_PONG`` if *pong*; signals exit."""
        while True:
            byte = self._next(deadline)
            if byte is None or byte == _DONE or (pong and byte == _PONG):
                return byte
            if byte != _PONG:
                name = signal.Signals(byte).name
                self.exit_now([f"second {name} during shutdown"], connected=True)

    def _first(self, signum: int) -> None:
        self.signum = signum
        logger.info(
            "%s received: stopping (handlers get %g s; a second signal ends the process at once)",
            signal.Signals(signum).name,
            self._grace,
        )
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.event.set)

    def _expire(self, *, blocked: bool) -> None:
        watched, loop = self._watched, self._loop
        if watched is not None and loop is not None:
            lines = watched.stuck(loop, blocked=blocked)
        else:
            lines = [f"shutdown did not finish within {self._grace + self._margin:g} s"]
        self.exit_now(lines, connected=True)


class TrackingExecutor(ThreadPoolExecutor):
    """A loop's default executor that knows which calls have not returned, and who made them.

    A thread stuck in a call would otherwise keep the interpreter from exiting: the executor
    joins its threads at exit.
    """

    def __init__(self) -> None:
        super().__init__(thread_name_prefix="asyncio")
        self._calls: dict[Future[Any], tuple[str, str | None]] = {}
        self.caller: Callable[[FrameType | None], str | None] | None = None
        """Names the handler making a call, from the calling frame."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Submit *fn* and remember it (and who called) until it returns."""
        future = super().submit(fn, *args, **kwargs)
        who = self.caller(inspect.currentframe()) if self.caller is not None else None
        self._calls[future] = (call_name(fn, args), who)
        future.add_done_callback(self._forget)
        if future.done():  # it may have finished before it was remembered
            self._forget(future)
        return future

    def _forget(self, future: Future[Any]) -> None:
        self._calls.pop(future, None)

    def unfinished(self) -> list[tuple[str, str | None]]:
        """Each call still running: its name and the handler that made it."""
        return list(self._calls.values())


def call_name(fn: Callable[..., Any], args: tuple[Any, ...]) -> str:
    """``module.qualname`` of the function a ``run_in_executor``/``to_thread`` call runs."""
    while isinstance(fn, functools.partial):
        partial: functools.partial[Any] = fn
        fn, args = partial.func, (*partial.args, *args)
    if isinstance(getattr(fn, "__self__", None), contextvars.Context) and args:
        return call_name(args[0], args[1:])  # asyncio.to_thread: Context.run(func, ...)
    module = getattr(fn, "__module__", None) or "?"
    return f"{module}.{getattr(fn, '__qualname__', repr(fn))}"
