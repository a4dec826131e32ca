"""Durable file I/O shared by the file-backed stores, and the single-file JSON store."""

from __future__ import annotations

import contextlib
import copy
import errno
import glob
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from cosalette._json import dumps_pretty, loads
from cosalette._stores import StoreProblem

__all__ = ["JsonFileStore"]

logger = logging.getLogger("cosalette._persistence")

STALE_TEMP_SECONDS = 10.0  # a temp file this old was left by a process that died mid-save
_JSON_TYPES: dict[type, str] = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def fsync_dir(directory: Path) -> None:
    """Make a rename in *directory* durable (a no-op where directories cannot be synced)."""
    if os.name == "nt":  # pragma: no cover - Windows cannot open directories
        return
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def ensure_private_dir(directory: Path) -> None:
    """Create *directory* and missing parents at 0700; tighten an existing one we own to 0700.

    A directory owned by someone else or with the sticky bit (such as ``/tmp``) is left alone.
    """
    missing: list[Path] = []
    current = directory
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(created, 0o700)
    if missing or os.name == "nt":
        return
    info = os.stat(directory)
    if (
        stat.S_IMODE(info.st_mode) != 0o700
        and not info.st_mode & stat.S_ISVTX
        and info.st_uid == os.geteuid()
    ):
        os.chmod(directory, 0o700)


def aside_name(path: Path, stamp: str) -> Path:
    """Return a free ``<name>.corrupt-<stamp>[-n]`` path next to *path*."""
    candidate = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while candidate.exists() or candidate.is_symlink():
        candidate = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    return candidate


