"""The dev supervisor: watch the project, fork a child per change, swap it in once it is ready.

A reload: the zygote forks a child, which imports and wires the project without connecting
and says ``ready`` (or sends the error with file and line, leaving the running child alone).
Then the old child is stopped (SIGTERM to its process group, SIGKILL after :data:`GRACE`
seconds) and the new one is told ``go``, so two versions never publish at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosactl.devserver.broker import Broker
from cosactl.devserver.config import ChangeFilter, DevOptions, ProjectConfig
from cosactl.devserver.follow import observe
from cosactl.devserver.live import PlainView, Reload
from cosactl.devserver.store import session_store_file
from cosactl.devserver.waiting import notice_while_waiting, still_loading
from cosactl.devserver.worker import Zygote

__all__ = ["GRACE", "Child", "Supervisor"]

GRACE = 5.0  # seconds a child has to stop before it is killed
DEBOUNCE_MS = 400  # longest a burst of saves is collected into one reload
STEP_MS = 10  # a burst ends after this long without another change
_LINE_LIMIT = 1 << 20


@dataclass(eq=False)
class Child:
    """The supervisor's view of one child process."""

    request: int
    spawned: asyncio.Future[int]
    exited: asyncio.Future[int]
    pid: int = 0
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    pump: asyncio.Task[None] | None = None
    out_writer: asyncio.StreamWriter | None = None  # kept: collecting it would close the pipe
    stopping: bool = False

    def signal(self, signum: int) -> None:
        """Signal the child's process group (the child alone before it has one)."""
        if not self.pid:
            return
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            if not self.exited.done():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signum)
        except PermissionError:
            pass


