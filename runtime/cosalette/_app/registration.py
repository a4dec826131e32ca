"""Frozen registration records and the validation every entry point shares."""

from __future__ import annotations

import asyncio
import datetime
import inspect
import logging
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from cosalette._clock import ClockPort
from cosalette._context import AppContext, DeviceContext
from cosalette._di.plan import InjectionPlan, build_plan, callable_label
from cosalette._names import validate_mqtt_name
from cosalette._settings import SettingRef, Settings

if TYPE_CHECKING:
    from cosalette._cron import CronSchedule

IntervalSpec = float | int | datetime.timedelta | SettingRef | Callable[[Settings], float]
EnabledSpec = bool | Callable[[Settings], bool]
NameSpec = Callable[[Settings], Any]
TimeoutSpec = float | int | datetime.timedelta | SettingRef | Callable[[Settings], float]

DEFAULT_COMMAND_TIMEOUT = 30.0


class NotSupportedYetError(NotImplementedError):
    """Kept for programs that catch it: every specified feature is built, so nothing raises it."""


@dataclass(frozen=True)
class _Registration:
    """Fields every registration has."""

    name: str
    func: Callable[..., Any]
    plan: InjectionPlan
    init: Callable[..., Any] | None = None
    init_plan: InjectionPlan | None = None
    is_root: bool = False
    enabled: EnabledSpec = True
    name_spec: NameSpec | None = None
    config: Any = None
    prefix: str | None = None
    tags: tuple[str, ...] = ()
    summary: str | None = None
    behavior: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    state_model: Any = None
    payload_model: Any = None

    @property
    def label(self) -> str:
        """Human name for messages: archetype, device name and function."""
        kind = type(self).__name__.strip("_").removesuffix("Registration").removeprefix("Resolved")
        kind = kind.lower()
        return f"{kind} '{self.name}' ({callable_label(self.func)})"


@dataclass(frozen=True)
class _TelemetryRegistration(_Registration):
    """A polled device whose return value is published as state."""

    interval: IntervalSpec = 0.0
    publish: Any = None
    persist: Any = None
    retry: int = 0
    retry_on: tuple[type[BaseException], ...] | None = None
    backoff: Any = None
    circuit_breaker: Any = None
    timeout: TimeoutSpec | None = None
    group: str | None = None
    schedule: Any = None
    triggerable: bool = False


@dataclass(frozen=True)
class _CommandRegistration(_Registration):
    """A handler for ``{base}/set`` whose returned dict is published as state."""

    sub: str | None = None
    sub_key: str = "command"
    unavailable_on: tuple[type[BaseException], ...] = ()
    timeout: TimeoutSpec | None = DEFAULT_COMMAND_TIMEOUT


@dataclass(frozen=True)
class _DeviceRegistration(_Registration):
    """A coroutine or async generator that owns its loop."""


@dataclass(frozen=True)
class _PeriodicRegistration(_Registration):
    """Background work on an interval, with no MQTT presence."""

    interval: IntervalSpec = 0.0


@dataclass(frozen=True)
class _StreamRegistration(_Registration):
    """A handler consuming a ``Stream[T]`` that a ``StreamablePort[T]`` adapter feeds."""

    maxsize: int = 0
    backpressure: str = "drop_newest"
    item_type: Any = None
    stream_param: str = ""

    @property
    def port_key(self) -> Any:
        """The adapter key of the port that feeds this stream: ``StreamablePort[T]``."""
        from cosalette._streams import StreamablePort

        return StreamablePort[self.item_type]  # type: ignore[name-defined]


# --- resolved registrations: what one run uses, after settings load (ADR-020) -------------
# Subclasses without a dataclass decorator of their own: the fields and methods are the
# declared type's (creating dataclasses costs start-up time); only the types are narrower.


class ResolvedTelemetry(_TelemetryRegistration):
    """A telemetry registration for one run: a concrete device, its interval in seconds."""

    if TYPE_CHECKING:
        interval: float
        timeout: float | None
        schedule: CronSchedule | None


