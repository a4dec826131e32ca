"""WriteBehindStore: saves return at once, one worker writes in order, nothing is lost at close."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import cast

import pytest

from cosalette import _store_io
from cosalette._persistence import (
    JsonFileStore,
    MemoryStore,
    NullStore,
    SqliteStore,
    Store,
    WriteBehindStore,
    take_store_problems,
    write_behind,
)


class Recorder:
    """A user store that records every write, can be held mid-write, and checks it is never
    entered from two threads at once."""

    def __init__(self, *, batches: bool = False) -> None:
        self.data: dict[str, dict[str, object]] = {}
        self.writes: list[tuple[str, int]] = []  # (key, the "n" of the state written)
        self.calls: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_keys: set[str] = set()
        self._inside = threading.Lock()
        if batches:
            self.save_many = self._save_many

    def load(self, key: str) -> dict[str, object] | None:
        with self._exclusive():
            return self.data.get(key)

    def save(self, key: str, data: dict[str, object]) -> None:
        self._save_many({key: data})

    def _save_many(self, entries: Mapping[str, dict[str, object]]) -> None:
        with self._exclusive():
            self.entered.set()
            assert self.gate.wait(10), "test never opened the gate"
            self.calls.append(list(entries))
            failing = self.fail_keys & set(entries)
            if failing:
                raise OSError(f"disk refused {sorted(failing)}")
            for key, data in entries.items():
                self.writes.append((key, cast(int, data["n"])))
                self.data[key] = data

    def _exclusive(self) -> _Exclusive:
        return _Exclusive(self._inside)


class _Exclusive:
    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        assert self._lock.acquire(blocking=False), "inner store entered from two threads"

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def store(recorder: Recorder) -> Iterator[WriteBehindStore]:
    wrapped = WriteBehindStore(recorder)
    yield wrapped
    recorder.gate.set()
    wrapped.close()
    assert wrapped._thread is None or wrapped._thread not in threading.enumerate()


def test_it_is_a_store_and_starts_no_thread_until_the_first_save(
    store: WriteBehindStore,
) -> None:
    assert isinstance(store, Store)
    assert store._thread is None
    assert store.load("dev") is None
    assert store._thread is None


def test_save_returns_while_the_inner_write_is_held(
    store: WriteBehindStore, recorder: Recorder
) -> None:
    recorder.gate.clear()
    store.save("dev", {"n": 1})
    store.save("dev", {"n": 2})  # returns although the worker is stuck in the first write
    assert store.flush(timeout=0.05) is False
    recorder.gate.set()
    assert store.flush(timeout=10) is True
    assert recorder.data["dev"] == {"n": 2}


def test_saved_data_is_a_deep_copy(store: WriteBehindStore, recorder: Recorder) -> None:
    recorder.gate.clear()
    data: dict[str, object] = {"n": 1, "items": [1]}
    store.save("dev", data)
    data["items"].append(2)  # type: ignore[attr-defined]
    data["n"] = 99
    recorder.gate.set()
    store.flush()
    assert recorder.data["dev"] == {"n": 1, "items": [1]}


def test_load_sees_saves_still_waiting_and_in_flight(
    store: WriteBehindStore, recorder: Recorder
) -> None:
    recorder.data["dev"] = {"n": 0}
    recorder.gate.clear()
    store.save("dev", {"n": 1})
    assert recorder.entered.wait(10)  # the worker is inside the inner write of n=1
    store.save("dev", {"n": 2})
    assert store.load("dev") == {"n": 2}  # waiting in the queue
    loaded = store.load("dev")
    assert loaded is not None
    loaded["n"] = 99  # the caller's copy, not the queued state
    results: list[dict[str, object] | None] = []
    reader = threading.Thread(target=lambda: results.append(store.load("other")))
    reader.start()  # asks the inner store, so it waits for the in-flight write
    recorder.gate.set()
    reader.join(10)
    assert results == [None]
    store.flush()
    assert store.load("dev") == {"n": 2}
    assert recorder.writes == [("dev", 1), ("dev", 2)]


def test_each_keys_writes_keep_their_order_and_end_with_the_last_save(
    store: WriteBehindStore, recorder: Recorder
) -> None:
    keys = [f"k{i}" for i in range(5)]

    def produce(owned: list[str]) -> None:
        for n in range(400):
            for key in owned:
                store.save(key, {"n": n})

    producers = [threading.Thread(target=produce, args=([k],)) for k in keys]
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join()
    assert store.flush(timeout=10)
    for key in keys:
        seen = [n for k, n in recorder.writes if k == key]
        assert seen == sorted(set(seen)), f"{key} written out of order: {seen}"
        assert seen[-1] == 399
        assert recorder.data[key] == {"n": 399}


def test_waiting_keys_go_to_save_many_in_one_write() -> None:
    recorder = Recorder(batches=True)
    store = WriteBehindStore(recorder)
    recorder.gate.clear()
    store.save("a", {"n": 1})
    assert recorder.entered.wait(10)
    for key in "bcde":
        store.save(key, {"n": 1})
    store.save("b", {"n": 2})  # replaces the waiting state of b, keeps its place
    recorder.gate.set()
    store.close()
    assert recorder.calls == [["a"], ["b", "c", "d", "e"]]
    assert recorder.data["b"] == {"n": 2}


def test_close_writes_the_last_save_of_every_key_and_stops_the_thread(
    store: WriteBehindStore, recorder: Recorder
) -> None:
    for n in range(200):
        store.save(f"k{n % 20}", {"n": n})
    thread = store._thread
    assert thread is not None and thread.daemon
    assert store.close() is True
    assert {k: v["n"] for k, v in recorder.data.items()} == {f"k{i}": 180 + i for i in range(20)}
    assert thread not in threading.enumerate()
    assert not [t for t in threading.enumerate() if t.name == thread.name]
    assert store.close() is True  # idempotent


def test_save_after_close_writes_straight_through(
    store: WriteBehindStore, recorder: Recorder
) -> None:
    store.save("dev", {"n": 1})
    store.close()
    store.save("dev", {"n": 2})
    assert recorder.data["dev"] == {"n": 2}
    assert store._thread not in threading.enumerate()


def test_close_without_any_save_starts_nothing(store: WriteBehindStore) -> None:
    assert store.close() is True
    assert store._thread is None


def test_close_gives_up_waiting_after_its_timeout(
    store: WriteBehindStore, recorder: Recorder
) -> None:
    recorder.gate.clear()
    store.save("dev", {"n": 1})
    assert store.close(timeout=0.05) is False
    recorder.gate.set()
    assert store.close(timeout=10) is True
    assert recorder.data["dev"] == {"n": 1}


def test_a_failed_write_is_logged_counted_reported_kept_and_retried_at_close(
    store: WriteBehindStore, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.fail_keys = {"bad"}
    with caplog.at_level(logging.ERROR):
        store.save("bad", {"n": 1})
        store.save("good", {"n": 1})
        assert store.flush(timeout=10)
    assert store.failed_writes == 1
    [record] = caplog.records
    assert record.levelno == logging.ERROR and "'bad'" in record.getMessage()
    assert "disk refused" in record.getMessage()
    [problem] = store.take_problems()
    assert "'bad'" in problem.message and problem.path is None and problem.kept_as is None
    assert store.take_problems() == []
    assert store.load("bad") == {"n": 1}  # the app's view survives the failed write
    assert recorder.data == {"good": {"n": 1}}
    recorder.fail_keys = set()
    store.close()
    assert recorder.data["bad"] == {"n": 1}


def test_a_newer_save_replaces_a_failed_one(store: WriteBehindStore, recorder: Recorder) -> None:
    recorder.fail_keys = {"dev"}
    store.save("dev", {"n": 1})
    store.flush()
    recorder.fail_keys = set()
    store.save("dev", {"n": 2})
    store.close()
    assert recorder.writes == [("dev", 2)]


def test_problems_of_the_inner_store_are_forwarded(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"{damaged")
    inner = JsonFileStore(path)
    store = WriteBehindStore(inner)
    assert store.load("dev") is None
    [problem] = store.take_problems()
    assert problem.path == path and problem.kept_as is not None
    assert take_store_problems(store) == []
    store.close()


def test_take_store_problems_is_empty_for_stores_that_keep_none() -> None:
    assert take_store_problems(MemoryStore()) == []
    assert take_store_problems(NullStore()) == []


def test_the_real_file_stores_end_up_with_every_last_save(tmp_path: Path) -> None:
    sqlite = SqliteStore(tmp_path / "state.db")
    for inner in (JsonFileStore(tmp_path / "state.json"), sqlite):
        store = WriteBehindStore(inner)
        for n in range(50):
            store.save(f"k{n % 5}", {"n": n})
        store.close()
        assert [inner.load(f"k{i}") for i in range(5)] == [{"n": 45 + i} for i in range(5)]
    sqlite.close()
    document = json.loads((tmp_path / "state.json").read_text(encoding="utf-8"))
    assert sorted(document) == [f"k{i}" for i in range(5)]


def test_write_behind_wraps_file_backed_stores_only(tmp_path: Path) -> None:
    memory, null = MemoryStore(), NullStore()
    assert write_behind(memory) is memory
    assert write_behind(null) is null
    sqlite = SqliteStore(tmp_path / "s.db")
    for inner in (JsonFileStore(tmp_path / "s.json"), sqlite, Recorder()):
        wrapped = write_behind(inner)
        assert isinstance(wrapped, WriteBehindStore) and wrapped.inner is inner
        assert write_behind(wrapped) is wrapped
        assert repr(wrapped) == f"WriteBehindStore({inner!r})"
    sqlite.close()


def test_stores_left_open_are_flushed_by_the_exit_hook(recorder: Recorder) -> None:
    store = WriteBehindStore(recorder)
    recorder.gate.clear()
    store.save("dev", {"n": 1})
    assert store in _store_io._open_stores
    recorder.gate.set()
    _store_io._close_open_stores()
    assert recorder.data["dev"] == {"n": 1}
    assert store not in _store_io._open_stores


def test_a_process_that_exits_without_close_still_writes_its_last_save(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    script = textwrap.dedent(
        f"""
        from cosalette._persistence import JsonFileStore, write_behind
        store = write_behind(JsonFileStore({str(path)!r}))
        for n in range(100):
            store.save("dev", {{"n": n}})
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert json.loads(path.read_text(encoding="utf-8")) == {"dev": {"n": 99}}
