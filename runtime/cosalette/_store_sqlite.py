"""SQLite store: one row per key in a WAL database, one durable transaction per save."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cosalette._json import dumps_pretty, loads
from cosalette._store_files import aside_name, ensure_private_dir, fsync_dir, utc_stamp
from cosalette._stores import StoreProblem

if TYPE_CHECKING:
    import sqlite3

__all__ = ["SqliteStore"]

logger = logging.getLogger("cosalette._persistence")

_SQLITE_CORRUPT = 11  # "database disk image is malformed"
_SQLITE_NOTADB = 26  # "file is not a database"
_HEADER = b"SQLite format 3\x00"
_UPSERT = "INSERT OR REPLACE INTO store (key, data) VALUES (?, ?)"


class SqliteStore:
    """SQLite store in WAL mode, one row per key, for state that must survive power loss.

    The directory is created at 0700 and the database at 0600 when the store is built. Each
    save is one transaction committed with ``synchronous=FULL``, so a crash or power cut
    leaves the previous or the new row. A database file SQLite cannot read at all (not a
    database, or malformed) is moved aside to ``<name>.corrupt-<UTC timestamp>`` (with its
    ``-wal``/``-shm`` files), logged at ERROR, and a fresh one is started. A row that does not
    hold a JSON object makes :meth:`load` log an ERROR and raise ``ValueError``; the row is
    left untouched. Both are recorded for the runtime: see :meth:`take_problems`.
    """

    def __init__(self, path: Path | str) -> None:
        import sqlite3  # here, so that apps without SQLite do not pay for importing it

        self._path = Path(path)
        self._lock = threading.Lock()
        self._problems: list[StoreProblem] = []
        ensure_private_dir(self._path.parent)
        header = self._foreign_header()
        if header is not None:  # before SQLite opens it, as closing would delete its WAL
            self._set_aside(header)
        try:
            conn = self._connect()
        except sqlite3.DatabaseError as exc:
            if exc.sqlite_errorcode not in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                raise
            self._set_aside(str(exc))
            conn = self._connect()
        self._conn: sqlite3.Connection | None = conn

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def _connect(self) -> sqlite3.Connection:
        """Open the database private to the user, in WAL mode, with the ``store`` table."""
        import sqlite3

        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.name != "nt" and os.fstat(fd).st_uid == os.geteuid():
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        conn = sqlite3.connect(str(self._path), check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            with conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS store (key TEXT PRIMARY KEY, data TEXT NOT NULL)"
                )
        except BaseException:
            conn.close()
            raise
        return conn

    def _foreign_header(self) -> str | None:
        """Say why the file is not an SQLite database, judging by its header; None if it is."""
        try:
            with open(self._path, "rb") as handle:
                head = handle.read(len(_HEADER))
        except (FileNotFoundError, IsADirectoryError):
            return None
        if not head or head == _HEADER:
            return None
        return "file is not a database: it does not start with the SQLite header"

    def _set_aside(self, reason: str) -> None:
        """Move an unreadable database and its WAL files aside, durably, and record it."""
        stamp = utc_stamp()
        kept = aside_name(self._path, stamp)
        for suffix in ("-wal", "-shm"):
            companion = self._path.with_name(self._path.name + suffix)
            if companion.exists():
                os.rename(companion, aside_name(companion, stamp))
        os.rename(self._path, kept)
        fsync_dir(self._path.parent)
        self._record(
            f"Store database {self._path} is corrupt ({reason}); kept it as {kept} and started "
            "with empty state",
            kept,
        )

    def _record(self, message: str, kept_as: Path | None) -> None:
        """Log *message* at ERROR and keep it for take_problems()."""
        logger.error("%s", message)
        self._problems.append(StoreProblem(message, self._path, kept_as))

    def _connection(self) -> sqlite3.Connection:
        """Return the open connection, or fail clearly after close()."""
        if self._conn is None:
            msg = f"SqliteStore({str(self._path)!r}) is closed"
            raise RuntimeError(msg)
        return self._conn

    def load(self, key: str) -> dict[str, object] | None:
        """Return the state under *key*, or None; a row that is not a JSON object raises."""
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
            except (ValueError, TypeError, RecursionError) as exc:
                reason = f"not valid JSON: {exc}"
            else:
                if isinstance(value, dict):
                    return value
                reason = f"top level is {type(value).__name__}, not an object"
            message = f"Store row {key!r} in {self._path} is corrupt ({reason}); left it in place"
            self._record(message, None)
        raise ValueError(message)

    def save(self, key: str, data: dict[str, object]) -> None:
        """Insert or replace the row for *key* in one durable transaction."""
        payload = dumps_pretty(data)
        with self._lock:
            conn = self._connection()
            with conn:
                conn.execute(_UPSERT, (key, payload))

    def save_many(self, entries: Mapping[str, dict[str, object]]) -> None:
        """Insert or replace several rows in one durable transaction."""
        rows = [(key, dumps_pretty(data)) for key, data in entries.items()]
        with self._lock:
            conn = self._connection()
            with conn:
                conn.executemany(_UPSERT, rows)

    def take_problems(self) -> list[StoreProblem]:
        """Return, and forget, the problems found since the last call (damaged database/rows).

        The runtime calls this after loading device state and publishes each problem once
        on ``<app>/error``; the store itself knows nothing about MQTT.
        """
        with self._lock:
            problems, self._problems = self._problems, []
        return problems

    def close(self) -> None:
        """Close the database connection; calling it again does nothing."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __repr__(self) -> str:
        return f"SqliteStore(path={self._path!r})"
