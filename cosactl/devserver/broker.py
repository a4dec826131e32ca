"""The broker of a dev session: an existing one, mosquitto started for the session, or the
in-process pure-Python broker (:mod:`cosactl.devserver.pybroker`).

``COSACTL_DEV_BROKER`` chooses: ``auto`` (default: use what answers, else mosquitto when
installed, else Python), ``mosquitto`` or ``python`` (always start that one).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "Broker",
    "BrokerError",
    "answers",
    "find_mosquitto",
    "open_broker",
    "parent_death_signal",
    "parse_broker_url",
    "remove_stale_workdirs",
]

LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1", "0.0.0.0"})
MOSQUITTO_CANDIDATES = (
    "mosquitto",
    "/usr/sbin/mosquitto",
    "/usr/local/sbin/mosquitto",
    "/opt/homebrew/sbin/mosquitto",
)
_START_TIMEOUT = 10.0
WORKDIR_PREFIX = "cosactl-dev-mosquitto-"  # + "<pid of the session>-"; see remove_stale_workdirs


class BrokerError(Exception):
    """No broker can be used or started; the message says why and what to do."""


@dataclass
class Broker:
    """Where the children connect, and what ``stop()`` has to end."""

    host: str
    port: int
    kind: str  # "existing", "mosquitto" or "python"
    process: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    note: str = ""

    @property
    def url(self) -> str:
        """``mqtt://host:port``."""
        return f"mqtt://{self.host}:{self.port}"

    def describe(self) -> str:
        """One line for the session header."""
        if self.kind == "existing":
            return f"using the broker at {self.url}"
        what = "mosquitto" if self.kind == "mosquitto" else "the built-in Python broker"
        return f"started {what} on {self.url} (stopped with the session)"

    def stop(self) -> None:
        """Stop the mosquitto this session started (SIGTERM, then SIGKILL) and clean up."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


def parse_broker_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (or ``host:port``, ``host``) as ``(host, port)``; 1883 by default."""
    text = url if "://" in url else f"mqtt://{url}"
    parts = urlsplit(text)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise BrokerError(f"--broker wants mqtt://HOST:PORT, not {url!r}")
    try:
        port = parts.port or 1883
    except ValueError:
        raise BrokerError(f"--broker {url!r}: the port is not a number") from None
    return parts.hostname, port


def answers(host: str, port: int, timeout: float = 0.3) -> bool:
    """Whether something accepts TCP connections at *host*:*port*."""
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def find_mosquitto() -> str | None:
    """The mosquitto executable on PATH or in the usual sbin folders, or ``None``."""
    for candidate in MOSQUITTO_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def parent_death_signal() -> Callable[[], None] | None:
    """A preexec function asking Linux to SIGTERM the child when this process dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return preexec


def _workdir_prefix(pid: int) -> str:
    return f"{WORKDIR_PREFIX}{pid}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale_workdirs(parent: Path | None = None) -> list[Path]:
    """Remove the mosquitto folders of dev sessions that died (``kill -9``) while starting it.

    Each folder is named after the pid of the session that made it; only folders of pids
    that no longer exist are removed. Returns what was removed.
    """
    base = Path(parent or tempfile.gettempdir())
    removed = []
    for folder in base.glob(f"{WORKDIR_PREFIX}*-*"):
        pid = folder.name.removeprefix(WORKDIR_PREFIX).partition("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def start_mosquitto(executable: str, port: int) -> Broker:
    """mosquitto on 127.0.0.1:*port*, in memory, with TCP_NODELAY; waits until it listens."""
    workdir = Path(tempfile.mkdtemp(prefix=_workdir_prefix(os.getpid())))
    config = workdir / "mosquitto.conf"
    # Started as root, mosquitto would switch users, which clears the parent-death signal.
    stay = "user root\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    config.write_text(
        stay + f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"
        "set_tcp_nodelay true\n"
    )
    log_path = workdir / "mosquitto.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [executable, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C goes to cosactl dev, which stops it last
            preexec_fn=parent_death_signal(),
        )
    broker = Broker("127.0.0.1", port, "mosquitto", process=process, workdir=workdir)
    deadline = time.monotonic() + _START_TIMEOUT
    try:
        while not answers("127.0.0.1", port, timeout=0.1):
            if process.poll() is not None or time.monotonic() > deadline:
                text = log_path.read_text(errors="replace").strip()
                raise BrokerError(f"mosquitto did not start on 127.0.0.1:{port}:\n{text}")
            time.sleep(0.01)
    except BaseException:  # and Ctrl-C while waiting: stop it, remove its folder
        broker.stop()
        raise
    # mosquitto has read its config and holds its log open: nothing need stay on disk, so a
    # session that is killed (and takes mosquitto with it) leaves no folder behind.
    shutil.rmtree(workdir, ignore_errors=True)
    broker.workdir = None
    return broker


def _mode() -> str:
    mode = os.environ.get("COSACTL_DEV_BROKER", "auto").strip().lower() or "auto"
    if mode not in ("auto", "mosquitto", "python"):
        raise BrokerError(f"COSACTL_DEV_BROKER={mode!r}: use auto, mosquitto or python")
    return mode


def open_broker(host: str, port: int, url: str | None) -> Broker:
    """The broker the session uses: *url* when given, else what answers at *host*:*port*,
    else one started on 127.0.0.1:*port* (mosquitto when installed, else Python).

    A Python broker is only described here (``kind="python"``); the supervisor runs it.
    Folders left by sessions that were killed while starting mosquitto are removed first.
    """
    remove_stale_workdirs()
    if url:
        url_host, url_port = parse_broker_url(url)
        return Broker(url_host, url_port, "existing")
    mode = _mode()
    probe_host = "127.0.0.1" if host in LOCAL_HOSTS else host
    if answers(probe_host, port):
        if mode == "auto":
            return Broker(probe_host, port, "existing")
        if probe_host == "127.0.0.1":
            raise BrokerError(
                f"COSACTL_DEV_BROKER={mode} but 127.0.0.1:{port} is already in use; "
                f"set another [mqtt] port in settings.toml or pass --broker"
            )
    note = ""
    if host not in LOCAL_HOSTS:
        note = f"nothing answers at {host}:{port}; using a local broker instead"
    if mode in ("auto", "mosquitto"):
        executable = find_mosquitto()
        if executable is not None:
            broker = start_mosquitto(executable, port)
            broker.note = note
            return broker
        if mode == "mosquitto":
            raise BrokerError(
                "COSACTL_DEV_BROKER=mosquitto but mosquitto is not installed "
                "(apt-get install mosquitto, brew install mosquitto)"
            )
    return Broker("127.0.0.1", port, "python", note=note)
