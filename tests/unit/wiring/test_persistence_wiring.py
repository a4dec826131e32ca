"""Device stores wired into every archetype: loaded before the handler, saved when they say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cosalette import (
    App,
    DeviceContext,
    DeviceStore,
    JsonFileStore,
    MemoryStore,
    SaveOnChange,
    SaveOnPublish,
    SaveOnShutdown,
    Settings,
    StartupError,
)
from cosalette.testing import AppHarness


def _counter_app(store: Any, persist: Any = None) -> App:
    app = App("bridge", store=store, heartbeat_interval=None)

    @app.telemetry("counter", interval=10, persist=persist)
    async def counter(store: DeviceStore) -> dict[str, object]:
        store["total"] = int(store.get("total", 0)) + 1  # type: ignore[call-overload]
        return {"total": store["total"]}

    return app


async def test_a_counter_continues_from_its_saved_state() -> None:
    store = MemoryStore()
    for _ in range(2):
        harness = AppHarness(app=_counter_app(store, SaveOnPublish()))
        async with harness:
            await harness.advance_time(20)
        assert harness.messages_for("bridge/counter/state")[-1][0] in ('{"total":3}', '{"total":6}')
    assert store._data["counter"] == {"total": 6}


async def test_save_on_publish_saves_every_published_cycle() -> None:
    store = MemoryStore()
    harness = AppHarness(app=_counter_app(store, SaveOnPublish()))
    async with harness:
        assert store._data["counter"] == {"total": 1}
        await harness.advance_time(10)
        assert store._data["counter"] == {"total": 2}


async def test_save_on_shutdown_writes_only_at_the_end() -> None:
    store = MemoryStore()
    harness = AppHarness(app=_counter_app(store, SaveOnShutdown()))
    async with harness:
        await harness.advance_time(20)
        assert "counter" not in store._data
    assert store._data["counter"] == {"total": 3}


async def test_policies_compose_and_a_clean_store_is_not_saved() -> None:
    store = MemoryStore()
    app = App("bridge", store=store, heartbeat_interval=None)
    saves: list[str] = []

    @app.telemetry("reader", interval=10, persist=SaveOnChange() & SaveOnPublish())
    async def reader(store: DeviceStore) -> dict[str, object]:
        if not store:
            store["seen"] = True
        return {"ok": True}

    original = store.save

    def counting_save(key: str, data: dict[str, object]) -> None:
        saves.append(key)
        original(key, data)

    store.save = counting_save  # type: ignore[method-assign]
    harness = AppHarness(app=app)
    async with harness:
        await harness.advance_time(30)
    assert [k for k in saves if k == "reader"] == ["reader"]  # dirty once: one save in all


class Counter:
    def __init__(self, count: int) -> None:
        self.count = count


async def test_commands_devices_periodic_and_init_get_their_store() -> None:
    store = MemoryStore({"valve": {"opened": 4}, "panel": {"boots": 1}})
    app = App("bridge", store=store, heartbeat_interval=None)
    seen_by_init: list[object] = []

    def make_counter(store: DeviceStore) -> Counter:
        seen_by_init.append(store.get("opened"))
        return Counter(0)

    @app.command("valve", init=make_counter)
    async def valve(payload: str, store: DeviceStore, counter: Counter) -> dict[str, object]:
        store["opened"] = int(store["opened"]) + 1  # type: ignore[call-overload]
        return {"opened": store["opened"]}

    @app.device("panel")
    async def panel(ctx: DeviceContext, store: DeviceStore) -> None:
        store["boots"] = int(store["boots"]) + 1  # type: ignore[call-overload]
        while not ctx.shutdown_requested:
            await ctx.sleep(60)

    @app.periodic("tidy", interval=60)
    async def tidy(store: DeviceStore) -> None:
        store["runs"] = int(store.get("runs", 0)) + 1  # type: ignore[call-overload]

    harness = AppHarness(app=app)
    async with harness:
        assert seen_by_init == [4]  # loaded before init= ran
        await harness.inject_command("valve", "open")
        assert store._data["valve"] == {"opened": 5}  # saved right after the command
        await harness.tick_periodic("tidy")
        assert store._data["tidy"] == {"runs": 1}
        assert store._data["panel"] == {"boots": 1}  # the device saves when it ends
    assert store._data["panel"] == {"boots": 2}


def test_persist_without_a_store_is_refused_at_registration() -> None:
    app = App("bridge", store=None)
    with pytest.raises(ValueError, match="persist= requires a store="):
        app.add_telemetry("t", _read, interval=1, persist=SaveOnChange())
    with pytest.raises(TypeError, match="persist= must be a save policy"):
        App("b2", store=MemoryStore()).add_telemetry("t", _read, interval=1, persist=object())


async def _read() -> dict[str, object]:
    return {}


async def test_a_store_parameter_without_a_store_fails_before_anything_is_published() -> None:
    app = App("bridge", store=None)

    @app.telemetry("t", interval=1)
    async def t(store: DeviceStore) -> dict[str, object]:
        return {}

    harness = AppHarness(app=app)
    with pytest.raises(StartupError, match=r"DeviceStore, but the app has no store \(store=None\)"):
        await harness.start()
    assert harness.mqtt.published == []


class PathSettings(Settings):
    state_dir: str = "/nonexistent"


async def test_a_store_factory_gets_the_settings_injected() -> None:
    made: list[str] = []

    def make_store(settings: PathSettings) -> MemoryStore:
        made.append(settings.state_dir)
        return MemoryStore()

    app = App("bridge", settings_class=PathSettings, store=make_store, heartbeat_interval=None)
    app.add_telemetry("t", _read, interval=10)
    assert app.store is None
    harness = AppHarness.create(app=app, settings_class=PathSettings, state_dir="/data")
    async with harness:
        assert made == ["/data"]
        assert isinstance(app.store, MemoryStore)


async def test_a_store_factory_returning_something_else_is_a_start_up_error() -> None:
    app = App("bridge", store=lambda: 5)
    harness = AppHarness(app=app)
    with pytest.raises(StartupError, match="returned 'int', expected a Store"):
        await harness.start()


def test_store_argument_forms() -> None:
    with pytest.raises(TypeError, match="store must be None, a Store instance"):
        App("bridge", store=5)
    assert App("bridge", store=MemoryStore).store is None  # a class is a factory


def test_the_default_store_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    store = App("gas-meter").store
    assert isinstance(store, JsonFileStore)
    assert store.path == tmp_path / "gas-meter" / "store.json"
    monkeypatch.setenv("GAS_METER_STORE_PATH", str(tmp_path / "x.json"))
    assert App("gas-meter").store.path == tmp_path / "x.json"
    monkeypatch.delenv("GAS_METER_STORE_PATH")
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert App("gas-meter").store.path == tmp_path / "home/.local/state/gas-meter/store.json"


class _UnreadableRow(MemoryStore):
    """A store whose saved state for one device cannot be decoded (a corrupt SQLite row)."""

    def load(self, key: str) -> dict[str, object] | None:
        if key == "counter" and "counter" not in self._data:
            raise ValueError("row 'counter' is not JSON")
        return super().load(key)


async def test_unreadable_state_starts_empty_is_reported_and_the_app_runs() -> None:
    store = _UnreadableRow()
    harness = AppHarness(app=_counter_app(store, SaveOnPublish()))
    async with harness:
        await harness.advance_time(10)
    errors = [p for p, _, _ in harness.messages_for("bridge/error")]
    assert len(errors) == 1 and "store_corrupt" in errors[0] and "not JSON" in errors[0]
    assert store._data["counter"] == {"total": 2}
