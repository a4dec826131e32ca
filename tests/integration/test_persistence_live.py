"""Persistence in real app processes: device state survives restarts, stale retained topics are
cleared, and a corrupt store file is kept aside and reported. Real files, a real mosquitto."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from _apps import finish, purge_retained, start_app
from _broker import Collector, MosquittoBroker, Received

pytestmark = pytest.mark.integration

COUNTER_APP = """
import cosalette

app = cosalette.App(
    name={name!r}, store={store}, heartbeat_interval=None, health_check_interval=None
)

@app.telemetry("counter", interval=0.05, persist=cosalette.SaveOnPublish())
async def counter(store: cosalette.DeviceStore) -> dict[str, object]:
    count = int(store.get("count", 0)) + 1
    store["count"] = count
    return {{"count": count}}

if __name__ == "__main__":
    app.cli()
"""

ROOMS_APP_NAME = "persist-rooms"
ROOMS_APP = """
import cosalette

class RoomSettings(cosalette.Settings):
    rooms: list[str] = []

app = cosalette.App(
    name={name!r}, settings_class=RoomSettings, heartbeat_interval=None, health_check_interval=None
)

@app.telemetry(name=lambda s: s.rooms, interval=0.2)
async def room(ctx: cosalette.DeviceContext) -> dict[str, object]:
    return {{"room": ctx.name}}

if __name__ == "__main__":
    app.cli()
