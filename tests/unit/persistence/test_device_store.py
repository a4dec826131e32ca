"""DeviceStore: a dict-like per-device view that loads, saves and knows when it changed."""

from __future__ import annotations

import pytest

from cosalette.stores import DeviceStore, MemoryStore


def loaded(initial: dict[str, object] | None = None) -> tuple[DeviceStore, MemoryStore]:
    backend = MemoryStore({"dev": initial} if initial is not None else None)
    store = DeviceStore(backend, "dev")
    store.load()
    return store, backend


def test_load_reads_the_device_key_and_starts_clean() -> None:
    store, _ = loaded({"total": 4})
    assert store["total"] == 4
    assert store.to_dict() == {"total": 4}
    assert not store.dirty


def test_load_of_unknown_device_is_empty() -> None:
    store, _ = loaded()
    assert len(store) == 0
    assert store.get("total", 0) == 0


def test_counter_pattern_survives_a_restart() -> None:
    backend = MemoryStore()
    for _ in range(3):
        store = DeviceStore(backend, "counter")
        store.load()
        store["total"] = int(store.get("total", 0)) + 1  # type: ignore[call-overload]
        store.save()
    assert backend.load("counter") == {"total": 3}


def test_setitem_and_delitem_mark_dirty_and_save_cleans() -> None:
    store, backend = loaded({"a": 1})
    store["b"] = 2
    assert store.dirty
    store.save()
    assert not store.dirty
    assert backend.load("dev") == {"a": 1, "b": 2}
    del store["a"]
    assert store.dirty
    store.save()
    assert backend.load("dev") == {"b": 2}


def test_reads_do_not_mark_dirty() -> None:
    store, _ = loaded({"a": 1})
    _ = store["a"], store.get("a"), "a" in store, list(store), len(store)
    _ = list(store.keys()), list(store.values()), list(store.items()), store.to_dict()
    assert not store.dirty


def test_setdefault_only_dirties_when_it_inserts() -> None:
    store, _ = loaded({"a": 1})
    assert store.setdefault("a", 5) == 1
    assert not store.dirty
    assert store.setdefault("b", []) == []
    assert store.dirty
    assert store["b"] == []


def test_update_accepts_mapping_pairs_and_keywords() -> None:
    store, _ = loaded()
    store.update({"a": 1})
    store.update([("b", 2)], c=3)
    assert store.to_dict() == {"a": 1, "b": 2, "c": 3}
    assert store.dirty


def test_empty_update_stays_clean() -> None:
    store, _ = loaded({"a": 1})
    store.update()
    store.update({})
    assert not store.dirty


def test_nested_mutation_needs_mark_dirty() -> None:
    store, backend = loaded({"readings": [1]})
    store["readings"].append(2)  # type: ignore[attr-defined]
    assert not store.dirty
    store.mark_dirty()
    assert store.dirty
    store.save()
    assert backend.load("dev") == {"readings": [1, 2]}


def test_to_dict_is_a_copy() -> None:
    store, _ = loaded({"a": 1})
    snapshot = store.to_dict()
    snapshot["a"] = 99
    assert store["a"] == 1


def test_views_and_iteration_follow_the_data() -> None:
    store, _ = loaded({"a": 1, "b": 2})
    assert sorted(store) == ["a", "b"]
    assert sorted(store.keys()) == ["a", "b"]
    assert sorted(store.values()) == [1, 2]  # type: ignore[type-var]
    assert sorted(store.items()) == [("a", 1), ("b", 2)]
    assert "a" in store and "z" not in store
    with pytest.raises(KeyError):
        store["z"]


def test_reload_discards_unsaved_changes() -> None:
    store, _ = loaded({"a": 1})
    store["a"] = 2
    store.load()
    assert store["a"] == 1
    assert not store.dirty


@pytest.mark.parametrize(
    "use",
    [
        lambda s: s["a"],
        lambda s: s.__setitem__("a", 1),
        lambda s: s.__delitem__("a"),
        lambda s: s.get("a"),
        lambda s: s.setdefault("a", 1),
        lambda s: s.update(a=1),
        lambda s: s.to_dict(),
        lambda s: s.keys(),
        lambda s: s.values(),
        lambda s: s.items(),
        lambda s: "a" in s,
        lambda s: len(s),
        lambda s: iter(s),
    ],
)
def test_access_before_load_is_a_clear_error(use: object) -> None:
    store = DeviceStore(MemoryStore(), "dev")
    with pytest.raises(
        RuntimeError, match=r"DeviceStore\.load\(\) must be called before accessing data.*'dev'"
    ):
        use(store)  # type: ignore[operator]


def test_save_before_load_is_a_clear_error_and_leaves_stored_state() -> None:
    backend = MemoryStore({"dev": {"total": 7}})
    store = DeviceStore(backend, "dev")
    with pytest.raises(RuntimeError, match=r"'dev'.*load\(\) must run first"):
        store.save()
    assert backend.load("dev") == {"total": 7}
    assert not store.dirty


def test_save_after_a_failed_load_is_still_refused() -> None:
    class Broken:
        def load(self, key: str) -> dict[str, object] | None:
            raise ValueError("corrupt row")

        def save(self, key: str, data: dict[str, object]) -> None:
            raise AssertionError("must not be called")

    store = DeviceStore(Broken(), "dev")
    with pytest.raises(ValueError, match="corrupt row"):
        store.load()
    with pytest.raises(RuntimeError, match="load\\(\\) must run first"):
        store.save()


def test_repr_names_the_key_and_dirtiness() -> None:
    store, _ = loaded({"a": 1})
    assert repr(store) == "DeviceStore(key='dev', dirty=False)"
    store["a"] = 2
    assert repr(store) == "DeviceStore(key='dev', dirty=True)"
    assert repr(DeviceStore(MemoryStore(), "k")) == "DeviceStore(key='k', dirty=False)"
