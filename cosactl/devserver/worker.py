"""The fork server ("zygote") of a dev session and the child side of a reload.

``cosactl dev`` imports the heavy dependencies once, then forks the zygote before any thread or
event loop exists. The zygote forks one child per reload, so a child only imports the project.
A child loads and wires the project, prepares the Runtime (no network), reports ``ready`` (or
the error, naming file and line) on its channel, and connects only after the supervisor
answers ``go``. Each child leads its own session and process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.machinery
import json
import os
import pkgutil
import select
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosalette._settings import Settings
    from cosalette.project import Project

__all__ = ["Zygote", "describe_error", "warm_up"]

WARM_MODULES = (
    "aiomqtt",
    "paho.mqtt.client",
    "pydantic",
    "pydantic_settings",
    "tomllib",
    "cosalette",
    "cosalette.project",
)
_PROJECT_PACKAGES = ("adapters", "devices", "routers")
EXIT_LOAD_FAILED = 3


def warm_up() -> None:
    """Import what every child needs (the whole runtime but its testing kit), once."""
    for name in WARM_MODULES:
        importlib.import_module(name)
    import cosalette

    for info in pkgutil.walk_packages(cosalette.__path__, "cosalette."):
        if info.name.startswith(("cosalette.testing", "cosalette._cfilters")):
            continue
        with contextlib.suppress(Exception):
            importlib.import_module(info.name)


class Zygote:
    """The supervisor's handle on the fork server: ``spawn`` a child, ``receive`` events."""

    def __init__(self, pid: int, sock: socket.socket, lifeline: int) -> None:
        self.pid = pid
        self.sock = sock
        self._lifeline = lifeline

    @classmethod
    def start(cls) -> Zygote:
        """Fork the zygote; call it while the process has a single thread and no loop."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        life_read, life_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the forked zygote
            code = 1
            try:
                ours.close()
                os.close(life_write)
                code = _zygote_main(theirs, life_read)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        theirs.close()
        os.close(life_read)
        ours.setblocking(False)
        return cls(pid, ours, life_write)

    def spawn(self, request: int, config: dict[str, Any], fds: list[int]) -> None:
        """Ask for a child running *config*; *fds* are its channel and its output."""
        message = {"op": "spawn", "id": request, "config": config}
        socket.send_fds(self.sock, [json.dumps(message).encode()], fds)

    def preload(self, modules: list[str]) -> None:
        """Ask the zygote to import *modules* too, so the next child need not."""
        for start in range(0, len(modules), 20):  # small datagrams (macOS allows 2 KiB)
            message = {"op": "preload", "modules": modules[start : start + 20]}
            with contextlib.suppress(OSError):
                self.sock.send(json.dumps(message).encode())

    def receive(self) -> list[dict[str, Any]]:
        """Every event waiting: ``spawned`` (id, pid) and ``exit`` (pid, code)."""
        events: list[dict[str, Any]] = []
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return events
            except OSError:
                return events
            events.append(json.loads(data))

    def close(self, timeout: float = 10.0) -> None:
        """End the zygote (it kills any child left) and reap it."""
        with contextlib.suppress(OSError):
            os.close(self._lifeline)
        deadline = time.monotonic() + timeout
        while True:
            try:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                deadline = time.monotonic() + timeout
            time.sleep(0.01)
        self.sock.close()


def _zygote_main(sock: socket.socket, lifeline: int) -> int:  # pragma: no cover - forked
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the supervisor, which stops us
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    children: set[int] = set()
    while True:
        ready, _, _ = select.select([sock.fileno(), lifeline, wake_read], [], [])
        if wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_read, 512):
                    pass
        _reap(sock, children, block=False)
        if lifeline in ready:
            break  # the supervisor is gone
        if sock.fileno() in ready:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
            request = json.loads(data)
            if request["op"] == "spawn":
                pid = _fork_child(
                    request["config"], fds, (sock.fileno(), lifeline, wake_read, wake_write)
                )
                children.add(pid)
                for fd in fds:
                    os.close(fd)
                sock.send(json.dumps({"op": "spawned", "id": request["id"], "pid": pid}).encode())
            elif request["op"] == "preload":
                _preload(request["modules"])
    for pid in children:
        _kill_group(pid, signal.SIGKILL)
    _reap(sock, children, block=True)
    return 0


def _reap(sock: socket.socket, children: set[int], *, block: bool) -> None:  # pragma: no cover
    while not block or children:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        event = {"op": "exit", "pid": pid, "code": os.waitstatus_to_exitcode(status)}
        with contextlib.suppress(OSError):
            sock.send(json.dumps(event).encode())


def _preload(modules: list[str]) -> None:  # pragma: no cover - runs in the zygote
    for name in modules:
        if name not in sys.modules:
            with contextlib.suppress(BaseException):
                importlib.import_module(name)


def _kill_group(pid: int, signum: int) -> None:
    """Signal the process group led by *pid*, or *pid* alone before it has one."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
    except PermissionError:
        pass


