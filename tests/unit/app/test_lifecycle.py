"""A run from start to stop: adapters, lifespan, availability, heartbeats, health checks."""

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from typing import Any, Protocol

import pytest

from cosalette import App, AppContext, DeviceContext, Settings
from cosalette.testing import AppHarness, FakeClock, MockMqttClient, make_settings


class BridgeSettings(Settings):
    host: str = "meter.local"


class MeterPort(Protocol):
    def read(self) -> int: ...


class RealMeter:
    def read(self) -> int:
        return 1


class FakeMeter:
    def read(self) -> int:
        return 0


def _app(**kwargs: Any) -> App:
    return App("bridge", "2.0.0", settings_class=BridgeSettings, **kwargs)


async def test_lifespan_gets_app_context_and_wraps_the_devices() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(ctx: AppContext) -> AsyncIterator[None]:
        assert isinstance(ctx, AppContext)
        assert isinstance(ctx.settings, BridgeSettings)
        meter = ctx.adapter(MeterPort)  # type: ignore[type-abstract]  # Protocol port: mypy#4717
        events.append(f"enter {ctx.settings.host} {meter.read()}")
        with pytest.raises(LookupError):
            ctx.adapter(DeviceContext)
        yield
        events.append("exit")

    app = _app(lifespan=lifespan, adapters={MeterPort: RealMeter})
    harness = AppHarness.create(app=app)

    @app.device("meter")
    async def meter(ctx: DeviceContext) -> None:
        events.append("device start")
        try:
            while not ctx.shutdown_requested:
                await ctx.sleep(60)
        finally:
            events.append("device end")

    await harness.start()
    assert events == ["enter meter.local 1", "device start"]
    await harness.stop()
    assert events == ["enter meter.local 1", "device start", "device end", "exit"]
    assert app._lifespan is lifespan


def test_app_context_can_be_built_directly() -> None:
    settings: Settings = make_settings()
    meter = RealMeter()
    ctx = AppContext(settings=settings, adapters={MeterPort: meter})
    assert ctx.settings is settings
    assert ctx.adapter(MeterPort) is meter  # type: ignore[type-abstract]  # Protocol port: mypy#4717
    with pytest.raises(LookupError):
        ctx.adapter(FakeMeter)


async def test_async_context_manager_adapters_entered_and_exited_in_reverse() -> None:
    events: list[str] = []

    class Managed:
        label = ""

        async def __aenter__(self) -> "Managed":
            events.append(f"enter {self.label}")
            return self

        async def __aexit__(self, *exc: object) -> None:
            events.append(f"exit {self.label}")

    class PortA(Protocol): ...

    class PortB(Protocol): ...

    class A(Managed):
        label = "A"

    class B(Managed):
        label = "B"

    app = _app()
    app.adapter(PortA, A)
    app.adapter(PortB, B)
    harness = AppHarness.create(app=app)

    @app.telemetry("t", interval=10)
    async def t(a: PortA, b: PortB) -> dict[str, object]:
        events.append("poll")
        return {"a": isinstance(a, A), "b": isinstance(b, B)}

    await harness.start()
    assert events == ["enter A", "enter B", "poll"]
    harness.assert_state("t", {"a": True, "b": True})
    await harness.stop()
    assert events == ["enter A", "enter B", "poll", "exit B", "exit A"]


@pytest.mark.parametrize("how", ["tuple", "keyword"])
async def test_dry_run_picks_the_fake(how: str) -> None:
    app = _app(dry_run=True)
    if how == "tuple":
        app = _app(dry_run=True, adapters={MeterPort: (RealMeter, FakeMeter)})
    else:
        app.adapter(MeterPort, RealMeter, dry_run=FakeMeter)
    harness = AppHarness.create(app=app)

    @app.telemetry("m", interval=10)
    async def m(meter: MeterPort) -> dict[str, object]:
        return {"reading": meter.read(), "fake": isinstance(meter, FakeMeter)}

    async with harness:
        harness.assert_state("m", {"reading": 0, "fake": True})


