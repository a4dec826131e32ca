"""Running cosalette apps as real processes against the test broker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import aiomqtt

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


_DUMP_ON_USR1 = """
import asyncio, faulthandler, runpy, signal, sys

def _dump(*_):
    faulthandler.dump_traceback(all_threads=True)
    loop = asyncio._get_running_loop()
    if loop is not None:
        for task in asyncio.all_tasks(loop):
            task.print_stack(file=sys.stderr)
    sys.stderr.flush()

signal.signal(signal.SIGUSR1, _dump)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def app_env(port: int, *, prefix: str = "", extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment pointing an app (optionally with an env prefix) at 127.0.0.1:*port*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MQTT__", "LOGGING__"))}
    env[f"{prefix}MQTT__HOST"] = "127.0.0.1"
    env[f"{prefix}MQTT__PORT"] = str(port)
    env[f"{prefix}LOGGING__FORMAT"] = "text"
    env.update(extra or {})
    return env


class AppProcess(subprocess.Popen[str]):
    """A child app whose output is read line by line in the background."""

    def __init__(self, args: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> None:
        super().__init__(
            list(args),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.signalled = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.stdout is not None
        for line in self.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        self.stdout.close()  # at EOF: no ResourceWarning when the process object goes
        with self._changed:
            self._changed.notify_all()

    def send_signal(self, sig: int) -> None:
        """Send *sig* and remember that the test has asked the app to stop."""
        self.signalled = True
        super().send_signal(sig)

    def output(self) -> str:
        """Everything the app printed so far."""
        with self._changed:
            return "".join(self.lines)

    def _wait_text(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for line in self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._reader.is_alive():
                    return any(text in line for line in self.lines)
                self._changed.wait(remaining)
            return True

    async def wait_for_output(self, text: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until a line containing *text* was printed; fail with the output otherwise."""
        if not await asyncio.to_thread(self._wait_text, text, timeout):
            raise AssertionError(
                f"{text!r} not printed within {timeout}s; output:\n{self.output()}"
            )


async def purge_retained(host: str, port: int, pattern: str) -> None:
    """Delete every retained message under *pattern*, so tests start from a clean broker."""
    marker = f"test-purge/{time.monotonic_ns()}"
    async with aiomqtt.Client(host, port) as client:
        await client.subscribe(pattern, qos=1)
        await client.subscribe(marker, qos=1)
        await client.publish(marker, "done", qos=1)
        retained: set[str] = set()
        async for message in client.messages:
            if message.topic.value == marker:
                break
            if message.retain:
                retained.add(message.topic.value)
        for topic in retained:
            await client.publish(topic, b"", qos=1, retain=True)


def start_app(
    script: Path, port: int, *args: str, prefix: str = "", extra: dict[str, str] | None = None
) -> AppProcess:
    """Start *script* (an app calling ``app.cli()``) as a child process."""
    return AppProcess(
        [sys.executable, "-c", _DUMP_ON_USR1, str(script), *args],
        env=app_env(port, prefix=prefix, extra=extra),
        cwd=script.parent,
    )


def finish(process: AppProcess, timeout: float = 10.0) -> tuple[int, str]:
    """Stop *process* (SIGTERM if still running), wait *timeout* s, then kill; code and output."""
    if process.poll() is None and not process.signalled:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)  # apps started by the tests dump their stacks
        time.sleep(0.5)
        process.kill()
        process.wait()
        process._reader.join(5)
        raise AssertionError(
            f"process did not exit within {timeout}s; output:\n{process.output()}"
        ) from None
    process._reader.join(5)
    return process.returncode, process.output()


LIFECYCLE_APP = """
import itertools
import cosalette

app = cosalette.App(name="{name}", version="2.0.0", heartbeat_interval=0.5)
counter = itertools.count(1)

@app.telemetry("meter", interval=0.2)
async def meter() -> dict[str, object]:
    return {{"reading": next(counter)}}

@app.command("valve")
async def valve(payload: str) -> dict[str, object]:
    return {{"state": payload}}

if __name__ == "__main__":
    app.cli()
"""
"""The app of the lifecycle tests (a meter, a valve); ``.format(name=...)`` names it."""


def write_lifecycle_app(directory: Path, name: str) -> Path:
    """The lifecycle app named *name* as ``<directory>/<name>_app.py``."""
    script = directory / f"{name}_app.py"
    script.write_text(LIFECYCLE_APP.format(name=name))
    return script
