"""Device state that survives restarts: the per-device view, and where the backends live.

The backends are split by kind: the protocol and in-memory stores in ``_stores``, the JSON
file store in ``_store_files``, SQLite in ``_store_sqlite`` and write-behind in ``_store_io``.
Everything is re-exported here, the runtime's one import point for persistence.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView

from cosalette._save_policies import (
    AllSavePolicy,
    AnySavePolicy,
    PersistPolicy,
    SaveOnChange,
    SaveOnPublish,
    SaveOnShutdown,
)
from cosalette._store_files import JsonFileStore
from cosalette._store_io import WriteBehindStore, take_store_problems, write_behind
from cosalette._store_sqlite import SqliteStore
from cosalette._stores import MemoryStore, NullStore, Store, StoreProblem

__all__ = [
    "AllSavePolicy",
    "AnySavePolicy",
    "DeviceStore",
    "JsonFileStore",
    "MemoryStore",
    "NullStore",
    "PersistPolicy",
    "SaveOnChange",
    "SaveOnPublish",
    "SaveOnShutdown",
    "SqliteStore",
    "Store",
    "StoreProblem",
    "WriteBehindStore",
    "take_store_problems",
    "write_behind",
]


class DeviceStore:
    """One device's slice of a :class:`Store`, used like a dict, tracking whether it changed."""

    def __init__(self, backend: Store, key: str) -> None:
        self._backend = backend
        self._key = key
        self._data: dict[str, object] = {}
        self._dirty = False
        self._loaded = False

    @property
    def dirty(self) -> bool:
        """True when the state changed since the last load or save."""
        return self._dirty

    def _state(self) -> dict[str, object]:
        """Return the loaded state, or explain that load() has to run first."""
        if not self._loaded:
            msg = (
                f"DeviceStore.load() must be called before accessing data (device {self._key!r};"
                " the framework loads it before the first handler call, tests call load())"
            )
            raise RuntimeError(msg)
        return self._data

    def load(self) -> None:
        """Read this device's state from the backend and mark the view clean."""
        saved = self._backend.load(self._key)
        self._data = dict(saved) if saved is not None else {}
        self._dirty = False
        self._loaded = True

    def save(self) -> None:
        """Write the state to the backend and mark the view clean.

        Raises RuntimeError before :meth:`load`: saving a view that never read the stored
        state would replace that state with ``{}``.
        """
        if not self._loaded:
            msg = (
                f"DeviceStore {self._key!r} cannot be saved before it is loaded: load() must run "
                "first, or the stored state would be overwritten with {}"
            )
            raise RuntimeError(msg)
        self._backend.save(self._key, dict(self._data))
        self._dirty = False

    def mark_dirty(self) -> None:
        """Flag a change the view cannot see, such as ``store["list"].append(x)``."""
        self._dirty = True

    def get(self, key: str, default: object = None) -> object:
        """Return the value for *key*, or *default* when absent."""
        return self._state().get(key, default)

    def setdefault(self, key: str, default: object = None) -> object:
        """Return ``self[key]``, first storing *default* there when absent."""
        state = self._state()
        if key not in state:
            state[key] = default
            self._dirty = True
        return state[key]

    def update(
        self,
        other: Mapping[str, object] | Iterable[tuple[str, object]] | None = None,
        **kwargs: object,
    ) -> None:
        """Merge *other* and keyword arguments into the state, like ``dict.update``."""
        state = self._state()
        if other is not None:
            items = dict(other)
            if items:
                state.update(items)
                self._dirty = True
        if kwargs:
            state.update(kwargs)
            self._dirty = True

    def to_dict(self) -> dict[str, object]:
        """Return a shallow copy of the state, e.g. to return it from a telemetry handler."""
        return dict(self._state())

    def keys(self) -> KeysView[str]:
        """Return a view of the keys."""
        return self._state().keys()

    def values(self) -> ValuesView[object]:
        """Return a view of the values."""
        return self._state().values()

    def items(self) -> ItemsView[str, object]:
        """Return a view of the (key, value) pairs."""
        return self._state().items()

    def __getitem__(self, key: str) -> object:
        return self._state()[key]

    def __setitem__(self, key: str, value: object) -> None:
        self._state()[key] = value
        self._dirty = True

    def __delitem__(self, key: str) -> None:
        del self._state()[key]
        self._dirty = True

    def __contains__(self, key: object) -> bool:
        return key in self._state()

    def __len__(self) -> int:
        return len(self._state())

    def __iter__(self) -> Iterator[str]:
        return iter(self._state())

    def __repr__(self) -> str:
        return f"DeviceStore(key={self._key!r}, dirty={self._dirty})"