async def test_real_adapter_without_dry_run() -> None:
    app = _app(adapters={MeterPort: (RealMeter, FakeMeter)})
    harness = AppHarness.create(app=app)

    @app.telemetry("m", interval=10)
    async def m(meter: MeterPort) -> dict[str, object]:
        return {"reading": meter.read()}

    async with harness:
        harness.assert_state("m", {"reading": 1})


async def test_adapter_import_string_is_imported_lazily() -> None:
    sys.modules.pop("_lazy_adapter_mod", None)
    app = _app()
    app.adapter(MeterPort, "_lazy_adapter_mod:LazyMeter")
    app.adapter(FakeMeter, "module_that_does_not_exist_xyz:Thing")  # fine until built
    assert "_lazy_adapter_mod" not in sys.modules
    app2 = _app(adapters={MeterPort: "_lazy_adapter_mod:LazyMeter"})
    harness = AppHarness.create(app=app2)

    @app2.telemetry("m", interval=10)
    async def m(meter: MeterPort) -> dict[str, object]:
        return {"reading": meter.read()}

    assert "_lazy_adapter_mod" not in sys.modules
    async with harness:
        harness.assert_state("m", {"reading": 99})
    assert "_lazy_adapter_mod" in sys.modules


async def test_factory_adapter_gets_settings_injected() -> None:
    class HostMeter:
        def __init__(self, host: str) -> None:
            self.host = host

        def read(self) -> int:
            return len(self.host)

    def make_meter(settings: BridgeSettings) -> HostMeter:
        return HostMeter(settings.host)

    app = _app(adapters={MeterPort: make_meter})
    harness = AppHarness.create(app=app, host="abc")

    @app.telemetry("m", interval=10)
    async def m(meter: MeterPort) -> dict[str, object]:
        return {"reading": meter.read()}

    async with harness:
        harness.assert_state("m", {"reading": 3})


async def test_adapter_class_with_all_default_arguments_is_constructible() -> None:
    class Configurable:
        def __init__(self, retries=3, port: int | None = None) -> None:  # type: ignore[no-untyped-def]
            self.retries: int = retries

        def read(self) -> int:
            return self.retries

    app = _app(adapters={MeterPort: Configurable})
    harness = AppHarness.create(app=app)

    @app.telemetry("m", interval=10)
    async def m(meter: MeterPort) -> dict[str, object]:
        return {"reading": meter.read()}

    async with harness:
        harness.assert_state("m", {"reading": 3})


# --- availability and heartbeat ---------------------------------------------------------


async def test_availability_and_status_at_start_and_shutdown() -> None:
    app = _app()
    harness = AppHarness.create(app=app)

    @app.telemetry("temp", interval=10)
    async def temp() -> dict[str, object]:
        return {"c": 1}

    @app.command("valve")
    async def valve(payload: str) -> None:
        return None

    await harness.start()
    for device in ("temp", "valve"):
        assert harness.mqtt.get_messages_for(f"bridge/{device}/availability") == [
            ("online", True, 1)
        ]
    status = harness.mqtt.get_messages_for("bridge/status")
    assert len(status) == 1
    payload, retain, qos = status[0]
    assert (retain, qos) == (True, 1)
    assert json.loads(payload) == {
        "status": "online",
        "uptime_s": 0.0,
        "version": "2.0.0",
        "devices": {"temp": {"status": "ok"}, "valve": {"status": "ok"}},
    }
    await harness.stop()
    for device in ("temp", "valve"):
        assert harness.messages_for(f"bridge/{device}/availability") == [
            ("online", True, 1),
            ("offline", True, 1),
        ]
    assert harness.mqtt.get_messages_for("bridge/status")[-1] == ("offline", True, 1)


async def test_heartbeat_every_heartbeat_interval() -> None:
    app = _app(heartbeat_interval=10)
    harness = AppHarness.create(app=app)

    @app.telemetry("temp", interval=60)
    async def temp() -> dict[str, object]:
        return {"c": 1}

    async with harness:
        await harness.advance_time(25)
        beats = [json.loads(p) for p, _, _ in harness.messages_for("bridge/status")]
        assert [b["uptime_s"] for b in beats] == [0.0, 10.0, 20.0]


