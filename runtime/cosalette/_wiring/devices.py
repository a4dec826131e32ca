"""Binding registrations to contexts, injected arguments and runners for one run."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cosalette._app.registration import (
    RegistrationSet,
    _CommandRegistration,
    _Registration,
    _return_type,
    check_init_product,
)
from cosalette._clock import ClockPort
from cosalette._context import AppContext, DeviceContext
from cosalette._di.adapters import call_injected
from cosalette._di.plan import InjectionPlan, bind, logger_for
from cosalette._errors import ErrorPublisher
from cosalette._health import HealthReporter
from cosalette._mqtt.port import MqttPort
from cosalette._runners.command import (
    BoundCommand,
    CommandEntity,
    DeviceCommands,
    payload_params_for,
)
from cosalette._runners.periodic import PeriodicRunner
from cosalette._runners.reporting import DeviceReporting
from cosalette._runners.telemetry import TelemetryRunner
from cosalette._settings import Settings
from cosalette._shutdown import SleepRegistry


@dataclass
class DeviceUnit:
    """One device at run time: its context, reporting and whatever runs it."""

    name: str
    is_root: bool
    ctx: DeviceContext
    reporting: DeviceReporting
    kind: str
    telemetry: TelemetryRunner | None = None
    commands: CommandEntity | None = None
    device_commands: DeviceCommands | None = None
    device_func: Any = None
    device_kwargs: dict[str, object] = field(default_factory=dict)
    adapters_used: tuple[Any, ...] = ()


@dataclass
class Wiring:
    """Everything a run needs, built before anything starts."""

    units: list[DeviceUnit]
    periodic: list[PeriodicRunner]


class WiringBuilder:
    """Builds contexts and binds handler arguments; raises before any task starts."""

    def __init__(
        self,
        *,
        settings: Settings,
        settings_class: type[Settings],
        mqtt: MqttPort,
        topic_prefix: str,
        shutdown_event: asyncio.Event,
        adapters: dict[Any, object],
        clock: ClockPort,
        sleeps: SleepRegistry,
        errors: ErrorPublisher,
        health: HealthReporter,
    ) -> None:
        self.settings = settings
        self.settings_class = settings_class
        self.mqtt = mqtt
        self.prefix = topic_prefix
        self.shutdown_event = shutdown_event
        self.adapters = adapters
        self.clock = clock
        self.sleeps = sleeps
        self.errors = errors
        self.health = health
        self.extra: dict[Any, object] = {}

    def base_providers(self, name: str) -> dict[Any, object]:
        """Framework-provided values every handler may ask for."""
        providers: dict[Any, object] = {
            Settings: self.settings,
            self.settings_class: self.settings,
            type(self.settings): self.settings,
            ClockPort: self.clock,
            type(self.clock): self.clock,
            logging.Logger: logger_for(name),
            asyncio.Event: self.shutdown_event,
        }
        providers.update(self.adapters)
        for key, value in self.extra.items():
            providers[key] = value
        return providers

    def _context(self, name: str, is_root: bool) -> DeviceContext:
        return DeviceContext(
            name=name,
            settings=self.settings,
            mqtt=self.mqtt,
            topic_prefix=self.prefix,
            shutdown_event=self.shutdown_event,
            adapters=self.adapters,
            clock=self.clock,
            is_root=is_root,
            _sleeps=self.sleeps,
        )

    def _providers_for(self, reg: _Registration, ctx: DeviceContext | None) -> dict[Any, object]:
        providers = self.base_providers(reg.name)
        if ctx is not None:
            providers[DeviceContext] = ctx
        if reg.config is not None:
            providers[type(reg.config)] = reg.config
        if reg.init is not None:
            product = call_injected(reg.init, providers, owner=f"{reg.label} init=")
            check_init_product(product, reg.label)
            providers[type(product)] = product
            returns = _return_type(reg.init)
            if isinstance(returns, type):
                providers[returns] = product
        return providers

    def _bind(
        self, plan: InjectionPlan, providers: Mapping[Any, object], reg: _Registration
    ) -> dict[str, object]:
        return bind(plan, providers, owner=reg.label)

    def _reporting(self, name: str, is_root: bool) -> DeviceReporting:
        return DeviceReporting(name, is_root, self.errors, self.health, logger_for(name))

    def _adapters_used(self, plan: InjectionPlan) -> tuple[Any, ...]:
        return tuple(p.annotation for p in plan.injected() if p.annotation in self.adapters)

    def build(self, regs: RegistrationSet, *, run_periodic: bool) -> Wiring:
        """Bind every registration; InjectionError names the handler and parameter."""
        units: list[DeviceUnit] = []
        for reg in regs.telemetry:
            ctx = self._context(reg.name, reg.is_root)
            kwargs = self._bind(reg.plan, self._providers_for(reg, ctx), reg)
            strategy = copy.deepcopy(reg.publish) if reg.publish is not None else None
            if strategy is not None and hasattr(strategy, "_bind"):
                strategy._bind(self.clock)
            reporting = self._reporting(reg.name, reg.is_root)
            runner = TelemetryRunner(
                func=reg.func,
                kwargs=kwargs,
                ctx=ctx,
                interval=float(reg.interval),  # type: ignore[arg-type]
                strategy=strategy,
                reporting=reporting,
                label=reg.label,
            )
            units.append(
                DeviceUnit(
                    reg.name,
                    reg.is_root,
                    ctx,
                    reporting,
                    "telemetry",
                    telemetry=runner,
                    adapters_used=self._adapters_used(reg.plan),
                )
            )
        units.extend(self._command_units(regs.commands))
        for dev in regs.devices:
            ctx = self._context(dev.name, dev.is_root)
            kwargs = self._bind(dev.plan, self._providers_for(dev, ctx), dev)
            reporting = self._reporting(dev.name, dev.is_root)
            units.append(
                DeviceUnit(
                    dev.name,
                    dev.is_root,
                    ctx,
                    reporting,
                    "device",
                    device_commands=DeviceCommands(ctx=ctx, reporting=reporting),
                    device_func=dev.func,
                    device_kwargs=kwargs,
                    adapters_used=self._adapters_used(dev.plan),
                )
            )
        periodic = [self.periodic_runner(reg) for reg in regs.periodic] if run_periodic else []
        return Wiring(units=units, periodic=periodic)

    def periodic_runner(self, reg: _Registration) -> PeriodicRunner:
        """A runner for one periodic registration (also used by tick_periodic)."""
        kwargs = self._bind(reg.plan, self._providers_for(reg, None), reg)
        ctx = self._context(reg.name, False)
        return PeriodicRunner(
            name=reg.name,
            func=reg.func,
            kwargs=kwargs,
            interval=float(reg.interval),  # type: ignore[attr-defined]
            sleep=ctx.sleep,
            shutdown_event=self.shutdown_event,
        )

    def _command_units(self, regs: list[_CommandRegistration]) -> list[DeviceUnit]:
        groups: dict[str, list[_CommandRegistration]] = {}
        for reg in regs:
            groups.setdefault(reg.name, []).append(reg)
        units: list[DeviceUnit] = []
        for name, group in groups.items():
            is_root = group[0].is_root
            ctx = self._context(name, is_root)
            bound: list[BoundCommand] = []
            used: list[Any] = []
            for reg in group:
                payload_params, topic_params = payload_params_for(reg)
                skip = {p.name for p in payload_params}
                plan = InjectionPlan(
                    reg.plan.func, tuple(p for p in reg.plan.params if p.name not in skip)
                )
                kwargs = self._bind(plan, self._providers_for(reg, ctx), reg)
                timeout = float(reg.timeout) if reg.timeout is not None else None  # type: ignore[arg-type]
                bound.append(BoundCommand(reg, kwargs, payload_params, topic_params, timeout))
                used.extend(self._adapters_used(reg.plan))
            reporting = self._reporting(name, is_root)
            entity = CommandEntity(ctx=ctx, handlers=bound, reporting=reporting, health=self.health)
            units.append(
                DeviceUnit(
                    name,
                    is_root,
                    ctx,
                    reporting,
                    "command",
                    commands=entity,
                    adapters_used=tuple(dict.fromkeys(used)),
                )
            )
        return units


def app_context(settings: Settings, adapters: dict[Any, object]) -> AppContext:
    """The lifespan's context."""
    return AppContext(settings=settings, adapters=adapters)