class ResolvedCommand(_CommandRegistration):
    """A command registration for one run: a concrete device, its timeout in seconds."""

    if TYPE_CHECKING:
        timeout: float | None


class ResolvedDevice(_DeviceRegistration):
    """A device registration for one run: a concrete device."""


class ResolvedStream(_StreamRegistration):
    """A stream registration for one run."""


class ResolvedPeriodic(_PeriodicRegistration):
    """A periodic registration for one run: its interval in seconds."""

    if TYPE_CHECKING:
        interval: float


R = TypeVar("R", bound=_Registration)


def resolved_as(cls: type[R], reg: _Registration, **changes: Any) -> R:
    """*reg*'s fields as an instance of *cls*, with *changes* applied."""
    values = {f.name: getattr(reg, f.name) for f in fields(reg)}
    values.update(changes)
    return cls(**values)


FRAMEWORK_TYPES: tuple[type, ...] = (
    Settings,
    DeviceContext,
    AppContext,
    logging.Logger,
    ClockPort,
    asyncio.Event,
)


def normalise_interval(value: Any, *, what: str, owner: str) -> IntervalSpec:
    """Accept a number, timedelta, SettingRef or callable; numbers must be > 0."""
    if isinstance(value, bool):
        raise TypeError(f"{owner}: {what} must be a number of seconds, not a bool")
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError(f"{owner}: {what} must be > 0 seconds, got {value}")
        return float(value)
    if isinstance(value, SettingRef) or callable(value):
        return value  # type: ignore[no-any-return]
    raise TypeError(
        f"{owner}: {what} must be seconds (float), a timedelta, setting_ref('field') "
        f"or a callable of the settings; got {value!r}"
    )


def resolve_interval(
    value: IntervalSpec | None, settings: Settings, *, what: str, owner: str
) -> float:
    """Resolve a deferred interval against *settings* (ADR-020) and validate it."""
    if value is None:
        raise ValueError(f"{owner}: {what} is required")
    if isinstance(value, SettingRef):
        resolved: Any = value.resolve(settings)
    elif callable(value) and not isinstance(value, int | float | datetime.timedelta):
        resolved = value(settings)
    else:
        resolved = value
    result = normalise_interval(resolved, what=what, owner=owner)
    if not isinstance(result, float):
        raise TypeError(f"{owner}: {what} resolved to {resolved!r}, not a number of seconds")
    return result


def validate_handler(func: Any, *, archetype: str, allow_generator: bool = False) -> None:
    """Handlers are async functions (devices may also be async generators)."""
    if inspect.iscoroutinefunction(func):
        return
    if allow_generator and inspect.isasyncgenfunction(func):
        return
    kinds = "an async function or async generator" if allow_generator else "an async function"
    raise TypeError(f"@{archetype} handler {callable_label(func)} must be {kinds} (async def)")


def validate_init(init: Any, owner: str) -> InjectionPlan:
    """``init=`` is a synchronous factory whose product is not a framework type."""
    if not callable(init):
        raise TypeError(f"{owner}: init= must be a callable, got {init!r}")
    if inspect.iscoroutinefunction(init) or inspect.isasyncgenfunction(init):
        raise TypeError(f"{owner}: init= must be synchronous; async init callbacks are not allowed")
    plan = build_plan(init, owner=f"{owner} init={callable_label(init)}")
    returns = _return_type(init)
    if isinstance(returns, type) and issubclass_safe(returns, FRAMEWORK_TYPES):
        raise TypeError(
            f"{owner}: init= returns {returns.__qualname__}, a type the framework already "
            f"provides; wrap it in a class of your own"
        )
    return plan


def _return_type(func: Any) -> Any:
    """The resolved return annotation of *func* (string annotations included), or None."""
    try:
        return typing.get_type_hints(func).get("return")
    except Exception:
        return None


def issubclass_safe(cls: type, bases: tuple[type, ...]) -> bool:
    """issubclass that tolerates Protocols and odd classes."""
    for base in bases:
        try:
            if issubclass(cls, base):
                return True
        except TypeError:
            continue
    return False


