"""Stopping a run's handlers: a grace period, then cancellation, then abandonment, each logged.

A handler that ignores cancellation or blocks the event loop cannot be stopped by asyncio. It
is left behind with a log line naming it, so teardown goes on; the foreground runner then ends
the process anyway (:class:`cosalette._shutdown.ProcessShutdown`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Awaitable, Iterable
from types import CodeType, FrameType
from typing import Any

from cosalette._app.registration import ResolvedRegistrations
from cosalette._runners.fifo import EntityQueue
from cosalette._stop_timing import CANCEL_GRACE, TEARDOWN_GRACE, TEARDOWN_MARGIN
from cosalette._wiring.builder import Wiring

__all__ = [
    "CANCEL_GRACE",
    "TEARDOWN_GRACE",
    "TEARDOWN_MARGIN",
    "RunningHandlers",
    "handler_label",
]

logger = logging.getLogger("cosalette")


def handler_label(regs: ResolvedRegistrations, kind: str, name: str) -> str:
    """How log lines name the handler(s) a task of *kind* runs for *name*."""
    if kind == "group":
        members = [r.label for r in regs.telemetry if r.group == name]
        return f"group '{name}' ({', '.join(members)})"
    by_kind: dict[str, Iterable[Any]] = {
        "telemetry": regs.telemetry,
        "command": regs.commands,
        "device": regs.devices,
        "periodic": regs.periodic,
        "stream": regs.streams,
    }
    labels = [r.label for r in by_kind.get(kind, ()) if r.name == name]
    return " / ".join(labels) if labels else f"{kind} '{name}'"


class RunningHandlers:
    """A run's tasks and command queues, each with the label its log lines name it by."""

    def __init__(self) -> None:
        self._tasks: dict[asyncio.Task[None], str] = {}
        self._queues: list[tuple[EntityQueue[Any], str]] = []
        self._code_labels: dict[CodeType, str] = {}  # each handler function's code: its label
        self._thread: int | None = None  # the loop's thread
        self.abandoned: list[str] = []
        """Labels of handlers that did not end when cancelled (their tasks stay pending)."""

    def spawn(
        self, coro: Awaitable[None], regs: ResolvedRegistrations, kind: str, name: str = ""
    ) -> None:
        """Run *coro* as a task named ``cosalette:<kind>:<name>`` and track it."""
        task = asyncio.ensure_future(coro)
        task.set_name(f"cosalette:{kind}:{name}" if name else f"cosalette:{kind}")
        self._tasks[task] = handler_label(regs, kind, name) if name else f"cosalette {kind}"

    def track(self, wiring: Wiring, regs: ResolvedRegistrations) -> None:
        """Know the handlers of *regs* and every command queue of *wiring* (in the loop)."""
        self._thread = threading.get_ident()
        for reg in regs.all():
            code = getattr(reg.func, "__code__", None)
            if isinstance(code, CodeType):
                self._code_labels[code] = reg.label
        for unit in wiring.units:
            if unit.commands is not None:
                label = handler_label(regs, "command", unit.name)
                self._queues.append((unit.commands.queue, label))
            if unit.device_commands is not None:
                label = handler_label(regs, "device", unit.name)
                self._queues.append((unit.device_commands.queue, f"{label} on_command"))

    def label_of(self, task: asyncio.Task[Any] | None) -> str | None:
        """The label of *task*, if it is one of ours."""
        return self._tasks.get(task) if task is not None else None

    def running(self) -> list[str]:
        """Labels of the handlers still running; safe to call from another thread."""
        tasks = [label for task, label in list(self._tasks.items()) if not task.done()]
        return tasks + [label for queue, label in list(self._queues) if queue.busy]

    def caller(self, frame: FrameType | None) -> str | None:
        """The label of the innermost handler whose code is running in *frame* or its callers."""
        while frame is not None:
            label = self._code_labels.get(frame.f_code)
            if label is not None:
                return label
            frame = frame.f_back
        return None

    def blocking(self, loop: asyncio.AbstractEventLoop) -> list[str]:
        """Asked from another thread: the handler the loop is running now, i.e. blocked in."""
        if self._thread is not None:
            frames = sys._current_frames()  # noqa: SLF001 - documented, despite the underscore
            label = self.caller(frames.get(self._thread))
            if label is not None:
                return [label]
        current = asyncio.current_task(loop)
        if current is None:
            return []
        label = self._tasks.get(current)
        if label is not None:
            return [label]
        busy = [label for queue, label in list(self._queues) if queue.busy]  # a queue's task
        coro = getattr(current.get_coro(), "__qualname__", "?")
        return busy or [f"task {current.get_name()} ({coro})"]

    async def stop(self) -> None:
        """Wait TEARDOWN_GRACE s for every handler, cancel the rest, abandon what outlives
        CANCEL_GRACE. Queued commands not yet started are dropped."""
        grace, cancel_grace = TEARDOWN_GRACE, CANCEL_GRACE
        joins: dict[asyncio.Future[None], str] = {
            asyncio.ensure_future(queue.join()): label for queue, label in self._queues
        }
        waiting: dict[asyncio.Future[None], str] = {t: label for t, label in self._tasks.items()}
        waiting.update(joins)
        pending: set[asyncio.Future[None]] = set()
        if waiting:
            _, pending = await asyncio.wait(waiting, timeout=grace)
        stopping: dict[asyncio.Future[None], str] = {}
        for future in pending:
            future.cancel()
            if future not in joins:
                logger.warning("%s did not stop within %g s; cancelling it", waiting[future], grace)
                stopping[future] = waiting[future]
        for queue, label in self._queues:  # a busy queue cancels the handler it is running
            if queue.busy:
                logger.warning("%s did not stop within %g s; cancelling it", label, grace)
            stopping[asyncio.ensure_future(queue.cancel())] = label
        left: set[asyncio.Future[None]] = set()
        if stopping:
            _, left = await asyncio.wait(stopping, timeout=cancel_grace)
        for future in [*self._tasks, *stopping]:
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: a handler's own error was reported already
        for future in left:
            label = stopping[future]
            self.abandoned.append(label)
            logger.error(
                "%s did not stop within %g s and ignores cancellation; abandoned", label, grace
            )

    def stuck(self, loop: asyncio.AbstractEventLoop, *, blocked: bool, step: str) -> list[str]:
        """For a watchdog thread: a log line for each handler teardown still waits for."""
        grace = TEARDOWN_GRACE
        culprits = self.blocking(loop) if blocked else []
        if culprits:
            return [
                f"{label} blocks the event loop and did not stop within {grace:g} s; abandoned"
                for label in culprits
            ]
        running = [x for x in self.running() if x not in self.abandoned]
        lines = [f"{label} did not stop within {grace:g} s; abandoned" for label in running]
        return lines or [f"teardown did not finish in time (it was {step})"]
