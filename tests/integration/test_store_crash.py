"""Crash test: a process saving in a tight loop is SIGKILLed at random instants, many times.

After every kill the store must hold one of the states that were saved: a complete, valid
document with every key, each entry exactly as written, and the set of saves it reflects a
prefix of what the process did (the keys are saved round-robin, so no save may be lost or
torn). Real files, real processes, no mocks.

A "zygote" process imports cosalette once and forks one saver per kill, so that 200 kills fit
in a few seconds; each saver is an ordinary Python process running the stores' own code.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from cosalette._persistence import JsonFileStore, SqliteStore, Store

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
]

KEYS = [f"k{i}" for i in range(5)]
MAX_DELAY = 0.030  # seconds between "saving" and the kill
LINE_TIMEOUT = 30.0

# Shared by this test and the saver: state n of a key, sized so a torn write shows.
MAKE = """
def make(key, n):
    return {"n": n, "key": key, "check": (n * 7919) % 1000003, "pad": "x" * (n % 97)}
"""
namespace: dict[str, Callable[[str, int], dict[str, object]]] = {}
exec(MAKE, namespace)
make = namespace["make"]

ZYGOTE = (
    MAKE
    + """
import os, sys
from cosalette._persistence import JsonFileStore, SqliteStore

KIND, PATH = sys.argv[1], sys.argv[2]
KEYS = [f"k{i}" for i in range(5)]


def save_forever():
    store = JsonFileStore(PATH) if KIND == "json" else SqliteStore(PATH)
    counts = {key: store.load(key)["n"] for key in KEYS}
    os.write(1, f"saving {os.getpid()}\\n".encode())
    i = 0
    while True:
        key = KEYS[i % len(KEYS)]
        i += 1
        counts[key] += 1
        store.save(key, make(key, counts[key]))


while sys.stdin.readline():
    pid = os.fork()
    if pid == 0:
        try:
            save_forever()
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    os.write(1, f"reaped {status}\\n".encode())
"""
)


class Zygote:
    """The forking parent of the savers, spoken to one line at a time."""

    def __init__(self, kind: str, path: Path, errors: IO[bytes]) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, kind, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        self._errors = errors
        self._buffer = b""

    def _line(self) -> str:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + LINE_TIMEOUT
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:
                self._errors.seek(0)
                pytest.fail(f"saver went quiet; stderr:\n{self._errors.read().decode()}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def start_saver(self) -> int:
        """Fork a saver and return its pid once it has loaded and begun saving."""
        assert self._proc.stdin is not None
        self._proc.stdin.write(b"go\n")
        self._proc.stdin.flush()
        word, pid = self._line().split()
        assert word == "saving", word
        return int(pid)

    def wait_reaped(self) -> None:
        word, status = self._line().split()
        assert word == "reaped"
        assert os.waitstatus_to_exitcode(int(status)) == -signal.SIGKILL

    def close(self) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.close()
        try:
            assert self._proc.wait(timeout=LINE_TIMEOUT) == 0
        finally:
            self._proc.stdout.close()


def assert_saved_prefix(
    counts: dict[str, int], before: dict[str, int], context: str
) -> dict[str, int]:
    """The round-robin saver's progress on each key: a prefix of k0, k1, ... k4, k0, ..."""
    gains = [counts[key] - before[key] for key in KEYS]
    assert all(g >= 0 for g in gains), f"state went back: {gains} ({context})"
    assert all(a >= b for a, b in itertools.pairwise(gains)), f"{gains} ({context})"
    assert gains[0] - gains[-1] <= 1, f"a save was lost: {gains} ({context})"
    return counts


def read_json(path: Path) -> dict[str, int]:
    document = json.loads(path.read_bytes().decode("utf-8"))
    assert isinstance(document, dict) and sorted(document) == KEYS, document
    for key in KEYS:
        assert document[key] == make(key, document[key]["n"]), document[key]
    return {key: document[key]["n"] for key in KEYS}


def read_sqlite(path: Path) -> dict[str, int]:
    store = SqliteStore(path)
    try:
        conn = store._connection()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts: dict[str, int] = {}
        for key in KEYS:
            state = store.load(key)
            assert state is not None and state == make(key, state["n"]), state  # type: ignore[arg-type]
            counts[key] = state["n"]  # type: ignore[assignment]
        assert store.take_problems() == []
    finally:
        store.close()
    return counts


def crash_many_times(
    kind: str, path: Path, store: Store, kills: int, read: Callable[[Path], dict[str, int]]
) -> int:
    """Seed the store, kill savers *kills* times, check the store after each; return saves."""
    for key in KEYS:
        store.save(key, make(key, 0))
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    before = dict.fromkeys(KEYS, 0)
    with (path.parent / "zygote.err").open("w+b") as errors:
        zygote = Zygote(kind, path, errors)
        try:
            for kill in range(kills):
                pid = zygote.start_saver()
                time.sleep(rng.uniform(0, MAX_DELAY))  # a random instant, not synchronisation
                os.kill(pid, signal.SIGKILL)
                zygote.wait_reaped()
                context = f"{kind}, kill {kill}, seed {seed}"
                before = assert_saved_prefix(read(path), before, context)
        finally:
            zygote.close()
    assert list(path.parent.glob("*.corrupt-*")) == []
    return sum(before.values())


def test_json_file_store_survives_200_sigkills(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    saves = crash_many_times("json", path, JsonFileStore(path), 200, read_json)
    assert saves > 200, f"only {saves} saves in 200 runs: the kills never met a save"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("state.json", "zygote.err")]
    assert all(name.startswith(".state.json.") and name.endswith(".tmp") for name in leftovers)


def test_sqlite_store_survives_50_sigkills(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    seeded = SqliteStore(path)
    try:
        saves = crash_many_times("sqlite", path, seeded, 50, read_sqlite)
    finally:
        seeded.close()
    assert saves > 50, f"only {saves} saves in 50 runs: the kills never met a save"
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
