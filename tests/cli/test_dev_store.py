"""``cosactl dev`` keeps device state in its own store, under ``.cosactl/dev/``, and a save
there never reloads; a reload carries the state over."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _devsession import Collector, DevProcess, free_port, make_project

from cosactl.devserver.config import DEV_STORE_PARTS, ChangeFilter
from cosactl.devserver.store import session_store, session_store_file
from cosalette import JsonFileStore, SqliteStore, Store
from cosalette._project.store import DEV_STORE_DIR

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="cosactl dev needs fork()")
STATE = "demo/counter/state"
COUNTER = '''\
import cosalette

router = cosalette.Router()


@router.telemetry(
    "counter",
    interval=cosalette.setting_ref("devices.counter.interval"),
    persist=cosalette.SaveOnPublish(),
)
async def read_counter(store: cosalette.DeviceStore) -> dict[str, object]:
    count = int(str(store.get("count", 0))) + 1
    store["count"] = count
    return {"count": count, "version": VERSION}


@router.telemetry("tally", interval=cosalette.setting_ref("devices.counter.interval"))
async def read_tally(store: cosalette.DeviceStore) -> dict[str, object]:
    """Saved only when the app stops."""
    count = int(str(store.get("count", 0))) + 1
    store["count"] = count
    return {"count": count, "version": VERSION}


VERSION = 1
'''
TALLY = "demo/tally/state"


def _filter(root: Path) -> ChangeFilter:
    return ChangeFilter(root, [root / "settings.toml", root / ".env"])


def test_store_files_are_never_changes(tmp_path: Path) -> None:
    accept = _filter(tmp_path)
    never = [
        ".cosactl/dev/store.json",
        ".cosactl/dev/.store.json.k2j3.tmp",
        ".cosactl/dev/store.sqlite3",
        ".cosactl/dev/store.sqlite3-wal",
        ".cosactl/dev/store.json.corrupt-20250101T000000Z",
        ".cosactl/dev/anything.py",
        ".cosactl/dev",
        "state/store.json",
        "state/store.sqlite3-journal",
    ]
    assert [p for p in never if accept(None, str(tmp_path / p))] == []
    assert accept(None, str(tmp_path / "devices" / "counter.py"))
    assert DEV_STORE_DIR.parts == DEV_STORE_PARTS


def test_dev_store_is_under_cosactl_whatever_settings_toml_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tmp_path / "settings.toml"
    monkeypatch.setenv("DEMO_STORE_PATH", str(tmp_path / "production.json"))
    settings.write_text('[app]\nname = "demo"\n[store]\npath = "state/prod.json"\n')
    assert session_store_file(tmp_path, settings) == tmp_path / ".cosactl/dev/store.json"
    settings.write_text('[app]\nname = "demo"\n[store]\nbackend = "sqlite"\n')
    assert session_store_file(tmp_path, settings) == tmp_path / ".cosactl/dev/store.sqlite3"
    settings.write_text('[app]\nname = "demo"\n[store]\nbackend = "none"\n')
    assert session_store(tmp_path, settings) is None
    settings.write_text('[app]\nname = "demo"\n[store]\nbackend = "jsn"\n')  # the child says
    assert session_store_file(tmp_path, settings) == tmp_path / ".cosactl/dev/store.json"


def test_writing_the_dev_store_is_not_seen_by_the_watcher(tmp_path: Path) -> None:
    """The real watcher: store saves (json, sqlite, the production file) are filtered out,
    the first change it reports is a source file written after them."""
    from watchfiles import watch

    root = tmp_path
    (root / "devices").mkdir()
    stop = threading.Event()

    def write() -> None:
        sqlite = SqliteStore(root / ".cosactl/dev/store.sqlite3")
        stores: list[Store] = [
            JsonFileStore(root / ".cosactl/dev/store.json"),
            JsonFileStore(root / "state/store.json"),
            sqlite,
        ]
        try:
            for round_ in range(200):
                for i in range(5):
                    for store in stores:
                        store.save("counter", {"count": round_ * 5 + i})
                (root / "devices" / f"probe_{round_}.py").write_text("x = 1\n")
                if stop.wait(0.05):
                    return
        finally:
            sqlite.close()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        batch: set[str] = set()
        for changes in watch(root, watch_filter=_filter(root), stop_event=stop, debounce=200):
            batch = {Path(path).relative_to(root).as_posix() for _, path in changes}
            break
    finally:
        stop.set()
        writer.join(timeout=10)
    assert batch, "the watcher reported nothing"
    assert all(p.startswith("devices/probe_") and p.endswith(".py") for p in batch), batch


def _count(payload: str) -> tuple[int, int]:
    data = json.loads(payload)
    return int(data["count"]), int(data["version"])


def test_a_device_saving_every_cycle_never_reloads_and_a_reload_keeps_its_state(
    tmp_path: Path,
) -> None:
    port = free_port()
    root = make_project(tmp_path, port, interval=0.1)
    source = root / "devices" / "counter.py"
    source.write_text(COUNTER)
    production = tmp_path / "production.json"
    dev = DevProcess(root, env={"COSACTL_DEV_BROKER": "python", "DEMO_STORE_PATH": str(production)})

    async def scenario() -> None:
        await dev.wait_line(lambda s: "device state is kept in .cosactl/dev/store.json" in s)
        async with Collector("127.0.0.1", port) as collector:
            await collector.subscribe(STATE, TALLY)
            await collector.wait_for(STATE, lambda p: _count(p)[0] >= 15, timeout=20)
            assert not [line for line in dev.lines if "reload #" in line], dev.output

            mark = len(dev.lines)
            source.write_text(COUNTER.replace("VERSION = 1", "VERSION = 2"))
            for topic in (STATE, TALLY):  # both continue where the old code stopped
                first = await collector.wait_for(topic, lambda p: _count(p)[1] == 2, timeout=15)
                before = collector.messages[: collector.messages.index(first)]
                last = max(_count(m.payload)[0] for m in before if m.topic == topic)
                # +2 when the old code counted once more but was stopped before publishing
                assert last < _count(first.payload)[0] <= last + 2, (topic, dev.output)
            await dev.wait_line(lambda s: "reload #1 (devices/counter.py): ready" in s, 5, mark)
            await collector.wait_for(STATE, lambda p: _count(p)[0] >= last + 15, timeout=20)
            assert not [line for line in dev.lines if "reload #2" in line], dev.output

    try:
        asyncio.run(scenario())
        assert dev.interrupt() == 0, dev.output
    finally:
        dev.kill()
    saved = json.loads((root / ".cosactl" / "dev" / "store.json").read_text())
    assert saved["counter"]["count"] >= 30
    assert not (root / "state").exists() and not production.exists()
    # the session's health file is its own too (the default would be next to production's)
    health = json.loads((root / ".cosactl" / "dev" / "health.json").read_text())
    assert health["app"] == "demo" and health["status"] == "stopped"
    assert not (tmp_path / "health.json").exists()
