"""``Project.check()``: bind every handler and adapter by type, without running project code.

It resolves deferred settings (intervals, names, ``enabled=``), then binds every handler with
the runtime's own wiring code, but adapters are never built or entered: each port gets a
stand-in (an instance of the chosen class made without calling its constructor), and an
adapter's constructor parameters are checked by type. ``init=`` factories with a return
annotation are checked the same way; un-annotated ones are called, as the runtime would.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cosalette._app.registration import (
    RegistrationSet,
    _Registration,
    _return_type,
)
from cosalette._clock import ClockPort, SystemClock
from cosalette._context import DeviceContext
from cosalette._di.adapters import AdapterImpl, _all_defaults
from cosalette._di.plan import _MISSING, InjectionError, bind, build_plan, lookup, type_label
from cosalette._errors import ErrorPublisher
from cosalette._health import HealthReporter
from cosalette._mqtt.doubles import MockMqttClient
from cosalette._project.errors import ProjectError, location_of
from cosalette._settings import Settings
from cosalette._shutdown import SleepRegistry
from cosalette._wiring.devices import WiringBuilder
from cosalette._wiring.expand import expand

if TYPE_CHECKING:
    from cosalette._project.discovery import Project

__all__ = ["check_project"]

_ERRORS = (InjectionError, TypeError, ValueError, LookupError, AttributeError)


class _Unbuilt:
    """Stands in for an adapter that check() does not build."""

    def __init__(self, what: Any) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"<unbuilt {type_label(self.what)}>"


def _stand_in(impl: AdapterImpl | None, port: Any) -> object:
    """An instance of *impl*'s class made without running its constructor, if possible."""
    target: Any = impl
    if callable(impl) and not isinstance(impl, type):
        target = _return_type(impl)
    if isinstance(target, type):
        try:
            return object.__new__(target)
        except TypeError:
            pass
    return _Unbuilt(port)


def _check_factory(func: Any, providers: Mapping[Any, object], owner: str) -> None:
    """Fail like ``call_injected`` would, but without calling *func*."""
    if isinstance(func, str) or not callable(func):
        return
    try:
        plan = build_plan(func, owner=owner)
    except InjectionError:
        if inspect.isclass(func) and _all_defaults(func):
            return
        raise
    for p in plan.injected():
        if lookup(providers, p.annotation) is _MISSING and not (p.has_default or p.optional):
            raise InjectionError(
                f"{owner}: parameter '{p.name}: {type_label(p.annotation)}' cannot be "
                f"injected; nothing provides {type_label(p.annotation)}"
            )


class _CheckingBuilder(WiringBuilder):
    """The runtime's wiring, with annotated ``init=`` factories checked instead of called."""

    def _providers_for(self, reg: _Registration, ctx: DeviceContext | None) -> dict[Any, object]:
        returns = _return_type(reg.init) if reg.init is not None else None
        if reg.init is None or not isinstance(returns, type):
            return super()._providers_for(reg, ctx)
        providers = self.base_providers(reg.name)
        if ctx is not None:
            providers[DeviceContext] = ctx
        if reg.config is not None:
            providers[type(reg.config)] = reg.config
        plan = reg.init_plan or build_plan(reg.init, owner=f"{reg.label} init=")
        bind(plan, providers, owner=f"{reg.label} init=")
        providers[returns] = _stand_in(returns, returns)
        return providers


def _located(reg: _Registration, exc: BaseException) -> ProjectError:
    file, line = location_of(reg.func)
    return ProjectError(str(exc), file=file, line=line)


def _expand(regs: RegistrationSet, settings: Settings) -> RegistrationSet:
    """Resolve deferred values one registration at a time, so an error names its handler."""
    for kind in ("devices", "telemetry", "commands", "periodic"):
        for reg in getattr(regs, kind):
            single = RegistrationSet()
            getattr(single, kind).append(reg)
            try:
                expand(single, settings)
            except _ERRORS as exc:
                raise _located(reg, exc) from exc
    try:
        return expand(regs, settings)
    except _ERRORS as exc:
        raise _by_label(regs.all(), exc) from exc


def _by_label(regs: list[_Registration], exc: BaseException) -> ProjectError:
    text = str(exc)
    matches = [r for r in regs if r.label in text]
    if matches:
        return _located(max(matches, key=lambda r: len(r.label)), exc)
    return ProjectError(text)


def check_project(project: Project) -> None:
    """Raise :class:`ProjectError` for the first handler or adapter that cannot be wired."""
    app, settings = project.app, project.settings
    regs = _expand(app._regs, settings)
    clock: ClockPort = SystemClock()
    providers: dict[Any, object] = {
        Settings: settings,
        type(settings): settings,
        app.settings_class: settings,
        ClockPort: clock,
    }
    adapters: dict[Any, object] = {}
    for port, entry in app.adapters.items():
        impl = entry.chosen(app.dry_run)
        try:
            _check_factory(impl, {**providers, **adapters}, f"adapter for {type_label(port)}")
        except _ERRORS as exc:
            module = project.modules.get(getattr(impl, "__module__", ""))
            hint = getattr(module, "__file__", None)
            file, line = location_of(impl, hint) if not isinstance(impl, str) else (None, None)
            raise ProjectError(str(exc), file=file, line=line) from exc
        adapters[port] = _stand_in(impl, port)
    mqtt = MockMqttClient()
    prefix = settings.mqtt.topic_prefix or app.name
    shutdown = asyncio.Event()
    builder = _CheckingBuilder(
        settings=settings,
        settings_class=app.settings_class,
        mqtt=mqtt,
        topic_prefix=prefix,
        shutdown_event=shutdown,
        adapters=adapters,
        clock=clock,
        sleeps=SleepRegistry(shutdown),
        errors=ErrorPublisher(mqtt, prefix),
        health=HealthReporter(mqtt, prefix, app.version, clock),
    )
    try:
        builder.extra = {key: make(settings) for key, make in app._providers.items()}
        builder.build(regs, run_periodic=True)
    except _ERRORS as exc:
        raise _by_label(regs.all(), exc) from exc
