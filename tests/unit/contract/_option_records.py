"""Telemetry records with options, as the registrar stores them, for the contract tests."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import cosalette
from cosalette._app.registration import _TelemetryRegistration

Options = dict[str, dict[str, Any]]


def with_options(monkeypatch: pytest.MonkeyPatch, app: cosalette.App, options: Options) -> None:
    """Give *app*'s telemetry records the *options* (by handler name), as the registrar would."""
    described = app.describe()
    regs = described.registrations

    def change(reg: _TelemetryRegistration) -> _TelemetryRegistration:
        changes = options.get(reg.func.__name__)
        if changes is None:
            return reg
        if "schedule" in changes:
            changes = {"interval": 0.0, **changes}  # cron telemetry holds no interval
        return dataclasses.replace(reg, **changes)

    telemetry = tuple(change(r) for r in regs.telemetry)
    frozen = described._replace(registrations=regs._replace(telemetry=telemetry))
    monkeypatch.setattr(app, "describe", lambda settings=None: frozen)
    monkeypatch.setattr(cosalette.App, "telemetry_registrations", property(lambda _: telemetry))
