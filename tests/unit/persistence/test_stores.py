"""Every store backend: what is saved comes back; the in-memory stores and their reprs.

The file-backed stores have their own files: test_json_file_store.py, test_sqlite_store.py.
"""

from __future__ import annotations

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
    assert repr(store) == "NullStore()"


def test_memory_store_repr_lists_its_keys() -> None:
    store = MemoryStore({"a": {}})
    store.save("b", {"x": 1})
    assert repr(store) == "MemoryStore(keys=['a', 'b'])"


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