def utc_stamp() -> str:
    """Return the current UTC time as ``20240131T235959Z``."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def move_aside(path: Path, stamp: str | None = None) -> Path:
    """Rename *path* to a free ``.corrupt-<stamp>`` name beside it, durably; return the new path."""
    kept = aside_name(path, stamp or utc_stamp())
    os.rename(path, kept)
    fsync_dir(path.parent)
    return kept


def copy_aside(path: Path, content: bytes) -> Path:
    """Write *content* to a free ``.corrupt-<stamp>`` file beside *path*, durably."""
    kept = aside_name(path, utc_stamp())
    fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        write_all(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(path.parent)
    return kept


def write_all(fd: int, content: bytes) -> None:
    """Write every byte of *content* to *fd*."""
    view = memoryview(content)
    while view:
        view = view[os.write(fd, view) :]


class _Corrupt(Exception):
    """The store file exists but its content is not a JSON object."""


def _parse_document(raw: bytes) -> dict[str, object]:
    """Parse the store file's bytes; raise _Corrupt saying what is wrong."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Corrupt(f"not valid UTF-8: {exc}") from exc
    try:
        parsed = loads(text)
    except (ValueError, RecursionError) as exc:
        raise _Corrupt(f"not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        kind = _JSON_TYPES.get(type(parsed), type(parsed).__name__)
        raise _Corrupt(f"top level is {kind}, not an object")
    return parsed


_path_locks: dict[str, threading.Lock] = {}
_path_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    """Return the process-wide lock for *path*, shared by every store on that file."""
    key = os.path.abspath(path)
    with _path_locks_guard:
        return _path_locks.setdefault(key, threading.Lock())


class JsonFileStore:
    """All keys in one readable JSON file, replaced atomically and durably.

    Every save reads the file, sets one key and writes the whole document (2-space indent,
    trailing newline, file 0600, directory 0700) to a temp file in the same directory, which
    is fsynced and renamed over the old file before the directory is fsynced: a crash or
    power cut at any instant leaves the old or the new document. Saves from threads in one
    process are serialised per file, so none loses another's key.

    A corrupt or unreadable file is never overwritten: the first load or save that meets it
    moves it aside to ``<name>.corrupt-<UTC timestamp>``, logs an ERROR and carries on with
    empty state. Each such event is also recorded for the runtime; collect the records with
    :meth:`take_problems`. Construction does no I/O.
    """

    def __init__(self, path: Path | str) -> None:
        self._path = Path(path)
        self._lock = _lock_for(self._path)
        self._problems: list[StoreProblem] = []
        self._reported: set[str] = set()
        self._dir_ready = False
        self._warned_blank = False
        # The document this store last wrote, and the file's identity right after: a save that
        # finds the file unchanged reuses it instead of reading and parsing the file again.
        self._written: tuple[tuple[int, int, int], dict[str, object]] | None = None

    @property
    def path(self) -> Path:
        """The store file."""
        return self._path

    def load(self, key: str) -> dict[str, object] | None:
        """Return the state under *key*, or None when absent or the file had to be set aside."""
        with self._lock:
            document = self._read(saving=False)
            value = document.get(key)
            if value is None or isinstance(value, dict):
                return value
            self._keep_bad_value(key, value)
            return None

    def save(self, key: str, data: dict[str, object]) -> None:
        """Set *key* to *data* in the file, atomically and durably."""
        self.save_many({key: data})

    def save_many(self, entries: Mapping[str, dict[str, object]]) -> None:
        """Set several keys in one atomic, durable write."""
        with self._lock:
            self._prepare_dir()
            document = self._unchanged_document()
            if document is None:
                document = self._read(saving=True)
            document.update(copy.deepcopy(dict(entries)))  # never alias a caller's dicts
            self._written = None
            self._write((dumps_pretty(document) + "\n").encode("utf-8"))
            self._written = (_identity(self._path), document)

    def _unchanged_document(self) -> dict[str, object] | None:
        """What this store last wrote, if the file is still exactly that (no other writer)."""
        if self._written is None:
            return None
        identity, document = self._written
        try:
            return document if _identity(self._path) == identity else None
        except OSError:
            return None

    def take_problems(self) -> list[StoreProblem]:
        """Return, and forget, the problems found since the last call (damaged files).

        The runtime calls this after loading device state and publishes each problem once
        on ``<app>/error``; the store itself knows nothing about MQTT.
        """
        with self._lock:
            problems, self._problems = self._problems, []
        return problems

    def _read(self, *, saving: bool) -> dict[str, object]:
        """Read the document; set a damaged file aside (or refuse to save over it)."""
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            reason = f"unreadable: {exc.strerror or exc}"
        else:
            if not raw.strip():
                if not self._warned_blank:
                    self._warned_blank = True
                    logger.warning("Store file %s is empty; starting with empty state", self._path)
                return {}
            try:
                return _parse_document(raw)
            except _Corrupt as exc:
                reason = str(exc)
        try:
            kept = move_aside(self._path)
        except OSError as exc:
            message = (
                f"Store file {self._path} is damaged ({reason}); it could not be moved aside "
                f"({exc}), so it was left in place and the state it held is not used"
            )
            self._record(message, None)
            if saving:
                raise OSError(f"Refusing to overwrite damaged store file {self._path}") from exc
            return {}
        self._record(
            f"Store file {self._path} is damaged ({reason}); kept it as {kept} and started "
            "with empty state",
            kept,
        )
        return {}

    def _keep_bad_value(self, key: str, value: object) -> None:
        """Preserve a file whose entry for *key* is not an object before it is saved over."""
        kind = _JSON_TYPES.get(type(value), type(value).__name__)
        reason = f"Store file {self._path} holds {kind} under {key!r}, not an object"
        if reason in self._reported:
            return
        self._reported.add(reason)
        try:
            kept: Path | None = copy_aside(self._path, self._path.read_bytes())
        except OSError as exc:
            self._record(f"{reason}; could not keep a copy ({exc}); starting it empty", None)
            return
        self._record(f"{reason}; kept a copy as {kept} and started it empty", kept)

    def _record(self, message: str, kept_as: Path | None) -> None:
        """Log *message* at ERROR and keep it for take_problems(), once per distinct message."""
        if message in self._reported:
            logger.debug("%s (again)", message)
            return
        self._reported.add(message)
        logger.error("%s", message)
        self._problems.append(StoreProblem(message, self._path, kept_as))

    def _prepare_dir(self) -> None:
        """Create or tighten the directory, and clear temp files of dead writers (first save)."""
        if self._dir_ready and self._path.parent.is_dir():
            return
        ensure_private_dir(self._path.parent)
        pattern = glob.escape(f".{self._path.name}.") + "*.tmp"
        now = time.time()
        for leftover in self._path.parent.glob(pattern):
            with contextlib.suppress(OSError):
                if now - leftover.lstat().st_mtime > STALE_TEMP_SECONDS:
                    leftover.unlink()
        self._dir_ready = True

    def _write(self, content: bytes) -> None:
        """Write a temp file beside the target, fsync it, rename it over, fsync the directory."""
        fd, tmp_name = tempfile.mkstemp(
            dir=self._path.parent, prefix=f".{self._path.name}.", suffix=".tmp"
        )
        try:
            try:
                write_all(fd, content)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp_name, self._path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        fsync_dir(self._path.parent)

    def __repr__(self) -> str:
        return f"JsonFileStore(path={self._path!r})"


def _identity(path: Path) -> tuple[int, int, int]:
    """Inode, size and modification time: a rename by anyone else changes the inode."""
    info = os.stat(path)
    return info.st_ino, info.st_size, info.st_mtime_ns
