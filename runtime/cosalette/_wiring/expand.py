"""Phase 1 of a run: resolve what registration deferred until the settings exist (ADR-020)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cosalette._app.registration import (
    RegistrationSet,
    _CommandRegistration,
    _PeriodicRegistration,
    _Registration,
    _TelemetryRegistration,
    check_unique,
    resolve_interval,
    validate_name,
)
from cosalette._settings import Settings


def _enabled(reg: _Registration, settings: Settings) -> bool:
    if callable(reg.enabled):
        return bool(reg.enabled(settings))
    return bool(reg.enabled)


def _expand_names(reg: _Registration, settings: Settings) -> list[_Registration]:
    if reg.name_spec is None:
        return [reg]
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
    out: list[_Registration] = []
    for key, config in items:
        validate_name(str(key), reg.label)
        full = f"{reg.prefix}/{key}" if reg.prefix else str(key)
        out.append(replace(reg, name=full, config=config, name_spec=None))
    return out


def _resolve(reg: _Registration, settings: Settings) -> _Registration:
    if isinstance(reg, _TelemetryRegistration | _PeriodicRegistration):
        interval = resolve_interval(reg.interval, settings, what="interval", owner=reg.label)
        return replace(reg, interval=interval)
    if isinstance(reg, _CommandRegistration) and reg.timeout is not None:
        timeout = resolve_interval(reg.timeout, settings, what="timeout", owner=reg.label)
        return replace(reg, timeout=timeout)
    return reg


def expand(regs: RegistrationSet, settings: Settings) -> RegistrationSet:
    """Concrete registrations for this run: enabled ones, names expanded, intervals numbers."""
    out = RegistrationSet()
    targets: list[tuple[list[Any], list[Any]]] = [
        (regs.devices, out.devices),
        (regs.telemetry, out.telemetry),
        (regs.commands, out.commands),
        (regs.periodic, out.periodic),
    ]
    for source, target in targets:
        for reg in source:
            if not _enabled(reg, settings):
                continue
            for concrete in _expand_names(reg, settings):
                resolved = _resolve(concrete, settings)
                check_unique(resolved, out)
                target.append(resolved)
    return out
