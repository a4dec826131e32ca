"""Write-behind: saves return at once and one worker thread does the slow, durable writes."""

from __future__ import annotations

import atexit
import copy
import logging
import threading
import weakref
from pathlib import Path

from cosalette._stores import MemoryStore, NullStore, Store, StoreProblem

__all__ = ["WriteBehindStore", "take_store_problems", "write_behind"]

logger = logging.getLogger("cosalette._persistence")

_open_stores: weakref.WeakSet[WriteBehindStore] = weakref.WeakSet()


def take_store_problems(store: Store) -> list[StoreProblem]:
    """Return and forget *store*'s recorded problems; [] for stores that record none."""
    take = getattr(store, "take_problems", None)
    return list(take()) if callable(take) else []


def write_behind(store: Store) -> Store:
    """Return *store* with its writes moved off the caller's thread when they touch storage.

    File-backed stores (JsonFileStore, SqliteStore, any user store) come back wrapped in a
    :class:`WriteBehindStore`; in-memory stores (MemoryStore, NullStore) and stores already
    wrapped come back unchanged, so a test sees saved state as soon as a handler returns.
    """
    if isinstance(store, MemoryStore | NullStore | WriteBehindStore):
        return store
    return WriteBehindStore(store)


class WriteBehindStore:
    """A :class:`Store` whose ``save`` returns at once; one worker thread writes to *inner*.

    - ``save(key, data)`` deep-copies *data* and queues it. While a key waits, a newer save
      of it replaces the queued state (only the latest needs writing); keys are written in
      the order they were first queued, and one key's writes never overtake each other.
      When *inner* has ``save_many(mapping)`` every waiting key goes in one write.
    - ``load(key)`` sees a save still waiting (read-your-writes), otherwise asks *inner*.
      *inner* is never called from two threads at once.
    - A failed write is logged at ERROR with the key, counted in :attr:`failed_writes`,
      recorded for :meth:`take_problems`, and its state is kept: ``load`` still returns it,
      and :meth:`close` tries it once more.
    - :meth:`flush` waits until everything queued is written; :meth:`close` flushes and stops
      the worker (idempotent). After close, saves write straight through on the caller.

    The worker starts with the first save and is a daemon thread, so it never holds up exit;
    stores still open when the interpreter exits are closed (flushed) by an ``atexit`` hook.
    *inner* is not closed: it belongs to whoever built it.
    """

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self._cond = threading.Condition()
        self._io_lock = threading.Lock()  # held around every call into inner
        self._pending: dict[str, dict[str, object]] = {}
        self._unwritten: dict[str, dict[str, object]] = {}  # last failed state per key
        self._inflight: dict[str, dict[str, object]] = {}  # the batch being written
        self._closed = False
        self._thread: threading.Thread | None = None
        self._worker_done = False
        self._problems: list[StoreProblem] = []
        self._failed_writes = 0

    @property
    def inner(self) -> Store:
        """The wrapped store."""
        return self._inner

    @property
    def failed_writes(self) -> int:
        """How many writes to the inner store have failed so far."""
        return self._failed_writes

    def save(self, key: str, data: dict[str, object]) -> None:
        """Queue a deep copy of *data* for *key* and return without touching storage."""
        snapshot = copy.deepcopy(data)
        with self._cond:
            if not self._closed or self._worker_running():
                self._pending[key] = snapshot
                self._unwritten.pop(key, None)
                self._start_worker()
                self._cond.notify_all()
                return
        logger.debug("%r is closed; writing %r straight through", self, key)
        with self._io_lock:
            self._write({key: snapshot})

    def load(self, key: str) -> dict[str, object] | None:
        """Return the latest state saved for *key*, written yet or not."""
        known = self._latest(key)
        if known is not None:
            return known
        with self._io_lock:  # the worker holds it from taking a batch until it is written
            known = self._latest(key)  # saved while this thread waited
            return known if known is not None else self._inner.load(key)

    def _latest(self, key: str) -> dict[str, object] | None:
        """A copy of *key*'s newest state not yet in the inner store (queued, being written,
        or failed), or None."""
        with self._cond:
            for states in (self._pending, self._inflight, self._unwritten):
                if key in states:
                    return copy.deepcopy(states[key])
        return None

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every queued save is written (or has failed); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._inflight, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Retry failed writes once, write everything queued and stop the worker.

        Returns False if *timeout* passed before the worker finished (it then keeps
        writing in the background). Calling it again does nothing more.
        """
        with self._cond:
            if not self._closed:
                self._closed = True
                for key in [k for k in self._unwritten if k not in self._pending]:
                    self._pending[key] = self._unwritten.pop(key)
                if self._pending:
                    self._start_worker()
                self._cond.notify_all()
            thread = self._thread
        _open_stores.discard(self)
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def take_problems(self) -> list[StoreProblem]:
        """Return and forget the write failures and the inner store's problems since last call."""
        with self._cond:
            problems, self._problems = self._problems, []
        return problems + take_store_problems(self._inner)

    def _worker_running(self) -> bool:
        """True while the worker thread exists and has not finished (condition held)."""
        return self._thread is not None and not self._worker_done

    def _start_worker(self) -> None:
        """Start the worker on first use (call with the condition held)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"cosalette-store-writer-{id(self):x}", daemon=True
            )
            self._thread.start()
            _open_stores.add(self)

    def _run(self) -> None:
        """Write batches until the store is closed and nothing is left."""
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if not self._pending:
                    self._worker_done = True
                    return
            with self._io_lock:
                with self._cond:
                    self._inflight, self._pending = self._pending, {}
                try:
                    self._write(self._inflight)
                finally:
                    with self._cond:
                        self._inflight = {}
                        self._cond.notify_all()

    def _write(self, batch: dict[str, dict[str, object]]) -> None:
        """Write *batch* to the inner store; log, count and keep whatever fails."""
        save_many = getattr(self._inner, "save_many", None)
        if callable(save_many) and len(batch) > 1:
            try:
                save_many(batch)
            except Exception as exc:
                for key, data in batch.items():
                    self._failed(key, data, exc)
            return
        for key, data in batch.items():
            try:
                self._inner.save(key, data)
            except Exception as exc:
                self._failed(key, data, exc)

    def _failed(self, key: str, data: dict[str, object], exc: Exception) -> None:
        """Record one failed write."""
        path = getattr(self._inner, "path", None)
        message = f"Failed to write state for {key!r} to {self._inner!r}: {exc}"
        logger.error("%s", message, exc_info=(type(exc), exc, exc.__traceback__))
        with self._cond:
            self._failed_writes += 1
            self._problems.append(
                StoreProblem(message, path if isinstance(path, Path) else None, None)
            )
            if key not in self._pending:
                self._unwritten[key] = data

    def __repr__(self) -> str:
        return f"WriteBehindStore({self._inner!r})"


@atexit.register
def _close_open_stores() -> None:
    """Flush every write-behind store still open when the interpreter exits."""
    for store in list(_open_stores):
        store.close()
