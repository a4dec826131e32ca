"""``Project.check()``: bind every handler and adapter by type, without running project code.

It resolves deferred settings (intervals, names, ``enabled=``), then binds every handler with
the runtime's own wiring code, but adapters are never built or entered: each port gets a
stand-in (an instance of the chosen class made without calling its constructor), and an
adapter's constructor parameters are checked by type. ``init=`` factories with a return
annotation are checked the same way; un-annotated ones are called, as the runtime would.
A ``DeviceStore`` is bound over a ``NullStore``: the app's own store is never opened.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cosalette._app.description import AppDescription
from cosalette._app.registration import (
    DeclaredRegistrations,
    ResolvedRegistrations,
    _Registration,
    _return_type,
)
from cosalette._clock import SystemClock
from cosalette._di.adapters import AdapterImpl, all_defaults
from cosalette._di.plan import (
    _MISSING,
    InjectionError,
    bind,
    build_plan,
    lookup,
    type_label,
    unprovided,
)
from cosalette._errors import ErrorPublisher
from cosalette._health import HealthReporter
from cosalette._mqtt.doubles import MockMqttClient
from cosalette._project.errors import ProjectError, location_of
from cosalette._project.located import project_message, setting_error
from cosalette._shutdown import SleepRegistry
from cosalette._topics import topic_root
from cosalette._wiring.builder import WiringBuilder
from cosalette._wiring.injectables import Injectables, call_init
from cosalette._wiring.resolve import resolve_one, resolve_registrations

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
        if inspect.isclass(func) and all_defaults(func):
            return
        raise
    for p in plan.injected():
        if lookup(providers, p.annotation) is _MISSING and not (p.has_default or p.optional):
            raise unprovided(owner, p)


def _checked_init(reg: _Registration, providers: Mapping[Any, object]) -> object:
    """An annotated ``init=`` factory is checked by type, not called; others are called."""
    assert reg.init is not None
    returns = _return_type(reg.init)
    if not isinstance(returns, type):
        return call_init(reg, providers)
    plan = reg.init_plan or build_plan(reg.init, owner=f"{reg.label} init=")
    bind(plan, providers, owner=f"{reg.label} init=")
    return _stand_in(returns, returns)


def _located(reg: _Registration, exc: BaseException) -> ProjectError:
    file, line = location_of(reg.func)
    return ProjectError(project_message(exc), file=file, line=line)


def _resolve(project: Project, declared: DeclaredRegistrations) -> ResolvedRegistrations:
    """Resolve deferred values one registration at a time, so an error names its handler,
    or the settings.toml line (env var) of a referenced value that is not valid."""
    settings = project.settings
    for reg in declared.all():
        try:
            resolve_one(reg, settings)
        except _ERRORS as exc:
            raise (setting_error(project, reg, settings) or _located(reg, exc)) from exc
    try:
        return resolve_registrations(declared, settings)
    except _ERRORS as exc:
        raise _by_label(declared.all(), exc) from exc


def _by_label(regs: Sequence[_Registration], exc: BaseException) -> ProjectError:
    text = str(exc)
    matches = [r for r in regs if r.label in text]
    if matches:
        return _located(max(matches, key=lambda r: len(r.label)), exc)
    return ProjectError(project_message(exc))


def check_project(project: Project) -> None:
    """Raise :class:`ProjectError` for the first handler or adapter that cannot be wired."""
    app, settings = project.app.describe(project.settings), project.settings
    regs = _resolve(project, app.registrations)
    shutdown = asyncio.Event()
    injectables = Injectables(
        settings=settings,
        settings_class=app.settings_class,
        clock=SystemClock(),
        shutdown_event=shutdown,
        adapters={},
        providers=app.providers,
        init_factory=_checked_init,
    )
    if app.store is not None:
        from cosalette._wiring.stores import DeviceStores
        from cosalette.stores import NullStore

        injectables.stores = DeviceStores(NullStore())
    _check_adapters(project, app, injectables)
    injectables.state = {f.type: _stand_in(f.type, f.type) for f in app.state_factories}
    mqtt = MockMqttClient()
    prefix = topic_root(app.name, settings)
    builder = WiringBuilder(
        injectables=injectables,
        mqtt=mqtt,
        topic_prefix=prefix,
        sleeps=SleepRegistry(shutdown),
        errors=ErrorPublisher(mqtt, prefix),
        health=HealthReporter(mqtt, prefix, app.version, injectables.clock),
    )
    try:
        builder.build(regs, run_periodic=True)
    except _ERRORS as exc:
        error = _by_label(regs.all(), exc)
        if app.store is None and "DeviceStore" in str(exc) and project.store_section is not None:
            hint = (
                f'{project.settings_path.name} has [store] backend = "none"; '
                f"choose json, sqlite or memory"
            )
            error = ProjectError(f"{error}; {hint}", file=error.file, line=error.line)
        raise error from exc


def _check_adapters(project: Project, app: AppDescription, injectables: Injectables) -> None:
    """Check each adapter factory's parameters by type and give its port a stand-in."""
    for port, entry in app.adapters.items():
        impl = entry.chosen(app.dry_run)
        owner = f"adapter for {type_label(port)}"
        try:
            _check_factory(impl, injectables.for_adapters(), owner)
        except _ERRORS as exc:
            module = project.modules.get(getattr(impl, "__module__", ""))
            hint = getattr(module, "__file__", None)
            file, line = location_of(impl, hint) if not isinstance(impl, str) else (None, None)
            raise ProjectError(project_message(exc), file=file, line=line) from exc
        injectables.replace_adapter(port, _stand_in(impl, port))
