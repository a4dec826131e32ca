"""Phase 1 of a run: resolve what registration deferred until the settings exist (ADR-020).

Declared registrations may carry ``name=`` callables, ``enabled=`` callables and intervals or
timeouts given as ``setting_ref``/callables; the resolved ones (``Resolved*`` types) name one
concrete device each and carry seconds as floats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cosalette._app.registration import (
    DeclaredRegistrations,
    Registrations,
    RegistrationSet,
    ResolvedCommand,
    ResolvedDevice,
    ResolvedPeriodic,
    ResolvedRegistrations,
    ResolvedStream,
    ResolvedTelemetry,
    _CommandRegistration,
    _DeviceRegistration,
    _PeriodicRegistration,
    _Registration,
    _StreamRegistration,
    _TelemetryRegistration,
    check_unique,
    resolve_interval,
    resolved_as,
    validate_name,
)
from cosalette._app.telemetry_options import UNSET, as_cron
from cosalette._settings import Settings

if TYPE_CHECKING:
    from cosalette._cron import CronSchedule

__all__ = ["resolve_one", "resolve_registrations"]


def _enabled(reg: _Registration, settings: Settings) -> bool:
    if callable(reg.enabled):
        return bool(reg.enabled(settings))
    return bool(reg.enabled)


def _names(reg: _Registration, settings: Settings) -> list[tuple[str, Any]]:
    """(device name, per-device config) pairs: one, or one per key of a ``name=`` callable."""
    if reg.name_spec is None:
        return [(reg.name, reg.config)]
    produced = reg.name_spec(settings)
    if isinstance(produced, dict):
        items: list[tuple[str, Any]] = list(produced.items())
    elif isinstance(produced, list | tuple | set | frozenset):
        items = [(n, None) for n in produced]
    else:
        raise TypeError(
            f"{reg.label}: the name= callable must return a dict of name → config or a list "
            f"of names, got {type(produced).__name__}"
        )
    out: list[tuple[str, Any]] = []
    for key, config in items:
        validate_name(str(key), reg.label)
        out.append((f"{reg.prefix}/{key}" if reg.prefix else str(key), config))
    return out


def _seconds(reg: _Registration, value: Any, settings: Settings, what: str) -> float:
    return resolve_interval(value, settings, what=what, owner=reg.label)


def _cron(reg: _TelemetryRegistration, config: Any) -> CronSchedule | None:
    """The device's CronSchedule: as registered, or from the per-device schedule callable."""
    if reg.schedule is None or not callable(reg.schedule):  # a CronSchedule already
        return reg.schedule  # type: ignore[no-any-return]
    produced = as_cron(reg.schedule(config), f"{reg.label}: device '{reg.name}'")
    if produced is not None:
        return produced
    raise TypeError(
        f"{reg.label}: the schedule= callable must return a cron string or a CronSchedule, "
        f"got {type(produced).__name__}"
    )


def _concrete(reg: _Registration, name: str, config: Any, settings: Settings) -> _Registration:
    changes: dict[str, Any] = {"name": name, "config": config, "name_spec": None}
    if isinstance(reg, _TelemetryRegistration):
        schedule = _cron(reg, config)
        changes["schedule"] = schedule
        if schedule is None:
            changes["interval"] = _seconds(reg, reg.interval, settings, "interval")
        if reg.timeout is UNSET:  # omitted: a cycle may take one interval; cron has no default
            changes["timeout"] = changes["interval"] if schedule is None else None
        elif reg.timeout is not None:
            changes["timeout"] = _seconds(reg, reg.timeout, settings, "timeout")
        return resolved_as(ResolvedTelemetry, reg, **changes)
    if isinstance(reg, _PeriodicRegistration):
        changes["interval"] = _seconds(reg, reg.interval, settings, "interval")
        return resolved_as(ResolvedPeriodic, reg, **changes)
    if isinstance(reg, _CommandRegistration):
        if reg.timeout is not None:
            changes["timeout"] = _seconds(reg, reg.timeout, settings, "timeout")
        return resolved_as(ResolvedCommand, reg, **changes)
    if isinstance(reg, _DeviceRegistration):
        return resolved_as(ResolvedDevice, reg, **changes)
    if isinstance(reg, _StreamRegistration):
        return resolved_as(ResolvedStream, reg, **changes)
    raise TypeError(f"{reg.label}: cannot be resolved")


def resolve_one(reg: _Registration, settings: Settings) -> list[_Registration]:
    """The concrete registrations *reg* stands for under *settings* (none when disabled)."""
    if not _enabled(reg, settings):
        return []
    return [_concrete(reg, name, config, settings) for name, config in _names(reg, settings)]


def resolve_registrations(
    declared: DeclaredRegistrations, settings: Settings
) -> ResolvedRegistrations:
    """Concrete registrations for one run: enabled ones, names expanded, seconds as floats.

    A name that an expansion produces twice is a ``ValueError`` naming both registrations.
    """
    staged = RegistrationSet()
    for reg in declared.all():
        for concrete in resolve_one(reg, settings):
            check_unique(concrete, staged)
            _target(staged, concrete).append(concrete)
    return Registrations(
        devices=tuple(r for r in staged.devices if isinstance(r, ResolvedDevice)),
        telemetry=tuple(r for r in staged.telemetry if isinstance(r, ResolvedTelemetry)),
        commands=tuple(r for r in staged.commands if isinstance(r, ResolvedCommand)),
        periodic=tuple(r for r in staged.periodic if isinstance(r, ResolvedPeriodic)),
        streams=tuple(r for r in staged.streams if isinstance(r, ResolvedStream)),
    )


def _target(staged: RegistrationSet, reg: _Registration) -> list[Any]:
    if isinstance(reg, _TelemetryRegistration):
        return staged.telemetry
    if isinstance(reg, _CommandRegistration):
        return staged.commands
    if isinstance(reg, _PeriodicRegistration):
        return staged.periodic
    if isinstance(reg, _StreamRegistration):
        return staged.streams
    return staged.devices