"""


def _counter_app(tmp_path: Path, name: str, store: str) -> Path:
    script = tmp_path / f"{name}.py"
    script.write_text(COUNTER_APP.format(name=name, store=store))
    return script


def _counts(seen: Collector, app: str) -> list[int]:
    """The counts published on ``<app>/counter/state`` so far, in arrival order."""
    return [int(json.loads(p)["count"]) for p in seen.payloads(f"{app}/counter/state")]


def _at_least(count: int) -> Callable[[str], bool]:
    def check(payload: str) -> bool:
        return int(json.loads(payload)["count"]) >= count

    return check


async def _run_and_stop(
    script: Path, broker: MosquittoBroker, seen: Collector, app: str, sig: signal.Signals
) -> list[int]:
    """Run *script* until the broker saw count 3, send *sig*, wait for the app's final
    ``status`` (``offline``: the graceful one or the last will) and the exit.

    Returns every count of this run (all of them reached the broker before ``offline``).
    """
    seen.clear()
    process = start_app(script, broker.port)
    try:
        await seen.wait_for(f"{app}/counter/state", _at_least(3), 10)
        process.send_signal(sig)
        await seen.wait_for(f"{app}/status", lambda p: p == "offline", 10)
    finally:
        code, output = finish(process)
    if sig == signal.SIGTERM:
        assert code == 0, output
    else:
        assert code == -sig, output
    return _counts(seen, app)


async def _first_count_of_next_run(
    script: Path, broker: MosquittoBroker, seen: Collector, app: str
) -> int:
    """Start *script* again and return the first count it publishes; stop it gracefully."""
    seen.clear()
    process = start_app(script, broker.port)
    try:
        first = await seen.wait_for(f"{app}/counter/state", timeout=10)
    finally:
        code, output = finish(process)
    assert code == 0, output
    return int(json.loads(first.payload)["count"])


async def test_a_counter_continues_after_a_sigterm_restart(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    app = "persist-term"
    store_file = tmp_path / "state" / "store.json"
    script = _counter_app(tmp_path, app, f"cosalette.JsonFileStore({str(store_file)!r})")
    await purge_retained(broker.host, broker.port, f"{app}/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe(f"{app}/#")
        counts = await _run_and_stop(script, broker, seen, app, signal.SIGTERM)
        assert counts == list(range(1, len(counts) + 1)), counts
        last = counts[-1]
        # The graceful shutdown has written the store: it holds what the broker saw last.
        assert json.loads(store_file.read_text())["counter"] == {"count": last}
        assert await _first_count_of_next_run(script, broker, seen, app) == last + 1


@pytest.mark.parametrize("kind", ["json", "sqlite"])
async def test_a_counter_survives_sigkill_losing_at_most_the_last_save(
    tmp_path: Path, broker: MosquittoBroker, kind: str
) -> None:
    app = f"persist-kill-{kind}"
    if kind == "json":
        store_file = tmp_path / "state" / "store.json"
        store = f"cosalette.JsonFileStore({str(store_file)!r})"
    else:
        store_file = tmp_path / "state" / "store.db"
        store = f"cosalette.SqliteStore({str(store_file)!r})"
    script = _counter_app(tmp_path, app, store)
    await purge_retained(broker.host, broker.port, f"{app}/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe(f"{app}/#")
        counts = await _run_and_stop(script, broker, seen, app, signal.SIGKILL)
        assert counts == list(range(1, len(counts) + 1)), counts
        seen_last = counts[-1]

        saved = _saved_count(store_file, kind)
        # Write-behind: the save of the last count may not have been durable yet.
        assert saved in (seen_last - 1, seen_last), (saved, seen_last)

        first = await _first_count_of_next_run(script, broker, seen, app)
        assert first == saved + 1
        assert first in (seen_last, seen_last + 1), (first, seen_last)


def _saved_count(store_file: Path, kind: str) -> int:
    """The counter's saved count, checking that the store file is intact."""
    if kind == "json":
        document = json.loads(store_file.read_text())  # valid JSON, not a torn write
        assert isinstance(document, dict)
        return int(document["counter"]["count"])
    with contextlib.closing(sqlite3.connect(store_file)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        row = conn.execute("SELECT data FROM store WHERE key = ?", ("counter",)).fetchone()
    assert row is not None
    return int(json.loads(row[0])["count"])


def _retained(messages: list[Received]) -> dict[str, str]:
    return {m.topic: m.payload for m in messages if m.retain}


async def _retained_now(broker: MosquittoBroker, app: str) -> dict[str, str]:
    """What a fresh subscriber to ``<app>/#`` gets as retained messages."""
    marker = f"{app}/test-marker"
    async with Collector(broker.host, broker.port) as fresh:
        await fresh.subscribe(f"{app}/#")
        await fresh.publish(marker, "end")  # retained ones are delivered before this
        await fresh.wait_for(marker)
        return _retained(fresh.messages)


async def _run_rooms(
    script: Path, broker: MosquittoBroker, seen: Collector, env: dict[str, str], rooms: list[str]
) -> list[Received]:
    """Run the rooms app with *rooms* until each is online and published, then stop it.

    Returns what *seen* received from this run, in arrival order.
    """
    app = ROOMS_APP_NAME
    seen.clear()
    process = start_app(script, broker.port, extra={**env, "ROOMS": json.dumps(rooms)})
    try:
        for room in rooms:
            await seen.wait_for(f"{app}/{room}/availability", lambda p: p == "online", 10)
            await seen.wait_for(f"{app}/{room}/state")
        process.send_signal(signal.SIGTERM)
        await seen.wait_for(f"{app}/status", lambda p: p == "offline", 10)
    finally:
        code, output = finish(process)
    assert code == 0, output
    return list(seen.messages)


def _rooms_app(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    script = tmp_path / "rooms_app.py"
    script.write_text(ROOMS_APP.format(name=ROOMS_APP_NAME))
    # No store= : the default store, $XDG_STATE_HOME/<app>/store.json (dynamic names enable
    # the cleanup even for the default store).
    return script, {"XDG_STATE_HOME": str(tmp_path / "xdg-state")}


async def test_a_dynamic_entity_removed_from_the_settings_leaves_no_retained_topics(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    app = ROOMS_APP_NAME
    script, env = _rooms_app(tmp_path)
    await purge_retained(broker.host, broker.port, f"{app}/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe(f"{app}/#")
        await _run_rooms(script, broker, seen, env, ["kitchen", "hall"])
        assert (tmp_path / "xdg-state" / app / "store.json").is_file()
        before = await _retained_now(broker, app)
        assert json.loads(before[f"{app}/kitchen/state"]) == {"room": "kitchen"}
        assert before[f"{app}/kitchen/availability"] == "offline"

        seen.clear()
        process = start_app(script, broker.port, extra={**env, "ROOMS": '["hall"]'})
        try:
            await seen.wait_for(f"{app}/hall/availability", lambda p: p == "online", 10)
            await seen.wait_for(f"{app}/hall/state")
            for kind in ("state", "availability"):
                cleared = await seen.wait_for(f"{app}/kitchen/{kind}")
                assert cleared.payload == "" and cleared.qos == 1
            running = await _retained_now(broker, app)
            process.send_signal(signal.SIGTERM)
            await seen.wait_for(f"{app}/status", lambda p: p == "offline", 10)
        finally:
            code, output = finish(process)
        assert code == 0, output
        assert [m for m in seen.received(f"{app}/kitchen/#") if m.payload] == []

    assert not any(t.startswith(f"{app}/kitchen/") for t in running), running
    assert json.loads(running[f"{app}/hall/state"]) == {"room": "hall"}
    assert running[f"{app}/hall/availability"] == "online"
    after = await _retained_now(broker, app)  # the graceful stop did not bring kitchen back
    assert not any(t.startswith(f"{app}/kitchen/") for t in after), after
    assert after[f"{app}/hall/availability"] == "offline"


async def test_gone_entities_are_cleared_before_the_others_announce_online(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    app = ROOMS_APP_NAME
    script, env = _rooms_app(tmp_path)
    await purge_retained(broker.host, broker.port, f"{app}/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe(f"{app}/#")
        await _run_rooms(script, broker, seen, env, ["kitchen", "hall"])
        second = await _run_rooms(script, broker, seen, env, ["hall"])
    order = [(m.topic, m.payload) for m in second]
    online = order.index((f"{app}/hall/availability", "online"))
    cleared = [t for t, p in order[:online] if p == ""]
    assert sorted(cleared) == [f"{app}/kitchen/availability", f"{app}/kitchen/state"], order


async def test_a_corrupt_json_store_is_kept_aside_reported_once_and_the_app_runs(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    app = "persist-corrupt"
    store_file = tmp_path / "state" / "store.json"
    store_file.parent.mkdir(mode=0o700)
    garbage = b'{"counter": {"count": 41}\x00\xff not json at all \n'
    store_file.write_bytes(garbage)
    script = _counter_app(tmp_path, app, f"cosalette.JsonFileStore({str(store_file)!r})")
    await purge_retained(broker.host, broker.port, f"{app}/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe(f"{app}/#")
        process = start_app(script, broker.port)
        try:
            error = await seen.wait_for(f"{app}/error", timeout=10)
            # It keeps publishing, from empty state: a few cycles, still only the one error.
            await seen.wait_for(f"{app}/counter/state", _at_least(5))
            process.send_signal(signal.SIGTERM)  # offline is the last message of the run
            await seen.wait_for(f"{app}/status", lambda p: p == "offline", 10)
        finally:
            code, output = finish(process)
        assert code == 0, output
        assert seen.payloads(f"{app}/error") == [error.payload]
        assert seen.received(f"{app}/+/error") == []
        counts = _counts(seen, app)
        assert counts == list(range(1, len(counts) + 1)), counts

    report = json.loads(error.payload)
    assert report["error_type"] == "store_corrupt", report
    assert str(store_file) in report["message"], report
    assert not error.retain
    error_lines = [line for line in output.splitlines() if "ERROR" in line and "corrupt" in line]
    assert len(error_lines) == 1, output

    kept = sorted(store_file.parent.glob("store.json.corrupt-*"))
    assert len(kept) == 1, kept
    assert kept[0].read_bytes() == garbage
    # The shutdown save wrote a fresh, valid store next to the kept file.
    assert json.loads(store_file.read_text())["counter"] == {"count": counts[-1]}
