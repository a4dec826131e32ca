"""SqliteStore: WAL, private files, one transaction per save, damaged databases and rows."""

from __future__ import annotations

import json
import logging
import sqlite3
import stat
from pathlib import Path

import pytest

from cosalette._persistence import SqliteStore

STATE: dict[str, object] = {"total": 3, "nested": {"values": [1, 2]}, "name": "päd"}


def rows(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT key, data FROM store ORDER BY key").fetchall()
    finally:
        conn.close()


def test_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.db"
    first = SqliteStore(path)
    first.save("dev", STATE)
    first.close()
    second = SqliteStore(str(path))
    assert second.load("dev") == STATE
    second.close()


def test_uses_wal_full_sync_the_documented_table_and_two_space_json(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SqliteStore(path)
    store.save("dev", {"a": 1})
    conn = store._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()
    assert rows(path) == [("dev", '{\n  "a": 1\n}')]


def test_directory_and_database_are_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "state.db"
    store = SqliteStore(path)
    store.save("dev", {})
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store.close()


def test_existing_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    SqliteStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_many_is_one_transaction(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.save_many({"a": {"x": 1}, "b": {"y": 2}})
    with pytest.raises(TypeError):
        store.save_many({"c": {"z": 3}, "d": {1j: "not json"}})  # type: ignore[dict-item]
    assert [store.load(k) for k in "abcd"] == [{"x": 1}, {"y": 2}, None, None]
    store.close()


def test_close_is_idempotent_and_use_after_close_fails(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.close()
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.load("dev")
    with pytest.raises(RuntimeError, match="closed"):
        store.save("dev", {})


def test_repr_and_path(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    assert repr(store) == f"SqliteStore(path={tmp_path / 's.db'!r})"
    assert store.path == tmp_path / "s.db"
    store.close()


@pytest.mark.parametrize(
    "data, reason",
    [("{not json", "not valid JSON"), ("[1, 2]", "top level is list")],
    ids=["garbage", "array"],
)
def test_corrupt_row_logs_an_error_raises_and_is_left_in_place(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, data: str, reason: str
) -> None:
    path = tmp_path / "state.db"
    store = SqliteStore(path)
    store.save("good", {"a": 1})
    with store._connection() as conn:
        conn.execute("INSERT INTO store (key, data) VALUES ('dev', ?)", (data,))
    with caplog.at_level(logging.ERROR), pytest.raises(ValueError, match=r"'dev'.*corrupt"):
        store.load("dev")
    assert store.load("good") == {"a": 1}
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "'dev'" in record.getMessage() and str(path) in record.getMessage()
    assert reason in record.getMessage()
    [problem] = store.take_problems()
    assert problem.path == path and problem.kept_as is None
    store.close()
    assert ("dev", data) in rows(path)


def test_a_file_that_is_not_a_database_is_moved_aside_with_its_wal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.db"
    garbage = b"this is not an sqlite database" * 200
    path.write_bytes(garbage)
    wal = tmp_path / "state.db-wal"
    wal.write_bytes(b"stale wal")
    with caplog.at_level(logging.ERROR):
        store = SqliteStore(path)
    assert store.load("dev") is None
    store.save("dev", {"a": 1})
    assert store.load("dev") == {"a": 1}
    [kept] = sorted(tmp_path.glob("state.db.corrupt-*"))
    assert kept.read_bytes() == garbage
    [kept_wal] = sorted(tmp_path.glob("state.db-wal.corrupt-*"))
    assert kept_wal.read_bytes() == b"stale wal"
    [problem] = store.take_problems()
    assert problem.kept_as == kept and str(kept) in caplog.text
    assert store.take_problems() == []
    store.close()


def test_other_database_errors_are_not_mistaken_for_corruption(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.mkdir()  # cannot be opened at all: fail loudly, move nothing
    with pytest.raises(OSError):
        SqliteStore(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]


def test_saved_text_is_plain_json(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SqliteStore(path)
    store.save("dev", STATE)
    store.close()
    assert [(k, json.loads(v)) for k, v in rows(path)] == [("dev", STATE)]


def test_a_malformed_database_is_moved_aside(tmp_path: Path) -> None:
    good = tmp_path / "good.db"
    conn = sqlite3.connect(good)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    damaged = bytearray(good.read_bytes())
    damaged[100:] = b"\xaa" * (len(damaged) - 100)  # valid header, garbage schema page
    path = tmp_path / "state.db"
    path.write_bytes(bytes(damaged))
    store = SqliteStore(path)
    store.save("dev", {"a": 1})
    assert store.load("dev") == {"a": 1}
    [kept] = sorted(tmp_path.glob("state.db.corrupt-*"))
    assert kept.read_bytes() == bytes(damaged)
    [problem] = store.take_problems()
    assert "malformed" in problem.message
    store.close()
