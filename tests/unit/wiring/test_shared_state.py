"""``@app.state`` factories and ``@app.react`` reactors: one object per run, events handed out."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator

import pytest

from cosalette import App, AppContext, DeviceContext, DeviceStore, MemoryStore, Settings
from cosalette.testing import AppHarness


class Registry:
    """Shared state with domain events, like the API reference's example."""

    def __init__(self) -> None:
        self.sensors: dict[str, float] = {}
        self.pending: list[str] = []

    def record(self, name: str, value: float) -> None:
        if name not in self.sensors:
            self.pending.append(f"new:{name}")
        self.sensors[name] = value

    def drain_events(self) -> list[str]:
        events, self.pending = self.pending, []
        return events


class Bus:
    def __init__(self, settings: Settings) -> None:
        self.host = settings.mqtt.host


events_log: list[str] = []


def _app() -> App:
    events_log.clear()
    app = App("heat", heartbeat_interval=None, store=MemoryStore())

    @app.state
    def registry() -> Registry:
        return Registry()

    @app.state
    @contextlib.contextmanager
    def bus(settings: Settings) -> Iterator[Bus]:
        events_log.append("bus open")
        yield Bus(settings)
        events_log.append("bus closed")

    return app


async def test_state_is_one_object_injected_everywhere_and_torn_down_after_the_lifespan() -> None:
    seen: list[object] = []

    @contextlib.asynccontextmanager
    async def lifespan(ctx: AppContext) -> AsyncIterator[None]:
        seen.append(ctx.adapter(Registry))
        yield
        events_log.append("lifespan exit")

    app = _app()
    app._lifespan = lifespan

    @app.telemetry("outdoor", interval=60)
    async def outdoor(registry: Registry, bus: Bus) -> dict[str, object]:
        seen.append(registry)
        return {"host": bus.host}

    @app.command("mode")
    async def mode(payload: str, registry: Registry) -> None:
        seen.append(registry)

    harness = AppHarness.create(app=app, mqtt__host="boiler.local")
    async with harness:
        await harness.inject_command("mode", "eco")
    assert len({id(s) for s in seen}) == 1 and len(seen) == 3
    assert events_log == ["bus open", "lifespan exit", "bus closed"]
    assert harness.messages_for("heat/outdoor/state")[0][0] == '{"host":"boiler.local"}'


async def test_reactors_get_the_drained_events_and_the_handlers_context() -> None:
    app = _app()
    reactions: list[tuple[str, list[str]]] = []

    @app.telemetry("outdoor", interval=60)
    async def outdoor(registry: Registry) -> dict[str, object]:
        registry.record("outdoor", 3.5)
        return {"t": 3.5}

    @app.react(Registry)
    async def on_registry(events: list[str], ctx: DeviceContext, store: DeviceStore) -> None:
        reactions.append((ctx.name, events))
        store["known"] = events
        await ctx.publish("registry/event", json.dumps(events))

    harness = AppHarness(app=app)
    async with harness:
        await harness.advance_time(60)  # same sensor again: no new events, no call
    assert reactions == [("outdoor", ["new:outdoor"])]
    assert harness.messages_for("heat/outdoor/registry/event")[0][0] == '["new:outdoor"]'


async def test_a_failing_reactor_takes_the_handlers_error_path() -> None:
    app = _app()

    @app.command("mode")
    async def mode(payload: str, registry: Registry) -> None:
        registry.record(payload, 1.0)

    @app.react(Registry, drain=lambda r: r.drain_events())
    async def explode(events: list[str]) -> None:
        raise RuntimeError("reactor broke")

    harness = AppHarness(app=app)
    async with harness:
        await harness.inject_command("mode", "eco")
    errors = [json.loads(p) for p, _, _ in harness.messages_for("heat/mode/error")]
    assert [e["message"] for e in errors] == ["reactor broke"]


async def test_override_state_replaces_the_factory() -> None:
    app = _app()
    mine = Registry()
    mine.sensors["seeded"] = 1.0

    @app.telemetry("count", interval=60)
    async def count(registry: Registry) -> dict[str, object]:
        return {"n": len(registry.sensors)}

    harness = AppHarness(app=app)
    harness.override_state(Registry, mine)
    with pytest.raises(TypeError):
        harness.override_state(Registry, object())
    async with harness:
        pass
    assert harness.messages_for("heat/count/state")[0][0] == '{"n":1}'


def test_registration_checks() -> None:
    app = App("heat", store=None)

    def untyped():  # type: ignore[no-untyped-def]
        return Registry()

    with pytest.raises(TypeError, match="annotate what it returns"):
        app.state(untyped)

    @app.state
    def registry() -> Registry:
        return Registry()

    with pytest.raises(ValueError, match="already registered"):
        app.state(registry)

    async def react(events: list[str]) -> None:
        return None

    with pytest.raises(ValueError, match=r"not a registered @app\.state type"):
        app.react(Bus)(react)

    def not_async(events: list[str]) -> None:
        return None

    with pytest.raises(TypeError, match="async"):
        app.react(Registry)(not_async)


def test_the_manifest_names_the_shared_state_and_its_reactors() -> None:
    from cosalette.project import build_manifest, format_manifest_table

    app = App("heat", store=None)

    @app.state
    def registry() -> Registry:
        return Registry()

    @app.react(Registry)
    async def on_registry(events: list[str]) -> None:
        return None

    manifest = build_manifest(app)
    assert [s["type"] for s in manifest["state"]] == ["Registry"]
    assert manifest["state"][0]["reactors"][0].endswith("on_registry")
    assert "Shared state: Registry (" in format_manifest_table(manifest)
    assert "state" not in build_manifest(App("plain", store=None))
