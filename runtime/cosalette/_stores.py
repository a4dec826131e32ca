"""The Store protocol, the record of a storage problem, and the two in-memory stores."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

__all__ = ["MemoryStore", "NullStore", "Store", "StoreProblem"]


@runtime_checkable
class Store(Protocol):
    """Key-value persistence contract: each key maps to one JSON-serialisable dict."""

    def load(self, key: str) -> dict[str, object] | None:
        """Return the state saved under *key*, or None when nothing was saved."""
        ...

    def save(self, key: str, data: dict[str, object]) -> None:
        """Persist *data* under *key*, replacing what was there."""
        ...


class StoreProblem(NamedTuple):
    """Something a store found wrong with its storage, for the runtime to report.

    *message* is a full sentence fit for logs and ``<app>/error``; *path* is the store's file
    (None for a store without one); *kept_as* is where the damaged content was preserved,
    or None when nothing was moved aside.
    """

    message: str
    path: Path | None
    kept_as: Path | None


class NullStore:
    """Store that remembers nothing, for dry runs or when persistence is switched off."""

    def load(self, key: str) -> dict[str, object] | None:
        """Always return None: nothing is ever saved."""
        return None

    def save(self, key: str, data: dict[str, object]) -> None:
        """Discard *data*."""

    def __repr__(self) -> str:
        return "NullStore()"


class MemoryStore:
    """In-memory store for tests; data is deep-copied both ways so callers cannot alias it.

    ``_data`` is the live ``{key: dict}`` mapping; tests may read and seed it directly.
    """

    def __init__(self, initial: Mapping[str, dict[str, object]] | None = None) -> None:
        self._data: dict[str, dict[str, object]] = copy.deepcopy(dict(initial or {}))

    def load(self, key: str) -> dict[str, object] | None:
        """Return a deep copy of the state under *key*, or None."""
        value = self._data.get(key)
        return None if value is None else copy.deepcopy(value)

    def save(self, key: str, data: dict[str, object]) -> None:
        """Keep a deep copy of *data* under *key*."""
        self._data[key] = copy.deepcopy(data)

    def __repr__(self) -> str:
        return f"MemoryStore(keys={list(self._data)!r})"
