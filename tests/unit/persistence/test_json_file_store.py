"""JsonFileStore: the file format, durable atomic writes, threads, and damaged files kept aside."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cosalette import _store_files
from cosalette._persistence import JsonFileStore, StoreProblem

STATE: dict[str, object] = {"total": 3, "nested": {"values": [1, 2]}, "name": "päd"}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def kept_files(directory: Path, name: str = "state.json") -> list[Path]:
    return sorted(directory.glob(f"{name}.corrupt-*"))


class TestFormatAndFiles:
    def test_file_is_two_space_json_one_key_per_device_raw_utf8_trailing_newline(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "state.json"
        store = JsonFileStore(path)
        store.save("a", {"x": 1})
        store.save("b", {"name": "päd"})
        assert path.read_bytes() == (
            '{\n  "a": {\n    "x": 1\n  },\n  "b": {\n    "name": "päd"\n  }\n}\n'.encode()
        )

    def test_persists_across_instances_and_creates_private_parents(self, tmp_path: Path) -> None:
        path = tmp_path / "deep" / "er" / "state.json"
        JsonFileStore(path).save("dev", STATE)
        assert JsonFileStore(str(path)).load("dev") == STATE
        assert mode(tmp_path / "deep") == 0o700
        assert mode(tmp_path / "deep" / "er") == 0o700
        assert mode(path) == 0o600

    def test_construction_does_no_io(self, tmp_path: Path) -> None:
        store = JsonFileStore(tmp_path / "new" / "state.json")
        assert not (tmp_path / "new").exists()
        assert store.load("dev") is None
        assert not (tmp_path / "new").exists()

    def test_existing_parent_is_tightened_to_0700(self, tmp_path: Path) -> None:
        folder = tmp_path / "data"
        folder.mkdir(mode=0o755)
        os.chmod(folder, 0o755)
        JsonFileStore(folder / "state.json").save("dev", {})
        assert mode(folder) == 0o700

    def test_shared_sticky_parent_is_left_alone(self, tmp_path: Path) -> None:
        folder = tmp_path / "shared"
        folder.mkdir()
        os.chmod(folder, 0o1777)
        JsonFileStore(folder / "state.json").save("dev", {})
        assert stat.S_IMODE(folder.stat().st_mode) == 0o1777

    def test_repr_and_path(self, tmp_path: Path) -> None:
        store = JsonFileStore(tmp_path / "s.json")
        assert store.path == tmp_path / "s.json"
        assert repr(store) == f"JsonFileStore(path={tmp_path / 's.json'!r})"

    def test_byte_order_mark_is_tolerated(self, tmp_path: Path) -> None:
        path = tmp_path / "state.json"
        path.write_bytes(b'\xef\xbb\xbf{"dev": {"a": 1}}')
        assert JsonFileStore(path).load("dev") == {"a": 1}


class TestAtomicDurableWrites:
    def test_saves_leave_no_temp_files(self, tmp_path: Path) -> None:
        store = JsonFileStore(tmp_path / "state.json")
        for i in range(5):
            store.save(f"dev{i % 2}", {"i": i})
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]

    def test_file_is_fsynced_before_the_rename_and_the_directory_after(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "state.json"
        events: list[str] = []
        real_fsync, real_replace = os.fsync, os.replace

        def fsync(fd: int) -> None:
            kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
            events.append(f"fsync {kind}")
            real_fsync(fd)

        def replace(src: str, dst: Path) -> None:
            events.append("replace")
            real_replace(src, dst)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)
        JsonFileStore(path).save("dev", {"a": 1})
        assert events == ["fsync file", "replace", "fsync dir"]

    def test_failed_rename_keeps_the_old_file_and_no_temp(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "state.json"
        store = JsonFileStore(path)
        store.save("dev", {"ok": True})

        def crash(src: object, dst: object) -> None:
            raise OSError("disk gone")

        monkeypatch.setattr(os, "replace", crash)
        with pytest.raises(OSError, match="disk gone"):
            store.save("dev", {"ok": False})
        monkeypatch.undo()
        assert store.load("dev") == {"ok": True}
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]

    def test_unserialisable_data_fails_before_touching_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "state.json"
        store = JsonFileStore(path)
        store.save("dev", {"ok": True})
        loop: dict[str, object] = {}
        loop["self"] = loop
        with pytest.raises(ValueError):
            store.save("dev", loop)
        assert store.load("dev") == {"ok": True}
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]

    def test_stale_temp_files_of_dead_writers_are_cleared_fresh_ones_kept(
        self, tmp_path: Path
    ) -> None:
        old = tmp_path / ".state.json.dead1234.tmp"
        fresh = tmp_path / ".state.json.live5678.tmp"
        other = tmp_path / ".other.json.dead0000.tmp"
        for leftover in (old, fresh, other):
            leftover.write_text("{", encoding="utf-8")
        long_ago = time.time() - 3600
        for leftover in (old, other):
            os.utime(leftover, (long_ago, long_ago))
        JsonFileStore(tmp_path / "state.json").save("dev", {})
        assert not old.exists()
        assert fresh.exists() and other.exists()

    def test_save_many_writes_several_keys_at_once(self, tmp_path: Path) -> None:
        store = JsonFileStore(tmp_path / "state.json")
        store.save("a", {"x": 0})
        store.save_many({"a": {"x": 1}, "b": {"y": 2}})
        assert (store.load("a"), store.load("b")) == ({"x": 1}, {"y": 2})


class TestThreads:
    def test_concurrent_saves_of_20_keys_from_8_threads_keep_every_key(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "state.json"
        stores = [JsonFileStore(path) for _ in range(2)]  # two instances share one file lock
        start = threading.Barrier(8)
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                start.wait()
                for round_ in range(3):
                    for key in range(worker, 20, 8):
                        stores[worker % 2].save(f"k{key}", {"round": round_, "by": worker})
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document == {f"k{k}": {"round": 2, "by": k % 8} for k in range(20)}
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


GARBAGE: dict[str, tuple[bytes, str]] = {
    "garbage": (b"{not json at all", "not valid JSON"),
    "truncated": (b'{\n  "dev": {\n    "total": 4', "not valid JSON"),
    "array": (b"[1, 2, 3]\n", "top level is an array"),
    "string": (b'"hello"', "top level is a string"),
    "invalid utf-8": (b'{"dev": "\xff\xfe"}', "not valid UTF-8"),
}


class TestDamagedFile:
    @pytest.mark.parametrize("content, reason", GARBAGE.values(), ids=GARBAGE.keys())
    def test_load_moves_it_aside_byte_for_byte_logs_error_and_starts_empty(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes, reason: str
    ) -> None:
        path = tmp_path / "state.json"
        path.write_bytes(content)
        store = JsonFileStore(path)
        with caplog.at_level(logging.ERROR):
            assert store.load("dev") is None
        [kept] = kept_files(tmp_path)
        assert kept.read_bytes() == content
        assert not path.exists()
        [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert str(path) in record.getMessage()
        assert reason in record.getMessage()
        assert str(kept) in record.getMessage()
        [problem] = store.take_problems()
        assert problem == StoreProblem(record.getMessage(), path, kept)
        assert store.take_problems() == []

    def test_later_loads_report_nothing_more_and_a_save_writes_a_fresh_file(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "state.json"
        path.write_bytes(b"\x00\x00\x00")
        store = JsonFileStore(path)
        assert store.load("dev") is None
        assert store.load("other") is None
        assert len(store.take_problems()) == 1
        store.save("dev", {"a": 1})
        assert json.loads(path.read_text(encoding="utf-8")) == {"dev": {"a": 1}}
        assert store.take_problems() == []
        assert len(kept_files(tmp_path)) == 1

    def test_save_over_a_damaged_file_keeps_it_first(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = tmp_path / "state.json"
        path.write_bytes(b"{not json")
        store = JsonFileStore(path)
        with caplog.at_level(logging.ERROR):
            store.save("dev", {"a": 1})
        assert store.load("dev") == {"a": 1}
        [kept] = kept_files(tmp_path)
        assert kept.read_bytes() == b"{not json"
        assert "kept it as" in caplog.text
        assert [p.kept_as for p in store.take_problems()] == [kept]

    def test_two_damages_keep_two_files(self, tmp_path: Path) -> None:
        path = tmp_path / "state.json"
        store = JsonFileStore(path)
        garbage = [b"[1, 2]", b"\xff\xfe not utf-8"]
        for content in garbage:
            path.write_bytes(content)
            store.save("dev", {"a": 1})
        assert sorted(p.read_bytes() for p in kept_files(tmp_path)) == sorted(garbage)
        assert len(store.take_problems()) == 2

    def test_unreadable_path_is_moved_aside_too(self, tmp_path: Path) -> None:
        path = tmp_path / "state.json"
        path.mkdir()  # reading a directory fails whoever runs the test (even root)
        (path / "inside").write_text("kept", encoding="utf-8")
        store = JsonFileStore(path)
        assert store.load("dev") is None
        [kept] = kept_files(tmp_path)
        assert (kept / "inside").read_text(encoding="utf-8") == "kept"
        [problem] = store.take_problems()
        assert "unreadable" in problem.message
        store.save("dev", {"a": 1})
        assert store.load("dev") == {"a": 1}

    def test_a_file_that_cannot_be_moved_aside_is_never_overwritten(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = tmp_path / "state.json"
        path.write_bytes(b"{damaged")

        def refuse(src: object, dst: object) -> None:
            raise PermissionError("read-only directory")

        monkeypatch.setattr(os, "rename", refuse)
        store = JsonFileStore(path)
        with caplog.at_level(logging.ERROR):
            assert store.load("dev") is None
            assert store.load("dev") is None  # reported once, not once per load
            with pytest.raises(OSError, match="Refusing to overwrite"):
                store.save("dev", {"a": 1})
        assert path.read_bytes() == b"{damaged"
        [problem] = store.take_problems()
        assert problem.kept_as is None and problem.path == path
        assert "could not be moved aside" in problem.message
        assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1

    def test_a_non_object_entry_is_copied_aside_before_it_can_be_saved_over(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "state.json"
        original = b'{"dev": [1, 2], "other": {"b": 2}}'
        path.write_bytes(original)
        store = JsonFileStore(path)
        assert store.load("dev") is None
        assert store.load("dev") is None
        [kept] = kept_files(tmp_path)
        assert kept.read_bytes() == original
        [problem] = store.take_problems()
        assert "'dev'" in problem.message and problem.kept_as == kept
        store.save("dev", {"a": 1})
        assert store.load("dev") == {"a": 1}
        assert store.load("other") == {"b": 2}

    def test_blank_file_is_empty_state_with_a_warning_and_no_copy(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = tmp_path / "state.json"
        path.write_text(" \n", encoding="utf-8")
        store = JsonFileStore(path)
        with caplog.at_level(logging.WARNING):
            assert store.load("dev") is None
            assert store.load("other") is None
        assert [r.levelno for r in caplog.records] == [logging.WARNING]
        store.save("dev", {"a": 1})
        assert kept_files(tmp_path) == []
        assert store.take_problems() == []


def test_copies_aside_never_clobber_each_other(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    names: list[Callable[[], Path]] = [
        lambda: _store_files.copy_aside(path, b"one"),
        lambda: _store_files.copy_aside(path, b"two"),
        lambda: _store_files.copy_aside(path, b"three"),
    ]
    kept = [make() for make in names]
    assert len(set(kept)) == 3
    assert sorted(k.read_bytes() for k in kept) == [b"one", b"three", b"two"]


def test_a_save_rereads_the_file_when_another_writer_changed_it(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    first, second = JsonFileStore(path), JsonFileStore(path)
    first.save("a", {"n": 1})
    second.save("b", {"n": 2})  # another writer (its own cache) replaces the file
    first.save("c", {"n": 3})  # must not write its stale document over b
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "a": {"n": 1},
        "b": {"n": 2},
        "c": {"n": 3},
    }


def test_a_saved_dict_changed_later_by_the_caller_is_not_written_by_the_next_save(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.json"
    store = JsonFileStore(path)
    data: dict[str, object] = {"items": [1]}
    store.save("a", data)
    data["items"] = [1, 2]  # changed but not saved
    store.save("b", {})
    assert json.loads(path.read_text(encoding="utf-8"))["a"] == {"items": [1]}
