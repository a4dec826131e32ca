"""The wiring builder: binds resolved registrations to contexts, arguments and runners."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cosalette._app.registration import (
    ResolvedCommand,
    ResolvedPeriodic,
    ResolvedRegistrations,
    ResolvedTelemetry,
    _Registration,
    _StreamRegistration,
)
from cosalette._app.shared_state import ReactorRegistration
from cosalette._context import CommandInbox, DeviceContext
from cosalette._di.plan import InjectionError, InjectionPlan, logger_for, type_label
from cosalette._errors import ErrorPublisher
from cosalette._health import HealthReporter
from cosalette._mqtt.port import MqttPort
from cosalette._persistence import DeviceStore
from cosalette._runners.command import (
    BoundCommand,
    CommandEntity,
    DeviceCommands,
    payload_params_for,
)
from cosalette._runners.cycle import CycleOptions, TelemetryCycle, save_quietly
from cosalette._runners.device import run_device
from cosalette._runners.group import GroupRunner
from cosalette._runners.periodic import PeriodicRunner
from cosalette._runners.reporting import DeviceReporting
from cosalette._runners.stream import StreamRunner
from cosalette._runners.telemetry import TelemetryRunner, TriggerSlot
from cosalette._shutdown import SleepRegistry
from cosalette._streams import StreamHandlerProxy
from cosalette._trigger import TriggerPayload
from cosalette._wiring.injectables import Injectables
from cosalette._wiring.reactions import BoundReactors


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
    store: DeviceStore | None = None
    triggers: TriggerSlot | None = None
    reactors: BoundReactors | None = None

    def start_function(self) -> Callable[[], Awaitable[None]] | None:
        """What the supervisor starts (and restarts) for this device: its telemetry loop, or
        its device function (commands reset, store saved when it ends); None for commands."""
        if self.telemetry is not None:
            return self.telemetry.run
        if self.device_func is None:
            return None

        async def start() -> None:
            if self.device_commands is not None:
                self.device_commands.reset()
            try:
                await run_device(self.device_func, self.device_kwargs, self.ctx, self.reactors)
            finally:
                if self.store is not None and self.store.dirty:
                    save_quietly(self.store, f"device '{self.name}'")

        return start


@dataclass
class Wiring:
    """Everything a run needs, built before anything starts."""

    units: list[DeviceUnit]
    periodic: list[PeriodicRunner]
    groups: list[GroupRunner] = field(default_factory=list)
    streams: list[tuple[StreamRunner, DeviceReporting]] = field(default_factory=list)

    def devices_by_adapter(self) -> dict[Any, list[tuple[str, bool]]]:
        """Each adapter port → the devices using it (name, is_root), for its health checks."""
        found: dict[Any, list[tuple[str, bool]]] = {}
        for unit in self.units:
            for port in unit.adapters_used:
                found.setdefault(port, []).append((unit.name, unit.is_root))
        return found


class WiringBuilder:
    """Builds contexts and binds handler arguments; raises before any task starts."""

    def __init__(
        self,
        *,
        injectables: Injectables,
        mqtt: MqttPort,
        topic_prefix: str,
        sleeps: SleepRegistry,
        errors: ErrorPublisher,
        health: HealthReporter,
        reactors: tuple[ReactorRegistration, ...] = (),
    ) -> None:
        self.injectables = injectables
        self.reactors = reactors
        self.mqtt = mqtt
        self.prefix = topic_prefix
        self.sleeps = sleeps
        self.errors = errors
        self.health = health

    @property
    def shutdown_event(self) -> asyncio.Event:
        """The run's shutdown event."""
        return self.injectables.shutdown_event

    def _context(
        self, name: str, is_root: bool, inbox: CommandInbox | None = None
    ) -> DeviceContext:
        return DeviceContext(
            name=name,
            settings=self.injectables.settings,
            mqtt=self.mqtt,
            topic_prefix=self.prefix,
            shutdown_event=self.shutdown_event,
            adapters=self.injectables.adapters,
            clock=self.injectables.clock,
            is_root=is_root,
            _sleeps=self.sleeps,
            inbox=inbox,
        )

    def _bind(
        self,
        plan: InjectionPlan,
        reg: _Registration,
        ctx: DeviceContext | None,
        extra: Mapping[Any, object] | None = None,
    ) -> tuple[dict[str, object], BoundReactors | None]:
        """The handler's arguments, and the reactors its boundary runs (bound alike)."""
        providers = self.injectables.for_handler(reg, ctx)
        providers.update(extra or {})
        kwargs = self.injectables.bind(plan, providers, owner=reg.label)
        if not self.reactors:
            return kwargs, None
        reactors = BoundReactors(self.reactors, self.injectables.state, providers, owner=reg.label)
        return kwargs, reactors

    def _store(self, name: str) -> DeviceStore | None:
        stores = self.injectables.stores
        return stores.for_device(name) if stores is not None else None

    def _reporting(self, name: str, is_root: bool) -> DeviceReporting:
        return DeviceReporting(name, is_root, self.errors, self.health, logger_for(name))

    def _adapters_used(self, plan: InjectionPlan) -> tuple[Any, ...]:
        adapters = self.injectables.adapters
        return tuple(p.annotation for p in plan.injected() if p.annotation in adapters)

    def build(self, regs: ResolvedRegistrations, *, run_periodic: bool) -> Wiring:
        """Bind every registration; InjectionError names the handler and parameter."""
        units: list[DeviceUnit] = []
        groups: dict[str, GroupRunner] = {}
        for reg in regs.telemetry:
            unit = self._telemetry_unit(reg)
            if reg.group is not None and unit.telemetry is not None:
                group = groups.setdefault(
                    reg.group,
                    GroupRunner(reg.group, clock=self.injectables.clock, sleep=unit.ctx.sleep),
                )
                group.add(unit.telemetry.cycle, reg.interval, unit.ctx)
                unit.telemetry = None  # the group's task runs it
            units.append(unit)
        units.extend(self._command_units(regs.commands))
        for dev in regs.devices:
            inbox = CommandInbox()
            ctx = self._context(dev.name, dev.is_root, inbox)
            kwargs, reactors = self._bind(dev.plan, dev, ctx)
            reporting = self._reporting(dev.name, dev.is_root)
            units.append(
                DeviceUnit(
                    dev.name,
                    dev.is_root,
                    ctx,
                    reporting,
                    "device",
                    device_commands=DeviceCommands(ctx=ctx, inbox=inbox, reporting=reporting),
                    device_func=dev.func,
                    device_kwargs=kwargs,
                    adapters_used=self._adapters_used(dev.plan),
                    store=self._store(dev.name),
                    reactors=reactors,
                )
            )
        periodic = [self.periodic_runner(reg) for reg in regs.periodic] if run_periodic else []
        fed: dict[Any, str] = {}
        for stream in regs.streams:  # a port keeps one callback: it can feed one stream
            other = fed.setdefault(stream.port_key, stream.name)
            if other != stream.name:
                raise ValueError(
                    f"{stream.label}: {type_label(stream.port_key)} already feeds stream "
                    f"'{other}'; a port keeps one callback, so give each stream its own port type"
                )
        streams = [self._stream_runner(stream) for stream in regs.streams]
        return Wiring(units=units, periodic=periodic, groups=list(groups.values()), streams=streams)

    def _stream_runner(self, reg: _StreamRegistration) -> tuple[StreamRunner, DeviceReporting]:
        port = self.injectables.adapters.get(reg.port_key)
        if port is None:
            detail = f"{reg.label}: no adapter for {type_label(reg.port_key)}"
            raise InjectionError(
                f"{detail}; register one with "
                f"app.adapter(StreamablePort[{type_label(reg.item_type)}], ...)",
                missing=reg.port_key,
                detail=detail,
            )
        ctx = self._context(reg.name, reg.is_root)
        plan = InjectionPlan(
            reg.plan.func, tuple(p for p in reg.plan.params if p.name != reg.stream_param)
        )
        # the port's own class is injectable, as a proxy without the lifecycle the runner owns
        kwargs, reactors = self._bind(plan, reg, ctx, {type(port): StreamHandlerProxy(port)})
        runner = StreamRunner(
            name=reg.name,
            func=reg.func,
            kwargs=kwargs,
            stream_param=reg.stream_param,
            maxsize=reg.maxsize,
            backpressure=reg.backpressure,
            port=port,
            ctx=ctx,
            reactors=reactors,
        )
        return runner, self._reporting(reg.name, reg.is_root)

    def _telemetry_unit(self, reg: ResolvedTelemetry) -> DeviceUnit:
        ctx = self._context(reg.name, reg.is_root)
        kwargs, reactors = self._bind(reg.plan, reg, ctx)
        strategy = copy.deepcopy(reg.publish) if reg.publish is not None else None
        if strategy is not None and hasattr(strategy, "_bind"):
            strategy._bind(self.injectables.clock)  # noqa: SLF001 - the spec names the hook
        reporting = self._reporting(reg.name, reg.is_root)
        cycle = TelemetryCycle(
            func=reg.func,
            kwargs=kwargs,
            ctx=ctx,
            strategy=strategy,
            reporting=reporting,
            label=reg.label,
            store=self._store(reg.name),
            persist=reg.persist,
            options=CycleOptions(
                retry=reg.retry,
                retry_on=reg.retry_on or (),
                backoff=reg.backoff,
                breaker=copy.deepcopy(reg.circuit_breaker),  # each device its own state
                timeout=reg.timeout,
                trigger_params=tuple(
                    p.name for p in reg.plan.injected() if p.annotation is TriggerPayload
                ),
                payload_params=tuple(p for p in reg.plan.params if p.kind == "payload"),
                reactors=reactors,
            ),
        )
        triggers = TriggerSlot() if reg.triggerable else None
        runner = TelemetryRunner(
            cycle=cycle,
            ctx=ctx,
            interval=reg.interval,
            schedule=reg.schedule,
            triggers=triggers,
        )
        return DeviceUnit(
            reg.name,
            reg.is_root,
            ctx,
            reporting,
            "telemetry",
            telemetry=runner,
            triggers=triggers,
            adapters_used=self._adapters_used(reg.plan),
        )

    def periodic_runner(self, reg: ResolvedPeriodic) -> PeriodicRunner:
        """A runner for one periodic registration (also used by tick_periodic)."""
        kwargs, _ = self._bind(reg.plan, reg, None)
        ctx = self._context(reg.name, False)
        return PeriodicRunner(
            name=reg.name,
            func=reg.func,
            kwargs=kwargs,
            interval=reg.interval,
            sleep=ctx.sleep,
            shutdown_event=self.shutdown_event,
            store=self._store(reg.name),
        )

    def _command_units(self, regs: tuple[ResolvedCommand, ...]) -> list[DeviceUnit]:
        groups: dict[str, list[ResolvedCommand]] = {}
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
                kwargs, reactors = self._bind(plan, reg, ctx)
                bound.append(
                    BoundCommand(reg, kwargs, payload_params, topic_params, reg.timeout, reactors)
                )
                used.extend(self._adapters_used(reg.plan))
            reporting = self._reporting(name, is_root)
            entity = CommandEntity(
                ctx=ctx,
                handlers=bound,
                reporting=reporting,
                health=self.health,
                store=self._store(name),
            )
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
