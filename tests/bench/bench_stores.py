"""Benchmark: the cost of one durable save, as a multiple of the same durable work done raw.

Run with ``pytest -q -s -m bench -o "python_files=bench_*.py" tests/bench/bench_stores.py``
(``COSALETTE_BENCH_SMOKE=1`` for a quick pass) or as a plain script. Floors, measured in the
same run, in the same directory, on the same document:

- ``JsonFileStore.save``: the bytes the store writes, written raw to a ``mkstemp`` file in the
  store's directory, fsynced, ``os.replace``-d over the target, then the directory fsynced:
  exactly the durable work the store promises. The store also reads and parses the old file
  and serialises the new one. Target <= 1.5x.
- ``SqliteStore.save``: a raw ``sqlite3`` ``INSERT OR REPLACE`` + commit of the same JSON text
  on a WAL database with ``synchronous=FULL``, the store's settings. Target <= 1.5x.
- ``WriteBehindStore.save`` (report only): what a save costs the caller (the event loop)
  when the write happens on the worker thread, against the direct ``JsonFileStore.save``.

Each subject runs in interleaved rounds; each reports its least disturbed round. Reports;
never asserts.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _report.py sits beside this file
from _report import report

from cosalette._json import dumps_pretty
from cosalette._persistence import JsonFileStore, SqliteStore, WriteBehindStore

SMOKE = os.environ.get("COSALETTE_BENCH_SMOKE", "") not in ("", "0")
SAVES = 20 if SMOKE else 200  # saves per round
ROUNDS = 2 if SMOKE else 7
KEYS = [f"sensor_{i}" for i in range(5)]
TARGET = 1.5


def device_state(n: int) -> dict[str, object]:
    """A realistic device state: a dozen readings, a counter, a short history."""
    return {
        "count": n,
        "total_m3": 1234.567 + n,
        "last_reading": {"temperature": 21.5, "humidity": 48.2, "battery": 3.01},
        "history": [n - i for i in range(8)],
        "firmware": "1.4.2",
        "calibrated": True,
        "label": "Gaszähler Keller",
    }


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def raw_durable_replace(path: Path, content: bytes) -> None:
    """The JSON floor: temp file beside *path*, write, fsync, rename over, fsync the dir."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def us_per_save(save: Callable[[int], None]) -> float:
    start = time.perf_counter()
    for n in range(SAVES):
        save(n)
    return (time.perf_counter() - start) / SAVES * 1e6


def best_of_rounds(
    subjects: dict[str, Callable[[int], None]], settle: Callable[[], object] = lambda: None
) -> dict[str, float]:
    """Run the subjects in interleaved rounds; keep each one's least disturbed round.

    *settle* runs, untimed, after every round (so write-behind work never spills over).
    """
    rounds: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(ROUNDS):
        for name, save in subjects.items():
            rounds[name].append(us_per_save(save))
            settle()
    for name, values in rounds.items():
        spread = f"median {statistics.median(values):.0f}, worst {max(values):.0f}"
        print(f"  {name}: per round (us/save) {spread}", flush=True)
    return {name: min(values) for name, values in rounds.items()}


def verdict(value: float, floor: float) -> None:
    ratio = value / floor
    state = "met" if ratio <= TARGET else "MISSED"
    print(f"{'':<34} -> target <={TARGET}x {state} ({ratio:.2f}x)", flush=True)


def measure_json(directory: Path) -> dict[str, float]:
    store = JsonFileStore(directory / "store.json")
    floor_path = directory / "floor.json"
    document: dict[str, object] = {key: device_state(0) for key in KEYS}
    contents: list[bytes] = []  # the bytes the store writes at each save, serialised up front
    for n in range(SAVES):
        document[KEYS[n % len(KEYS)]] = device_state(n)
        contents.append((dumps_pretty(document) + "\n").encode())
    for key in KEYS:
        store.save(key, device_state(0))

    def store_save(n: int) -> None:
        store.save(KEYS[n % len(KEYS)], device_state(n))

    def floor_save(n: int) -> None:
        raw_durable_replace(floor_path, contents[n])

    behind = WriteBehindStore(JsonFileStore(directory / "behind.json"))

    def behind_save(n: int) -> None:
        behind.save(KEYS[n % len(KEYS)], device_state(n))

    try:
        return best_of_rounds(
            {"floor": floor_save, "store": store_save, "write-behind": behind_save},
            settle=behind.flush,
        )
    finally:
        behind.close()


def measure_sqlite(directory: Path) -> dict[str, float]:
    store = SqliteStore(directory / "store.db")
    raw = sqlite3.connect(directory / "floor.db")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("CREATE TABLE store (key TEXT PRIMARY KEY, data TEXT NOT NULL)")
    raw.commit()

    def store_save(n: int) -> None:
        store.save(KEYS[n % len(KEYS)], device_state(n))

    texts = [dumps_pretty(device_state(n)) for n in range(SAVES)]  # serialised up front

    def floor_save(n: int) -> None:
        raw.execute(
            "INSERT OR REPLACE INTO store (key, data) VALUES (?, ?)", (KEYS[n % 5], texts[n])
        )
        raw.commit()

    try:
        return best_of_rounds({"floor": floor_save, "store": store_save})
    finally:
        store.close()
        raw.close()


@pytest.mark.bench
def test_bench_store_save(tmp_path: Path) -> None:
    print(f"\nstore saves: {SAVES} per round, {ROUNDS} rounds, in {tmp_path}", flush=True)
    json_figures = measure_json(tmp_path)
    floor = json_figures["floor"]
    json_floor = "raw durable replace"
    report(json_floor, floor, "us/save", json_floor, floor, "1.00x (floor)")
    report("JsonFileStore.save", json_figures["store"], "us/save", json_floor, floor, "<=1.5x")
    verdict(json_figures["store"], floor)
    report(
        "WriteBehindStore.save (caller)",
        json_figures["write-behind"],
        "us/save",
        "JsonFileStore.save",
        json_figures["store"],
        "report only",
    )

    sqlite_figures = measure_sqlite(tmp_path)
    floor = sqlite_figures["floor"]
    sqlite_floor = "raw sqlite3 upsert+commit"
    report(sqlite_floor, floor, "us/save", sqlite_floor, floor, "1.00x (floor)")
    report("SqliteStore.save", sqlite_figures["store"], "us/save", sqlite_floor, floor, "<=1.5x")
    verdict(sqlite_figures["store"], floor)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        test_bench_store_save(Path(folder))
