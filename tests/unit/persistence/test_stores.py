"""Store backends: what is saved comes back, across instances, and corrupt files lose nothing."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from cosalette.stores import JsonFileStore, MemoryStore, NullStore, SqliteStore, Store

STATE: dict[str, object] = {"total": 3, "nested": {"values": [1, 2]}, "name": "päd"}


@pytest.fixture(params=["memory", "json", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "json":
        yield JsonFileStore(tmp_path / "state.json")
    else:
        sqlite_store = SqliteStore(tmp_path / "state.db")
        yield sqlite_store
        sqlite_store.close()


def test_every_backend_satisfies_the_store_protocol(tmp_path: Path) -> None:
    sqlite_store = SqliteStore(tmp_path / "s.db")
    for backend in (NullStore(), MemoryStore(), JsonFileStore(tmp_path / "s.json"), sqlite_store):
        assert isinstance(backend, Store)
    sqlite_store.close()


def test_round_trip(store: Store) -> None:
    store.save("counter", STATE)
    assert store.load("counter") == STATE


def test_missing_key_is_none(store: Store) -> None:
    assert store.load("nothing") is None
    store.save("other", {"a": 1})
    assert store.load("nothing") is None


def test_keys_are_independent_and_save_replaces(store: Store) -> None:
    store.save("a", {"x": 1})
    store.save("b", {"y": 2})
    store.save("a", {"z": 3})
    assert store.load("a") == {"z": 3}
    assert store.load("b") == {"y": 2}


def test_null_store_forgets_everything() -> None:
    store = NullStore()
    store.save("k", {"a": 1})
    assert store.load("k") is None


class TestMemoryStore:
    def test_initial_data_is_loadable_and_copied(self) -> None:
        seed: dict[str, dict[str, object]] = {"dev": {"items": [1]}}
        store = MemoryStore(seed)
        seed["dev"]["items"].append(2)  # type: ignore[attr-defined]
        assert store.load("dev") == {"items": [1]}

    def test_saved_data_is_isolated_from_the_caller(self) -> None:
        store = MemoryStore()
        data: dict[str, object] = {"items": [1]}
        store.save("dev", data)
        data["items"].append(2)  # type: ignore[attr-defined]
        loaded = store.load("dev")
        assert loaded == {"items": [1]}
        assert loaded is not None
        loaded["items"].append(3)  # type: ignore[attr-defined]
        assert store.load("dev") == {"items": [1]}

    def test_backing_dict_is_readable_and_writable(self) -> None:
        store = MemoryStore()
        store.save("dev", {"a": 1})
        assert store._data == {"dev": {"a": 1}}
        store._data["other"] = {"b": 2}
        assert store.load("other") == {"b": 2}


class TestJsonFileStore:
    def test_file_is_one_json_object_keyed_by_device(self, tmp_path: Path) -> None:
        path = tmp_path / "state.json"
        store = JsonFileStore(path)
        store.save("a", {"x": 1})
        store.save("b", {"y": 2})
        assert json.loads(path.read_text(encoding="utf-8")) == {"a": {"x": 1}, "b": {"y": 2}}

    def test_persists_across_instances_and_creates_parents(self, tmp_path: Path) -> None:
        path = tmp_path / "deep" / "er" / "state.json"
        JsonFileStore(path).save("dev", STATE)
        assert JsonFileStore(str(path)).load("dev") == STATE

    def test_atomic_write_leaves_no_temp_file(self, tmp_path: Path) -> None:
        store = JsonFileStore(tmp_path / "state.json")
        for i in range(3):
            store.save("dev", {"i": i})
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]

    def test_failed_write_keeps_the_old_file_and_no_temp(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "state.json"
        store = JsonFileStore(path)
        store.save("dev", {"ok": True})

        def crash(src: object, dst: object) -> None:
            raise OSError("disk gone")

        monkeypatch.setattr("cosalette._persistence.os.replace", crash)
        with pytest.raises(OSError, match="disk gone"):
            store.save("dev", {"ok": False})
        monkeypatch.undo()
        assert store.load("dev") == {"ok": True}
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]

    def test_corrupt_file_loads_as_empty_with_a_warning(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = tmp_path / "state.json"
        path.write_text("{not json", encoding="utf-8")
        with caplog.at_level(logging.WARNING):
            assert JsonFileStore(path).load("dev") is None
        assert "state.json" in caplog.text
        assert path.read_text(encoding="utf-8") == "{not json"

    def test_saving_over_a_corrupt_file_preserves_it(self, tmp_path: Path) -> None:
        path = tmp_path / "state.json"
        path.write_text("{not json", encoding="utf-8")
        store = JsonFileStore(path)
        store.save("dev", {"a": 1})
        assert store.load("dev") == {"a": 1}
        backups = [p for p in tmp_path.iterdir() if p.name.startswith("state.json.corrupt-")]
        assert len(backups) == 1
        assert backups[0].read_text(encoding="utf-8") == "{not json"

    def test_two_corruptions_keep_two_backups(self, tmp_path: Path) -> None:
        path = tmp_path / "state.json"
        store = JsonFileStore(path)
        garbage = [b"[1, 2]", b"\xff\xfe not utf-8"]
        for content in garbage:
            path.write_bytes(content)
            store.save("dev", {"a": 1})
        backups = sorted(p.read_bytes() for p in tmp_path.glob("state.json.corrupt-*"))
        assert backups == sorted(garbage)
        assert store.load("dev") == {"a": 1}

    def test_blank_file_is_simply_empty(self, tmp_path: Path) -> None:
        path = tmp_path / "state.json"
        path.write_text("", encoding="utf-8")
        store = JsonFileStore(path)
        assert store.load("dev") is None
        store.save("dev", {"a": 1})
        assert list(tmp_path.glob("*.corrupt-*")) == []


class TestSqliteStore:
    def test_persists_across_instances(self, tmp_path: Path) -> None:
        path = tmp_path / "sub" / "state.db"
        first = SqliteStore(path)
        first.save("dev", STATE)
        first.close()
        second = SqliteStore(str(path))
        assert second.load("dev") == STATE
        second.close()

    def test_uses_wal_and_the_documented_table(self, tmp_path: Path) -> None:
        path = tmp_path / "state.db"
        store = SqliteStore(path)
        store.save("dev", {"a": 1})
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = conn.execute("SELECT key, data FROM store").fetchall()
        conn.close()
        store.close()
        assert [(key, json.loads(data)) for key, data in rows] == [("dev", {"a": 1})]

    def test_close_is_idempotent_and_use_after_close_fails(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "state.db")
        store.close()
        store.close()
        with pytest.raises(RuntimeError, match="closed"):
            store.load("dev")
