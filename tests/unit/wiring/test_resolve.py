"""Declared registrations resolve to concrete ones after settings load (ADR-020)."""

from __future__ import annotations

from cosalette import App, Settings, setting_ref
from cosalette._app.registration import ResolvedCommand, ResolvedTelemetry
from cosalette._wiring.resolve import resolve_registrations
from cosalette.testing import AppHarness, make_settings


class PollSettings(Settings):
    poll: float = 5.0
    slow: float = 45.0


async def _read() -> dict[str, object]:
    return {"v": 1}


def _app() -> App:
    app = App("bridge", settings_class=PollSettings)
    app.add_telemetry("meter", _read, interval=setting_ref("poll"))
    app.add_telemetry("slow", _read, interval=lambda s: s.slow)

    @app.command("valve", timeout=setting_ref("poll"))
    async def valve(payload: str) -> None:
        return None

    return app


async def test_views_show_resolved_intervals_after_start() -> None:
    app = _app()
    before = {r.name: r.interval for r in app.telemetry_registrations}
    assert not isinstance(before["meter"], float)
    harness = AppHarness.create(app=app, settings_class=PollSettings, poll=2.5)
    async with harness:
        after = {r.name: r.interval for r in app.telemetry_registrations}
    assert after == {"meter": 2.5, "slow": 45.0}
    assert all(isinstance(r, ResolvedTelemetry) for r in app.telemetry_registrations)
    assert app.commands[0].timeout == 2.5


def test_resolved_registrations_are_their_own_types() -> None:
    app = _app()
    declared = app.describe().registrations
    resolved = resolve_registrations(declared, make_settings(PollSettings))
    assert [type(r) for r in resolved.telemetry] == [ResolvedTelemetry, ResolvedTelemetry]
    assert [r.interval for r in resolved.telemetry] == [5.0, 45.0]
    assert isinstance(resolved.commands[0], ResolvedCommand)
    assert not any(isinstance(r, ResolvedTelemetry) for r in declared.telemetry)


def test_a_new_registration_shows_the_declared_views_again() -> None:
    app = _app()
    app.add_telemetry("late", _read, interval=setting_ref("poll"))
    assert [r.name for r in app.telemetry_registrations] == ["meter", "slow", "late"]