def check_init_product(product: object, owner: str) -> None:
    """Reject an init product of a framework type (the guard for un-annotated factories)."""
    if isinstance(product, (Settings, DeviceContext, AppContext, logging.Logger, asyncio.Event)):
        raise TypeError(
            f"{owner}: init= returned a {type(product).__qualname__}, a type the framework "
            f"already provides; wrap it in a class of your own"
        )


def validate_name(name: str, owner: str) -> str:
    """A device name is one non-empty topic segment without + # / or NUL."""
    try:
        return validate_mqtt_name(name, what="Device name")
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{owner}: {exc}") from None


def as_tuple(value: Sequence[str] | None) -> tuple[str, ...]:
    """Metadata lists are stored as tuples."""
    return tuple(value) if value else ()


D = TypeVar("D", bound=_DeviceRegistration, covariant=True)
T = TypeVar("T", bound=_TelemetryRegistration, covariant=True)
C = TypeVar("C", bound=_CommandRegistration, covariant=True)
P = TypeVar("P", bound=_PeriodicRegistration, covariant=True)


class Registrations(NamedTuple, Generic[D, T, C, P]):
    """Every registration of an app or router by archetype, in declaration order (immutable)."""

    devices: tuple[D, ...] = ()
    telemetry: tuple[T, ...] = ()
    commands: tuple[C, ...] = ()
    periodic: tuple[P, ...] = ()
    streams: tuple[_StreamRegistration, ...] = ()

    def all(self) -> tuple[_Registration, ...]:
        """Every registration."""
        return (*self.devices, *self.telemetry, *self.commands, *self.periodic, *self.streams)


DeclaredRegistrations = Registrations[
    _DeviceRegistration, _TelemetryRegistration, _CommandRegistration, _PeriodicRegistration
]
"""What an app or router declares: intervals and names may still be deferred."""

ResolvedRegistrations = Registrations[
    ResolvedDevice, ResolvedTelemetry, ResolvedCommand, ResolvedPeriodic
]
"""What one run uses: enabled registrations, names expanded, intervals in seconds."""


@dataclass
class RegistrationSet:
    """The lists a registrar (App or Router) appends to while it is being declared."""

    devices: list[_DeviceRegistration] = field(default_factory=list)
    telemetry: list[_TelemetryRegistration] = field(default_factory=list)
    commands: list[_CommandRegistration] = field(default_factory=list)
    periodic: list[_PeriodicRegistration] = field(default_factory=list)
    streams: list[_StreamRegistration] = field(default_factory=list)

    def all(self) -> list[_Registration]:
        """Every registration."""
        return [*self.devices, *self.telemetry, *self.commands, *self.periodic, *self.streams]

    def freeze(self) -> DeclaredRegistrations:
        """An immutable copy."""
        return Registrations(
            tuple(self.devices),
            tuple(self.telemetry),
            tuple(self.commands),
            tuple(self.periodic),
            tuple(self.streams),
        )


def check_unique(
    new: _Registration, regs: RegistrationSet | Registrations[Any, Any, Any, Any]
) -> None:
    """Reject duplicate names and a second root device; commands may share a name by sub=."""
    for other in regs.all():
        if new.is_root and other.is_root and not _same_command_group(new, other):
            raise ValueError(
                f"{new.label}: an app can have only one root (unnamed) device; "
                f"{other.label} is already the root device"
            )
        if other.name == new.name and not _same_command_group(new, other):
            raise ValueError(
                f"{new.label}: the name '{new.name}' is already registered by {other.label}"
            )


def _same_command_group(a: _Registration, b: _Registration) -> bool:
    if not (isinstance(a, _CommandRegistration) and isinstance(b, _CommandRegistration)):
        return False
    if a.sub is None or b.sub is None:
        return False
    if a.sub == b.sub and a.sub_key == b.sub_key:
        raise ValueError(f"{a.label}: sub-command {a.sub!r} is already handled by {b.label}")
    return True