@dataclass
class Supervisor:
    """One dev session: the children, the watcher, the live view and a Python broker if any."""

    options: DevOptions
    config: ProjectConfig
    broker: Broker
    zygote: Zygote
    view: PlainView
    reloads: list[Reload] = field(default_factory=list)
    current: Child | None = None
    _children: dict[int, Child] = field(default_factory=dict)  # by request id
    _by_pid: dict[int, Child] = field(default_factory=dict)
    _preparing: bool = False

    async def run(self) -> None:
        """Serve until SIGINT or SIGTERM, then stop every child (and a Python broker)."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def on_signal() -> None:
            if stop.is_set():  # a second Ctrl-C: no more grace
                for child in self._children.values():
                    if not child.exited.done():
                        child.signal(signal.SIGKILL)
            stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal)
        loop.add_reader(self.zygote.sock.fileno(), self._on_zygote)
        pybroker = None
        if self.broker.kind == "python":
            from cosactl.devserver.pybroker import PyBroker

            pybroker = PyBroker("127.0.0.1", self.broker.port)
            await pybroker.start()
        self.view.info(
            self.broker.describe() + (f" ({self.broker.note})" if self.broker.note else "")
        )
        changes: asyncio.Queue[set[str]] = asyncio.Queue()
        background = [asyncio.ensure_future(self.view.run()), *self._watchers(changes)]
        credentials = (
            {"username": self.config.username, "password": self.config.password}
            if self.broker.kind == "existing"
            else {}
        )
        background.append(
            asyncio.ensure_future(
                observe(self.view, self.broker.host, self.broker.port, **credentials)
            )
        )
        try:
            await self._main(changes, stop)
        finally:
            self.view.info("stopping")
            for task in background[1:-1]:  # the watchers first, the view and observer last
                task.cancel()
            await self._stop_all()
            await asyncio.sleep(0.05)  # let the observer show the last (offline) messages
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            if pybroker is not None:
                await pybroker.stop()
            loop.remove_reader(self.zygote.sock.fileno())
            self.view.close()

    def _watchers(self, changes: asyncio.Queue[set[str]]) -> list[asyncio.Future[Any]]:
        root = self.options.root
        extra = [self.options.settings_path, self.options.env_path]
        outside = sorted({str(p.parent) for p in extra if not p.is_relative_to(root)})
        what = ", ".join(str(p.relative_to(root) if p.is_relative_to(root) else p) for p in extra)
        polling = " (polling)" if self.options.force_polling else ""
        self.view.info(
            f"watching {root}{polling}: *.py, {what}; not tests/, __pycache__/, hidden "
            f"folders, virtualenvs or editor files"
        )
        store = session_store_file(root, self.options.settings_path)
        if store is not None:
            shown = store.relative_to(root) if store.is_relative_to(root) else store
            self.view.info(f"device state is kept in {shown} (a save never reloads)")
        watch_filter = ChangeFilter(root, extra)
        tasks: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(self._watch([str(root)], True, watch_filter, changes))
        ]
        if outside:
            tasks.append(asyncio.ensure_future(self._watch(outside, False, watch_filter, changes)))
        return tasks

    async def _watch(
        self,
        paths: list[str],
        recursive: bool,
        watch_filter: ChangeFilter,
        out: asyncio.Queue[set[str]],
    ) -> None:
        from watchfiles import awatch

        async for batch in awatch(
            *paths,
            watch_filter=watch_filter,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            recursive=recursive,
            force_polling=self.options.force_polling,
            poll_delay_ms=100,
        ):
            out.put_nowait({path for _, path in batch})

    def _describe(self, paths: set[str]) -> str:
        shown = []
        for path in sorted(paths):
            p = Path(path)
            shown.append(
                str(p.relative_to(self.options.root))
                if p.is_relative_to(self.options.root)
                else path
            )
        return ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")

    async def _main(self, changes: asyncio.Queue[set[str]], stop: asyncio.Event) -> None:
        record = Reload(0, "start", time.monotonic())
        reload: asyncio.Task[None] | None = asyncio.ensure_future(self._reload(record))
        pending: set[str] = set()
        noticed = 0.0
        get = asyncio.ensure_future(changes.get())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            while True:
                waiting: set[asyncio.Future[Any]] = {get, stopped}
                if reload is not None:
                    waiting.add(reload)
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if stopped.done():
                    return
                if get.done():
                    pending |= get.result()
                    noticed = time.monotonic()
                    get = asyncio.ensure_future(changes.get())
                    if reload is not None and self._preparing:
                        reload.cancel()  # a newer save supersedes the child still importing
                        with contextlib.suppress(asyncio.CancelledError):
                            await reload
                if reload is not None and reload.done():
                    if not reload.cancelled() and reload.exception() is not None:
                        self.view.problem(f"reload failed: {reload.exception()!r}")
                    reload = None
                if reload is None and pending:
                    record = Reload(len(self.reloads), self._describe(pending), noticed)
                    pending = set()
                    reload = asyncio.ensure_future(self._reload(record))
        finally:
            get.cancel()
            stopped.cancel()
            if reload is not None:
                reload.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reload

    async def _reload(self, record: Reload) -> None:
        self.reloads.append(record)
        if record.number:
            self.view.info(f"{record.reason} changed; reloading")
        self._preparing = True
        child = self._new_child()
        try:
            await self._spawn(child)
            message = await notice_while_waiting(
                asyncio.ensure_future(self._read(child)), self._slow_notice(record)
            )
        except asyncio.CancelledError:
            await self._stop(child, grace=1.0)
            raise
        if message is None or "error" in message:
            if message is None:
                code = await child.exited
                record.error = f"the new version exited while starting (exit code {code})"
            else:
                record.error = str(message["error"])
            self._preparing = False
            if "\n" in record.error.strip():
                self.view.problem(record.error)
            self.view.reloaded(record)
            await self._stop(child, grace=1.0)
            return
        record.ready_ms = (time.monotonic() - record.noticed) * 1000
        record.import_ms = message.get("import_ms")
        record.prepare_ms = message.get("prepare_ms")
        self.zygote.preload(list(message.get("modules", [])))
        self._preparing = False
        swap_start = time.monotonic()
        old, self.current = self.current, None
        if old is not None:
            await self._stop(old)
        record.swap_ms = (time.monotonic() - swap_start) * 1000
        if child.exited.done() or child.writer is None:
            record.error = "the new version exited before it could start"
            self.view.reloaded(record)
            return
        child.writer.write(b"go\n")
        self.current = child
        record.pid = child.pid
        record.went_at = time.monotonic()
        self.view.reloaded(record)

    def _slow_notice(self, record: Reload) -> Callable[[float], None]:
        notices = 0

        def notice(seconds: float) -> None:
            nonlocal notices
            notices += 1
            running = self.current is not None
            text = still_loading(record.head, seconds, previous_runs=running, first=notices == 1)
            self.view.info(text)

        return notice

    def _new_child(self) -> Child:
        loop = asyncio.get_running_loop()
        child = Child(len(self._children) + 1, loop.create_future(), loop.create_future())
        self._children[child.request] = child
        return child

    async def _spawn(self, child: Child) -> None:
        chan_ours, chan_theirs = socket.socketpair()
        out_ours, out_theirs = socket.socketpair()
        opts = self.options
        broker: dict[str, Any] | None = None
        if self.broker.kind != "existing" or opts.broker_url:
            broker = {"host": self.broker.host, "port": self.broker.port}
            broker["started"] = self.broker.kind != "existing"
        config = {
            "root": str(opts.root),
            "real": opts.real,
            "settings_file": str(opts.settings_file) if opts.settings_file else None,
            "env_file": str(opts.env_file) if opts.env_file else None,
            "broker": broker,
        }
        try:
            self.zygote.spawn(child.request, config, [chan_theirs.fileno(), out_theirs.fileno()])
        finally:
            chan_theirs.close()
            out_theirs.close()
        child.reader, child.writer = await asyncio.open_unix_connection(sock=chan_ours)
        out_reader, child.out_writer = await asyncio.open_unix_connection(
            sock=out_ours, limit=_LINE_LIMIT
        )
        child.pump = asyncio.ensure_future(self._pump(out_reader))
        await child.spawned

    async def _read(self, child: Child) -> dict[str, Any] | None:
        assert child.reader is not None
        line = await child.reader.readline()
        if not line:
            return None
        try:
            message: dict[str, Any] = json.loads(line)
        except ValueError:
            return {"error": f"unreadable message from the child: {line[:200]!r}"}
        return message

    async def _pump(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # a line beyond the limit: show what was read
                line = await reader.read(_LINE_LIMIT)
            if not line:
                return
            self.view.output(line.decode("utf-8", errors="replace").rstrip("\n"))

    def _on_zygote(self) -> None:
        for event in self.zygote.receive():
            if event["op"] == "spawned":
                child = self._children.get(event["id"])
                if child is not None and not child.spawned.done():
                    child.pid = int(event["pid"])
                    self._by_pid[child.pid] = child
                    child.spawned.set_result(child.pid)
            elif event["op"] == "exit":
                found = self._by_pid.pop(int(event["pid"]), None)
                if found is None or found.exited.done():
                    continue
                found.exited.set_result(int(event["code"]))
                if found is self.current and not found.stopping:
                    self.current = None
                    self.view.problem(
                        f"the app exited (code {event['code']}); save a change to start it again"
                    )

    async def _stop(self, child: Child, grace: float = GRACE) -> None:
        """SIGTERM the child's group, SIGKILL after *grace* seconds; then close its pipes."""
        child.stopping = True
        if not child.spawned.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(child.spawned), 5.0)
        if not child.exited.done():
            child.signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(child.exited), grace)
            except TimeoutError:
                self.view.problem(f"pid {child.pid} did not stop within {grace:.0f} s; killing it")
                child.signal(signal.SIGKILL)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(child.exited), 5.0)
        child.signal(signal.SIGKILL)  # whatever the app started in its group
        for writer in (child.writer, child.out_writer):
            if writer is not None:
                writer.close()
        if child.pump is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(child.pump, 1.0)

    async def _stop_all(self) -> None:
        live = [c for c in self._children.values() if not c.exited.done()]
        await asyncio.gather(*(self._stop(c) for c in live), return_exceptions=True)