async def test_no_periodic_heartbeat_when_disabled() -> None:
    app = _app(heartbeat_interval=None)
    harness = AppHarness.create(app=app)
    app.add_telemetry("temp", _poll, interval=60)
    async with harness:
        await harness.advance_time(600)
        assert len(harness.messages_for("bridge/status")) <= 1


async def _poll() -> dict[str, object]:
    return {"c": 1}


async def test_failing_health_check_takes_devices_offline_until_recovery() -> None:
    class Hub:
        healthy = True

        async def health_check(self) -> bool:
            return self.healthy

        def read(self) -> int:
            return 1

    hub = Hub()
    app = _app(health_check_interval=5, restart_after_failures=0)
    app.adapter(MeterPort, lambda: hub)
    harness = AppHarness.create(app=app)

    @app.telemetry("uses-hub", interval=60)
    async def uses_hub(meter: MeterPort) -> dict[str, object]:
        return {"r": meter.read()}

    @app.telemetry("independent", interval=60)
    async def independent() -> dict[str, object]:
        return {"r": 0}

    async with harness:
        await harness.advance_time(5)
        assert harness.messages_for("bridge/uses-hub/availability") == [("online", True, 1)]
        hub.healthy = False
        await harness.advance_time(5)
        assert harness.messages_for("bridge/uses-hub/availability") == [
            ("online", True, 1),
            ("offline", True, 1),
        ]
        await harness.advance_time(5)
        assert harness.messages_for("bridge/uses-hub/availability") == [
            ("online", True, 1),
            ("offline", True, 1),
        ]
        hub.healthy = True
        await harness.advance_time(5)
        assert harness.messages_for("bridge/uses-hub/availability") == [
            ("online", True, 1),
            ("offline", True, 1),
            ("online", True, 1),
        ]
        assert harness.messages_for("bridge/independent/availability") == [("online", True, 1)]


async def test_run_async_private_entry_point() -> None:
    app = _app()
    mqtt = MockMqttClient()
    clock = FakeClock()
    shutdown = asyncio.Event()
    app.add_telemetry("temp", _poll, interval=10)

    task = asyncio.ensure_future(
        app._run_async(
            mqtt=mqtt, settings=make_settings(BridgeSettings), shutdown_event=shutdown, clock=clock
        )
    )
    for _ in range(50):
        if mqtt.get_messages_for("bridge/temp/state"):
            break
        await asyncio.sleep(0)
    assert mqtt.get_messages_for("bridge/temp/state") == [('{"c":1}', True, 1)]
    shutdown.set()
    await task
    assert mqtt.get_messages_for("bridge/status")[-1][0] == "offline"


async def test_failed_start_exits_entered_adapters_and_lifespan() -> None:
    events: list[str] = []

    class Managed:
        async def __aenter__(self) -> "Managed":
            events.append("adapter enter")
            return self

        async def __aexit__(self, *exc: object) -> None:
            events.append("adapter exit")

        def read(self) -> int:
            return 0

    @contextlib.asynccontextmanager
    async def lifespan(ctx: AppContext) -> AsyncIterator[None]:
        events.append("lifespan enter")
        yield
        events.append("lifespan exit")

    class Missing(Protocol):
        def nothing(self) -> None: ...

    app = _app(lifespan=lifespan, adapters={MeterPort: Managed})
    harness = AppHarness.create(app=app)

    @app.telemetry("t", interval=10)
    async def t(meter: MeterPort, missing: Missing) -> dict[str, object]:
        return {}

    with pytest.raises(Exception, match="missing"):
        await harness.start()
    assert events[0] == "adapter enter"
    assert events[-1] == "adapter exit"
    if "lifespan enter" in events:
        assert events.index("lifespan exit") < events.index("adapter exit")
    assert harness.messages_for("bridge/t/availability") == []
