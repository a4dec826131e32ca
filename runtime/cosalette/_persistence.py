"""Device state that survives restarts: store backends and the per-device view."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from pathlib import Path
from typing import Protocol, runtime_checkable

from cosalette._json import dumps, dumps_pretty, loads
from cosalette._save_policies import (
    AllSavePolicy,
    AnySavePolicy,
    PersistPolicy,
    SaveOnChange,
    SaveOnPublish,
    SaveOnShutdown,
)

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
]


logger = logging.getLogger(__name__)


@runtime_checkable
class Store(Protocol):
    """Key-value persistence contract: each key maps to one JSON-serialisable dict."""

    def load(self, key: str) -> dict[str, object] | None:
        """Return the state saved under *key*, or None when nothing was saved."""
        ...

    def save(self, key: str, data: dict[str, object]) -> None:
        """Persist *data* under *key*, replacing what was there."""
        ...


class NullStore:
    """Store that remembers nothing, for dry runs or when persistence is switched off."""

    def load(self, key: str) -> dict[str, object] | None:
        """Always return None: nothing is ever saved."""
        return None

    def save(self, key: str, data: dict[str, object]) -> None:
        """Discard *data*."""


class MemoryStore:
    """In-memory store for tests; data is deep-copied both ways so callers cannot alias it."""

    def __init__(self, initial: Mapping[str, dict[str, object]] | None = None) -> None:
        self._data: dict[str, dict[str, object]] = copy.deepcopy(dict(initial or {}))

    def load(self, key: str) -> dict[str, object] | None:
        """Return a deep copy of the state under *key*, or None."""
        value = self._data.get(key)
        return None if value is None else copy.deepcopy(value)

    def save(self, key: str, data: dict[str, object]) -> None:
        """Keep a deep copy of *data* under *key*."""
        self._data[key] = copy.deepcopy(data)


class _CorruptFile(Exception):
    """The store file exists but does not hold a JSON object."""


class JsonFileStore:
    """All keys in one readable JSON file, replaced atomically so a crash never truncates it."""

    def __init__(self, path: Path | str) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, object]:
        """Read the document: a missing or blank file is empty, a non-object one is corrupt."""
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except UnicodeDecodeError as exc:
            raise _CorruptFile(str(exc)) from exc
        if not text.strip():
            return {}
        try:
            parsed = loads(text)
        except (ValueError, RecursionError) as exc:
            raise _CorruptFile(str(exc)) from exc
        if not isinstance(parsed, dict):
            raise _CorruptFile(f"top level is {type(parsed).__name__}, not an object")
        return parsed

    def load(self, key: str) -> dict[str, object] | None:
        """Return the state under *key*; an unreadable or corrupt file warns and counts as empty."""
        with self._lock:
            try:
                document = self._read()
            except (_CorruptFile, OSError) as exc:
                logger.warning(
                    "Store file %s is unreadable, treating it as empty: %s", self._path, exc
                )
                return None
        value = document.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            logger.warning(
                "Store file %s holds a non-object under %r, ignoring it", self._path, key
            )
            return None
        return value

    def save(self, key: str, data: dict[str, object]) -> None:
        """Update *key* in the document; a corrupt file is first moved aside, never lost."""
        with self._lock:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            try:
                document = self._read()
            except _CorruptFile as exc:
                backup = self._preserve_corrupt()
                logger.warning(
                    "Store file %s was corrupt (%s); kept it as %s", self._path, exc, backup
                )
                document = {}
            document[key] = data
            self._write_atomically(dumps_pretty(document) + "\n")

    def _preserve_corrupt(self) -> Path:
        """Move the corrupt file to a fresh ``<name>.corrupt-<timestamp>`` so nothing is lost."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        backup = self._path.with_name(f"{self._path.name}.corrupt-{stamp}")
        counter = 1
        while backup.exists():
            backup = self._path.with_name(f"{self._path.name}.corrupt-{stamp}-{counter}")
            counter += 1
        os.replace(self._path, backup)
        return backup

    def _write_atomically(self, text: str) -> None:
        """Write to a temp file in the same directory, fsync it, then rename it over the target."""
        fd, tmp_name = tempfile.mkstemp(
            dir=self._path.parent, prefix=f".{self._path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self._path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        with contextlib.suppress(OSError):  # make the rename durable where directories open
            dir_fd = os.open(self._path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def __repr__(self) -> str:
        return f"JsonFileStore({str(self._path)!r})"


class SqliteStore:
    """SQLite store in WAL mode, one row per key, for state that must survive power loss."""

    def __init__(self, path: Path | str) -> None:
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            str(self._path), check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        with self._conn:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS store (key TEXT PRIMARY KEY, data TEXT NOT NULL)"
            )

    def _connection(self) -> sqlite3.Connection:
        """Return the open connection, or fail clearly after close()."""
        if self._conn is None:
            msg = f"SqliteStore({str(self._path)!r}) is closed"
            raise RuntimeError(msg)
        return self._conn

    def load(self, key: str) -> dict[str, object] | None:
        """Return the state under *key*; a row holding invalid JSON logs a warning and is None."""
        with self._lock:
            row = (
                self._connection()
                .execute("SELECT data FROM store WHERE key = ?", (key,))
                .fetchone()
            )
        if row is None:
            return None
        try:
            value = loads(row[0])
        except ValueError as exc:
            logger.warning("Store row %r in %s is corrupt, ignoring it: %s", key, self._path, exc)
            return None
        return value if isinstance(value, dict) else None

    def save(self, key: str, data: dict[str, object]) -> None:
        """Insert or replace the row for *key* in one transaction."""
        payload = dumps(data)
        with self._lock:
            conn = self._connection()
            with conn:
                conn.execute(
                    "INSERT INTO store (key, data) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET data = excluded.data",
                    (key, payload),
                )

    def close(self) -> None:
        """Close the database connection; calling it again does nothing."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __repr__(self) -> str:
        return f"SqliteStore({str(self._path)!r})"


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
                f"DeviceStore {self._key!r} was used before load(); the framework loads it "
                "before the first handler call (call load() yourself in tests)"
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
        """Write the state to the backend and mark the view clean; before load() it does nothing."""
        if not self._loaded:
            # Saving an unloaded view would overwrite stored state with {}: keep what is on disk.
            logger.debug("DeviceStore %r not loaded, skipping save", self._key)
            return
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
        shown = repr(self._data) if self._loaded else "<not loaded>"
        return f"DeviceStore({self._key!r}, {shown}, dirty={self._dirty})"
