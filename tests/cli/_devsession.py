"""Helpers for ``cosactl dev`` end-to-end tests and its benchmark: a project made by
``cosactl new`` + ``cosactl add telemetry``, the dev process with its output, and /proc."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from _broker import Collector, MosquittoBroker, free_port, port_open, require_mosquitto

__all__ = [
    "Collector",
    "DevProcess",
    "MosquittoBroker",
    "free_port",
    "make_project",
    "port_open",
    "require_mosquitto",
    "set_payload",
    "set_interval",
]

APP = "demo"
RETURN = re.compile(r"^(?P<indent>\s*)return \{.*$", re.MULTILINE)


def _cosactl(*args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "cosactl", *args], cwd=cwd, check=True, capture_output=True
    )


def make_project(parent: Path, port: int, interval: float = 0.5) -> Path:
    """``cosactl new demo`` with a telemetry device ``counter``, on broker port *port*."""
    _cosactl("new", APP, "--no-input", "--directory", str(parent), cwd=parent)
    root = parent / APP
    _cosactl("add", "telemetry", "counter", "--interval", str(interval), cwd=root)
    settings = root / "settings.toml"
    text = settings.read_text()
    text, count = re.subn(r"(?m)^port = \d+", f"port = {port}", text)
    assert count == 1, text
    text = re.sub(r'(?m)^host = ".*"', 'host = "127.0.0.1"', text)
    settings.write_text(text)
    return root


def set_payload(root: Path, body: str) -> int:
    """Make the counter's handler ``return {body}``; returns the line number of that line."""
    path = root / "devices" / "counter.py"
    text = path.read_text()
    match = RETURN.search(text)
    assert match is not None, text
    line = text.count("\n", 0, match.start()) + 1
    new = text[: match.start()] + f"{match.group('indent')}return {body}" + text[match.end() :]
    path.write_text(new)
    return line


def set_interval(root: Path, seconds: float) -> None:
    """Change ``[devices.counter] interval`` in settings.toml."""
    path = root / "settings.toml"
    text, count = re.subn(r"(?m)^interval = [0-9.]+", f"interval = {seconds}", path.read_text())
    assert count == 1
    path.write_text(text)


def dev_command() -> list[str]:
    """``python -m cosactl dev`` (through the command module until cli.py lists it)."""
    from cosactl.cli import COMMANDS

    if "dev" in COMMANDS:
        return [sys.executable, "-m", "cosactl", "dev"]
    return [sys.executable, "-c", "from cosactl.commands.dev import dev; dev()"]


def _stat(pid: int) -> tuple[str, int, int, int, int] | None:
    """(state, ppid, pgid, sid, starttime) of *pid* from /proc, or ``None``."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19])


def processes() -> dict[int, tuple[str, int, int, int, int]]:
    """Every process: pid -> (state, ppid, pgid, sid, starttime)."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            found = _stat(int(name))
            if found is not None:
                table[int(name)] = found
    return table


class DevProcess:
    """``cosactl dev`` in its own session, its output collected line by line."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.root = root
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
        full_env.update(env or {})
        self.process = subprocess.Popen(
            [*dev_command(), "--no-live", *args],
            cwd=root,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.seen: dict[int, int] = {}  # pid -> starttime of every process of the session
        self.sessions: set[int] = {self.process.pid}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))
        self.process.stdout.close()  # at EOF: no ResourceWarning when the process object goes

    @property
    def output(self) -> str:
        """Everything printed so far."""
        return "\n".join(self.lines)

    async def wait_line(
        self,
        predicate: Callable[[str], bool],
        timeout: float = 15.0,  # noqa: ASYNC109
        start: int = 0,
    ) -> int:
        """Index of the first line from *start* on that satisfies *predicate*."""
        deadline = time.monotonic() + timeout
        checked = start
        while True:
            while checked < len(self.lines):
                if predicate(self.lines[checked]):
                    return checked
                checked += 1
            if self.process.poll() is not None and checked >= len(self.lines):
                raise AssertionError(
                    f"cosactl dev exited ({self.process.returncode}):\n{self.output}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no such line within {timeout}s:\n{self.output}")
            await asyncio.sleep(0.02)

    def record(self) -> None:
        """Remember every process below cosactl dev now (with its session)."""
        table = processes()
        children: dict[int, list[int]] = {}
        for pid, (_, ppid, *_rest) in table.items():
            children.setdefault(ppid, []).append(pid)
        todo = [self.process.pid]
        while todo:
            pid = todo.pop()
            info = table.get(pid)
            if info is not None:
                self.seen[pid] = info[4]
                self.sessions.add(info[3])
            todo.extend(children.get(pid, []))

    def interrupt(self, timeout: float = 20.0) -> int:
        """Ctrl-C: SIGINT to the process group; returns the exit code."""
        os.killpg(self.process.pid, signal.SIGINT)
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def signal(self, signum: int, timeout: float = 20.0) -> int:
        """Send *signum* to cosactl dev alone; returns the exit code."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def leftovers(self, timeout: float = 5.0) -> list[str]:
        """Processes of the session still there (waits up to *timeout* for them to go)."""
        deadline = time.monotonic() + timeout
        while True:
            table = processes()
            left = [
                f"pid {pid} state {info[0]} ppid {info[1]} sid {info[3]}"
                for pid, info in table.items()
                if (self.seen.get(pid) == info[4]) or info[3] in self.sessions
            ]
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.05)

    def kill(self) -> None:
        """Last-resort cleanup for a failed test: SIGKILL every recorded session."""
        for sid in self.sessions:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(sid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