def _fork_child(config: dict[str, Any], fds: list[int], close: tuple[int, ...]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 70  # pragma: no cover - the rest runs in the child
    try:
        signal.set_wakeup_fd(-1)
        for fd in close:
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        code = _child_main(config, fds[0], fds[1])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


# --- the child ----------------------------------------------------------------------------


class _FreshLoader(importlib.machinery.SourceFileLoader):
    """Compiles project files from source every time: a cached .pyc from the same second
    with the same size would otherwise hide an edit."""

    def get_code(self, fullname: str) -> Any:
        return self.source_to_code(self.get_data(self.path), self.path)


def _fresh_project_imports(root: Path) -> None:
    prefix = str(root)

    def hook(path: str) -> importlib.machinery.FileFinder:
        if path == prefix or path.startswith(prefix + os.sep):
            loaders = (_FreshLoader, importlib.machinery.SOURCE_SUFFIXES)
            return importlib.machinery.FileFinder(path, loaders)
        raise ImportError(path)

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


def _send(chan: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        chan.sendall(json.dumps(message).encode() + b"\n")


def describe_error(exc: BaseException, root: Path) -> str:
    """``file:line: Type: message`` at the deepest project line the error went through."""
    from cosalette.project import ProjectError

    if isinstance(exc, ProjectError):
        return str(exc)
    from cosalette._project.errors import where

    located: tuple[str, int | None] | None = None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and located is None:
        seen.add(id(current))
        if isinstance(current, SyntaxError) and _inside(current.filename, root):
            located = (str(current.filename), current.lineno)
        for frame in traceback.extract_tb(current.__traceback__):
            if _inside(frame.filename, root):
                located = (frame.filename, frame.lineno)
        current = current.__cause__ or current.__context__
    text = f"{type(exc).__name__}: {exc}"
    return f"{where(*located)}: {text}" if located else text


def _inside(file: str | None, root: Path) -> bool:
    return bool(file) and str(file).startswith(str(root) + os.sep)


def _with_broker(settings: Settings, config: dict[str, Any]) -> Settings:
    broker = config.get("broker")
    if not broker:
        return settings
    update: dict[str, Any] = {"host": broker["host"], "port": broker["port"]}
    if broker.get("started"):
        update["tls"] = False  # the session's own broker listens in plain TCP on 127.0.0.1
    mqtt = settings.mqtt.model_copy(update=update)
    return settings.model_copy(update={"mqtt": mqtt})


def _child_main(config: dict[str, Any], chan_fd: int, out_fd: int) -> int:  # pragma: no cover
    os.setsid()
    from cosactl.devserver.broker import parent_death_signal

    die = parent_death_signal()
    if die is not None:
        die()  # the zygote's end (even by SIGKILL) ends this child
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    chan = socket.socket(fileno=chan_fd)
    root = Path(config["root"])
    real = bool(config["real"])
    started = time.perf_counter()
    _fresh_project_imports(root)
    before = set(sys.modules)
    try:
        from cosactl.devserver.store import session_health_file, session_store
        from cosalette.project import load_project

        settings_file = config.get("settings_file")
        project = load_project(
            root,
            dry_run=not real,
            settings_file=settings_file,
            env_file=config.get("env_file"),
            store=session_store(root, Path(settings_file or root / "settings.toml")),
        )
        project.check()
    except BaseException as exc:
        from cosalette.project import ProjectError

        if not isinstance(exc, ProjectError | SyntaxError):
            traceback.print_exception(exc)
        _send(chan, {"error": describe_error(exc, root)})
        return EXIT_LOAD_FAILED
    loaded = time.perf_counter()
    modules = sorted(
        name
        for name in set(sys.modules) - before
        if name.partition(".")[0] not in _PROJECT_PACKAGES
        and not _inside(getattr(sys.modules.get(name), "__file__", None), root)
    )
    settings = session_health_file(_with_broker(project.settings, config), root)
    from cosalette._logging import configure_logging, register_secret

    register_secret(settings.mqtt.password)
    configure_logging(settings.logging, service=project.app.name, version=project.app.version)
    timing = {"import_ms": (loaded - started) * 1000, "modules": modules}
    return asyncio.run(_serve(project, settings, chan, timing, real=real))


async def _serve(  # pragma: no cover - runs in the child
    project: Project, settings: Settings, chan: socket.socket, timing: dict[str, Any], *, real: bool
) -> int:
    from cosalette._wiring.runtime import Runtime

    loop = asyncio.get_running_loop()
    shutdown = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, shutdown.set)
    runtime = Runtime(
        project.app.describe(settings),
        settings=settings,
        mqtt=None,
        shutdown_event=shutdown,
        clock=None,
        dry_run=not real,
    )
    tasks: list[asyncio.Future[Any]] = []
    try:
        started = time.perf_counter()
        try:
            await runtime.prepare()
        except Exception as exc:
            traceback.print_exception(exc)
            _send(chan, {"error": describe_error(exc, project.root)})
            return EXIT_LOAD_FAILED
        timing["prepare_ms"] = (time.perf_counter() - started) * 1000
        _send(chan, {"ready": True, **timing})
        chan.setblocking(False)
        reader, _writer = await asyncio.open_unix_connection(sock=chan)
        tasks = [asyncio.ensure_future(reader.readline()), asyncio.ensure_future(shutdown.wait())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if not tasks[0].done() or tasks[0].result() != b"go\n":
            return 0

        async def until_supervisor_leaves() -> None:
            await reader.read()  # EOF: the supervisor is gone
            shutdown.set()

        tasks.append(asyncio.ensure_future(until_supervisor_leaves()))
        from cosactl.devserver.store import refresh_stores

        refresh_stores(runtime)  # the previous child saved its state when it stopped
        await runtime.serve()
        return 0
    finally:
        for task in tasks:
            task.cancel()
        await runtime.teardown()
