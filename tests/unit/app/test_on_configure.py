"""``@app.on_configure``: register devices from the resolved settings (ADR-020 option B)."""

from __future__ import annotations

import pytest
from pydantic import Field

from cosalette import App, Settings, StartupError
from cosalette.project import build_manifest
from cosalette.testing import AppHarness, make_settings


class GardenSettings(Settings):
    beds: list[str] = Field(default_factory=lambda: ["tomatoes"])
    flush_enabled: bool = True


app_under_test = App("garden", settings_class=GardenSettings, heartbeat_interval=None, store=None)


async def _read() -> dict[str, object]:
    return {"moisture": 40}


async def _flush() -> None:
    return None


@app_under_test.on_configure
def configure(settings: GardenSettings) -> None:
    for bed in settings.beds:
        app_under_test.add_telemetry(bed, _read, interval=60)
    app_under_test.add_periodic("flush", _flush, interval=60, enabled=settings.flush_enabled)


async def test_hooks_register_devices_from_each_runs_settings() -> None:
    for beds in (["tomatoes", "beans"], ["peas"]):
        harness = AppHarness.create(app=app_under_test, settings_class=GardenSettings, beds=beds)
        async with harness:
            for bed in beds:
                assert harness.messages_for(f"garden/{bed}/state")
        names = sorted(r.name for r in app_under_test.telemetry_registrations)
        assert names == sorted(beds)  # the resolved view of that run
    assert app_under_test.describe().registrations.telemetry == ()  # declared: none
    assert app_under_test.has_dynamic_entities is True


async def test_a_hook_registered_periodic_task_can_be_ticked() -> None:
    harness = AppHarness.create(app=app_under_test, settings_class=GardenSettings)
    await harness.tick_periodic("flush")
    with pytest.raises(ValueError, match="registered: flush"):
        await harness.tick_periodic("nope")


def test_the_manifest_with_settings_shows_what_the_hooks_register() -> None:
    manifest = build_manifest(app_under_test, make_settings(GardenSettings, beds=["kale"]))
    assert [d["name"] for d in manifest["devices"]] == ["flush", "kale"]


async def test_a_failing_hook_is_a_start_up_error_and_async_hooks_are_refused() -> None:
    app = App("broken", store=None)

    @app.on_configure
    def configure() -> None:
        raise ValueError("no such bed")

    with pytest.raises(StartupError, match="no such bed"):
        await AppHarness(app=app).start()

    async def later() -> None:
        return None

    with pytest.raises(TypeError, match="synchronous"):
        app.on_configure(later)
