"""What App and Router share as registrars: the registration views and the common checks."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cosalette._app.registration import (
    DeclaredRegistrations,
    EnabledSpec,
    NameSpec,
    RegistrationSet,
    _CommandRegistration,
    _DeviceRegistration,
    _PeriodicRegistration,
    _Registration,
    _StreamRegistration,
    _TelemetryRegistration,
    as_tuple,
    check_unique,
    validate_init,
)
from cosalette._di.plan import build_plan

logger = logging.getLogger("cosalette")

F = TypeVar("F", bound=Callable[..., Any])

_COMMAND_PARAMS = frozenset({"topic", "payload"})
_METADATA = frozenset({"summary", "behavior", "effects", "state_model", "payload_model", "tags"})


def _reject_bare(name: object, decorator: str) -> None:
    if inspect.iscoroutinefunction(name) or inspect.isasyncgenfunction(name):
        raise TypeError(f"Use @{decorator}(...) with parentheses, not @{decorator}")


def _resolve_name(
    name: str | NameSpec | None, func: Callable[..., Any]
) -> tuple[str, bool, NameSpec | None]:
    """(name, is_root, name_spec): None → root device named after the function."""
    if name is None:
        return getattr(func, "__name__", "root"), True, None
    if callable(name):
        return getattr(func, "__name__", "dynamic"), False, name
    return name, False, None


class RegistrarBase:
    """The registration lists, their read-only views, and the checks every archetype shares."""

    _regs: RegistrationSet

    # --- read-only views ---------------------------------------------------------------

    def _shown(self) -> DeclaredRegistrations:
        """The registrations the views below show (an App shows resolved ones after start)."""
        return self._regs.freeze()

    @property
    def devices(self) -> Sequence[_DeviceRegistration]:
        """Registered device handlers."""
        return self._shown().devices

    @property
    def telemetry_registrations(self) -> Sequence[_TelemetryRegistration]:
        """Registered telemetry handlers (intervals resolved to seconds once an app started)."""
        return self._shown().telemetry

    @property
    def commands(self) -> Sequence[_CommandRegistration]:
        """Registered command handlers."""
        return self._shown().commands

    @property
    def periodic_registrations(self) -> Sequence[_PeriodicRegistration]:
        """Registered periodic tasks."""
        return self._shown().periodic

    @property
    def stream_registrations(self) -> Sequence[_StreamRegistration]:
        """Registered streams (none until streams are supported)."""
        return self._shown().streams

    @property
    def has_dynamic_entities(self) -> bool:
        """True when a ``name=`` or ``enabled=`` callable decides the devices at start-up."""
        return any(
            r.name_spec is not None or callable(r.enabled)
            for r in self._regs.all()
            if not isinstance(r, _PeriodicRegistration)
        )

    def _add(self, reg: _Registration, target: list[Any]) -> None:
        check_unique(reg, self._regs)
        if reg.is_root and any(
            not r.is_root for r in self._regs.all() if not isinstance(r, _PeriodicRegistration)
        ):
            logger.warning("%s: mixing a root device with named devices is unusual", reg.label)
        target.append(reg)

    def _decorate(
        self,
        name: str | NameSpec | None,
        archetype: str,
        register: Callable[..., None],
        options: dict[str, Any],
    ) -> Callable[[F], F]:
        """The decorator form of ``register``: the name comes from the call, the handler later."""
        _reject_bare(name, archetype)

        def decorator(func: F) -> F:
            resolved, is_root, spec = _resolve_name(name, func)
            register(resolved, func, is_root=is_root, name_spec=spec, **options)
            return func

        return decorator

    def _common(
        self,
        name: str,
        func: Callable[..., Any],
        owner: str,
        init: Callable[..., Any] | None,
        is_root: bool,
        enabled: EnabledSpec,
        name_spec: NameSpec | None,
        meta: dict[str, Any],
        by_name: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """The fields every registration has, validated the same way for every archetype."""
        unknown = set(meta) - _METADATA
        if unknown:
            raise TypeError(f"{owner}: unexpected keyword argument(s) {sorted(unknown)}")
        return {
            "name": name,
            "func": func,
            "plan": build_plan(func, by_name=by_name, owner=owner),
            "init": init,
            "init_plan": validate_init(init, owner) if init is not None else None,
            "is_root": is_root,
            "enabled": enabled,
            "name_spec": name_spec,
            "summary": meta.get("summary"),
            "behavior": as_tuple(meta.get("behavior")),
            "effects": as_tuple(meta.get("effects")),
            "state_model": meta.get("state_model"),
            "payload_model": meta.get("payload_model"),
            "tags": as_tuple(meta.get("tags")),
        }
