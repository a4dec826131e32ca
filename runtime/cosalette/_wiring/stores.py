"""The device stores of one run: one :class:`DeviceStore` per device over the app's backend.

Every archetype of a device shares its store (a telemetry and a command named alike see one
state, not two copies that overwrite each other). A store is loaded when the device is wired,
before its handler (or ``init=``) first runs; the runners save it as their policy says, and
the run saves every changed store at shutdown.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cosalette._persistence import DeviceStore
from cosalette._store_io import take_store_problems
from cosalette._stores import Store, StoreProblem

__all__ = ["DeviceStores", "build_store"]

logger = logging.getLogger("cosalette")


def build_store(spec: Any, providers: Mapping[Any, object]) -> Store | None:
    """The store an app declared: itself, or what its factory returns (parameters injected)."""
    if spec is None or (isinstance(spec, Store) and not isinstance(spec, type)):
        return spec
    from cosalette._di.adapters import call_injected

    if inspect.iscoroutinefunction(spec):
        raise TypeError(f"store factory {spec!r} is async; store factories must be synchronous")
    store = call_injected(spec, providers, owner=f"store factory {spec!r}")
    if not isinstance(store, Store) or isinstance(store, type):
        raise TypeError(
            f"store factory {spec!r} returned {type(store).__name__!r}, expected a Store "
            f"instance (MemoryStore(), JsonFileStore(path), SqliteStore(path), ...)"
        )
    return store


def store_file(store: object) -> Path | None:
    """The file a file-backed store writes (its ``path``), if it has one."""
    path = getattr(store, "path", None)
    return path if isinstance(path, Path) else None


class _StartEmpty:
    """A device whose stored state could not be read starts empty; its saves go through."""

    def __init__(self, backend: Store) -> None:
        self._backend = backend

    def load(self, key: str) -> dict[str, object] | None:
        return None

    def save(self, key: str, data: dict[str, object]) -> None:
        self._backend.save(key, data)


class DeviceStores:
    """One loaded :class:`DeviceStore` per device name, over one backend."""

    def __init__(self, backend: Store, *, wrap: Callable[[Store], Store] | None = None) -> None:
        self.declared = backend
        self.backend = wrap(backend) if wrap is not None else backend
        self._views: dict[str, DeviceStore] = {}
        self._problems: list[StoreProblem] = []

    def for_device(self, name: str) -> DeviceStore:
        """*name*'s store, created and loaded on first use; unreadable state starts empty."""
        view = self._views.get(name)
        if view is None:
            view = DeviceStore(self.backend, name)
            try:
                view.load()
            except Exception as exc:
                message = (
                    f"The stored state of device {name!r} cannot be read ({exc}); it starts empty"
                )
                logger.error("%s", message)
                self._problems.append(StoreProblem(message, store_file(self.declared), None))
                view = DeviceStore(_StartEmpty(self.backend), name)
                view.load()
            self._views[name] = view
        return view

    def reload_unchanged(self) -> None:
        """Read again every store this run has not changed (another process saved since)."""
        for view in self._views.values():
            if not view.dirty:
                view.load()

    def take_problems(self) -> list[StoreProblem]:
        """Problems found since the last call: unreadable state, files kept aside, failed writes."""
        found, self._problems = self._problems, []
        return found + take_store_problems(self.backend)

    def save_changed(self) -> None:
        """Save every store that changed since it was loaded or saved; errors are logged."""
        for name, view in self._views.items():
            if view.dirty:
                try:
                    view.save()
                except Exception:
                    logger.exception("Failed to save the store of device '%s'", name)

    async def aclose(self) -> None:
        """:meth:`close` without blocking the loop: in a thread only when writes are pending."""
        flush = getattr(self.backend, "flush", None)
        if self.backend is not self.declared and callable(flush) and not flush(timeout=0):
            await asyncio.to_thread(self.close)
        else:
            self.close()

    def close(self) -> None:
        """Wait for pending writes and stop the write-behind thread; the app's store stays open."""
        close = getattr(self.backend, "close", None)
        if self.backend is not self.declared and callable(close):
            try:
                close()
            except Exception:
                logger.exception("Closing the store %r failed", self.backend)
