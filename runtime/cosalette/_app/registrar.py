"""The decorators and ``add_*`` methods shared by App and Router: one validation path."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cosalette._app.registration import (
    DeclaredRegistrations,
    EnabledSpec,
    IntervalSpec,
    NameSpec,
    RegistrationSet,
    TimeoutSpec,
    _CommandRegistration,
    _DeviceRegistration,
    _PeriodicRegistration,
    _Registration,
    _StreamRegistration,
    _TelemetryRegistration,
    as_tuple,
    check_unique,
    normalise_interval,
    not_supported,
    validate_handler,
    validate_init,
    validate_name,
)
from cosalette._app.telemetry_options import (
    UNSET,
    check_breaker,
    check_retry,
    check_schedule,
    check_timeout,
    check_trigger_and_group,
    check_trigger_params,
)
from cosalette._di.plan import build_plan, callable_label

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


class Registrar:
    """Registration decorators; App and Router both inherit them."""

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

    # --- telemetry ---------------------------------------------------------------------

    def telemetry(
        self,
        name: str | NameSpec | None = None,
        *,
        interval: IntervalSpec | None = None,
        schedule: Any = None,
        schedule_spec: Any = None,
        publish: Any = None,
        persist: Any = None,
        init: Callable[..., Any] | None = None,
        enabled: EnabledSpec = True,
        group: str | None = None,
        triggerable: bool = False,
        retry: int = 0,
        retry_on: tuple[type[BaseException], ...] | None = None,
        backoff: Any = None,
        circuit_breaker: Any = None,
        timeout: TimeoutSpec | None = UNSET,
        summary: str | None = None,
        behavior: Sequence[str] | None = None,
        effects: Sequence[str] | None = None,
        state_model: Any = None,
        payload_model: Any = None,
        tags: Sequence[str] | None = None,
    ) -> Callable[[F], F]:
        """Register a polled device: its returned dict is published on ``{base}/state``."""
        options = dict(locals())
        del options["self"], options["name"]
        return self._decorate(name, "telemetry", self._register_telemetry, options)

    def add_telemetry(
        self,
        name: str | NameSpec,
        func: Callable[..., Any],
        *,
        interval: IntervalSpec | None = None,
        **options: Any,
    ) -> None:
        """Register an existing function as telemetry (always a named device)."""
        if name is None:
            raise ValueError("add_telemetry() needs a device name; root devices need the decorator")
        resolved, _, spec = _resolve_name(name, func)
        self._register_telemetry(
            resolved, func, is_root=False, name_spec=spec, interval=interval, **options
        )

    def _register_telemetry(
        self,
        name: str,
        func: Callable[..., Any],
        *,
        is_root: bool,
        name_spec: NameSpec | None,
        interval: IntervalSpec | None,
        enabled: EnabledSpec = True,
        init: Callable[..., Any] | None = None,
        publish: Any = None,
        schedule: Any = None,
        schedule_spec: Any = None,
        persist: Any = None,
        group: str | None = None,
        triggerable: bool = False,
        retry: int = 0,
        retry_on: tuple[type[BaseException], ...] | None = None,
        backoff: Any = None,
        circuit_breaker: Any = None,
        timeout: Any = UNSET,
        **meta: Any,
    ) -> None:
        owner = f"telemetry '{name}' ({callable_label(func)})"
        if enabled is False:
            return
        validate_handler(func, archetype="telemetry")
        if name_spec is None:
            validate_name(name, owner)
        cron = check_schedule(
            schedule, schedule_spec, interval=interval, name_spec=name_spec, owner=owner
        )
        spec = (
            0.0 if cron is not None else normalise_interval(interval, what="interval", owner=owner)
        )
        check_trigger_and_group(
            triggerable=triggerable, group=group, schedule=cron, is_root=is_root, owner=owner
        )
        retrying = check_retry(retry, retry_on, backoff, owner)
        if publish is not None and not hasattr(publish, "should_publish"):
            raise TypeError(
                f"{owner}: publish= must be a publish strategy "
                "such as OnChange() or Every(seconds=30)"
            )
        if persist is not None and not callable(getattr(persist, "should_save", None)):
            raise TypeError(
                f"{owner}: persist= must be a save policy such as SaveOnChange(), "
                f"SaveOnPublish() or SaveOnShutdown() (combine them with | and &)"
            )
        common = self._common(name, func, owner, init, is_root, enabled, name_spec, meta)
        check_trigger_params(common["plan"], owner)
        reg = _TelemetryRegistration(
            **common,
            interval=spec,
            publish=publish,
            persist=persist,
            retry=retrying.retry,
            retry_on=retrying.retry_on,
            backoff=retrying.backoff,
            circuit_breaker=check_breaker(circuit_breaker, owner),
            timeout=check_timeout(timeout, owner),
            group=group,
            schedule=cron,
            triggerable=triggerable,
        )
        self._add(reg, self._regs.telemetry)

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

    # --- command -----------------------------------------------------------------------

    def command(
        self,
        name: str | NameSpec | None = None,
        *,
        init: Callable[..., Any] | None = None,
        enabled: EnabledSpec = True,
        sub: str | None = None,
        sub_key: str = "command",
        unavailable_on: tuple[type[BaseException], ...] | None = None,
        timeout: TimeoutSpec | None = 30.0,
        summary: str | None = None,
        behavior: Sequence[str] | None = None,
        effects: Sequence[str] | None = None,
        state_model: Any = None,
        payload_model: Any = None,
        tags: Sequence[str] | None = None,
    ) -> Callable[[F], F]:
        """Register a handler for ``{base}/set``; a returned dict is published as state."""
        options = dict(locals())
        del options["self"], options["name"]
        return self._decorate(name, "command", self._register_command, options)

    def add_command(self, name: str | NameSpec, func: Callable[..., Any], **options: Any) -> None:
        """Register an existing function as a command handler (a named device)."""
        is_root = bool(options.pop("is_root", False))
        resolved, _, spec = _resolve_name(name, func)
        self._register_command(resolved, func, is_root=is_root, name_spec=spec, **options)

    def _register_command(
        self,
        name: str,
        func: Callable[..., Any],
        *,
        is_root: bool,
        name_spec: NameSpec | None,
        init: Callable[..., Any] | None = None,
        enabled: EnabledSpec = True,
        sub: str | None = None,
        sub_key: str = "command",
        unavailable_on: tuple[type[BaseException], ...] | None = None,
        timeout: TimeoutSpec | None = 30.0,
        **meta: Any,
    ) -> None:
        owner = f"command '{name}' ({callable_label(func)})"
        if enabled is False:
            return
        validate_handler(func, archetype="command")
        if name_spec is None:
            validate_name(name, owner)
        if sub is not None:
            validate_name(sub, owner)
        if timeout is not None:
            timeout = normalise_interval(timeout, what="timeout", owner=owner)
        for exc in unavailable_on or ():
            if not (isinstance(exc, type) and issubclass(exc, BaseException)):
                raise TypeError(f"{owner}: unavailable_on= takes exception classes, got {exc!r}")
        common = self._common(
            name, func, owner, init, is_root, enabled, name_spec, meta, by_name=_COMMAND_PARAMS
        )
        reg = _CommandRegistration(
            **common,
            sub=sub,
            sub_key=sub_key,
            unavailable_on=tuple(unavailable_on or ()),
            timeout=timeout,
        )
        self._add(reg, self._regs.commands)

    # --- device ------------------------------------------------------------------------

    def device(
        self,
        name: str | NameSpec | None = None,
        *,
        init: Callable[..., Any] | None = None,
        enabled: EnabledSpec = True,
        summary: str | None = None,
        behavior: Sequence[str] | None = None,
        effects: Sequence[str] | None = None,
        state_model: Any = None,
        payload_model: Any = None,
        tags: Sequence[str] | None = None,
    ) -> Callable[[F], F]:
        """Register a device that owns its loop (coroutine or async generator)."""
        options = dict(locals())
        del options["self"], options["name"]
        return self._decorate(name, "device", self._register_device, options)

    def add_device(self, name: str | NameSpec, func: Callable[..., Any], **options: Any) -> None:
        """Register an existing function as a device (a named device)."""
        resolved, _, spec = _resolve_name(name, func)
        self._register_device(resolved, func, is_root=False, name_spec=spec, **options)

    def _register_device(
        self,
        name: str,
        func: Callable[..., Any],
        *,
        is_root: bool,
        name_spec: NameSpec | None,
        init: Callable[..., Any] | None = None,
        enabled: EnabledSpec = True,
        **meta: Any,
    ) -> None:
        owner = f"device '{name}' ({callable_label(func)})"
        if enabled is False:
            return
        validate_handler(func, archetype="device", allow_generator=True)
        if name_spec is None:
            validate_name(name, owner)
        common = self._common(name, func, owner, init, is_root, enabled, name_spec, meta)
        self._add(_DeviceRegistration(**common), self._regs.devices)

    # --- periodic ----------------------------------------------------------------------

    def periodic(
        self,
        name: str,
        *,
        interval: IntervalSpec,
        enabled: EnabledSpec = True,
        init: Callable[..., Any] | None = None,
        summary: str | None = None,
        behavior: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Callable[[F], F]:
        """Register background work that runs every *interval* seconds (sleeping first)."""
        _reject_bare(name, "periodic")

        def decorator(func: F) -> F:
            self._register_periodic(
                name, func, interval=interval, enabled=enabled, init=init, summary=summary,
                behavior=behavior, tags=tags,
            )  # fmt: skip
            return func

        return decorator

    def add_periodic(
        self,
        name: str,
        func: Callable[..., Any],
        *,
        interval: IntervalSpec,
        enabled: bool = True,
        init: Callable[..., Any] | None = None,
        summary: str | None = None,
        behavior: Sequence[str] | None = None,
    ) -> None:
        """Register an existing coroutine function as a periodic task."""
        if not isinstance(enabled, bool):
            raise TypeError("add_periodic(enabled=) takes a bool; use @periodic for a callable")
        self._register_periodic(
            name, func, interval=interval, enabled=enabled, init=init, summary=summary,
            behavior=behavior,
        )  # fmt: skip

    def _register_periodic(
        self,
        name: str,
        func: Callable[..., Any],
        *,
        interval: IntervalSpec,
        enabled: EnabledSpec,
        init: Callable[..., Any] | None,
        **meta: Any,
    ) -> None:
        owner = f"periodic '{name}' ({callable_label(func)})"
        if enabled is False:
            return
        validate_handler(func, archetype="periodic")
        validate_name(name, owner)
        spec = normalise_interval(interval, what="interval", owner=owner)
        common = self._common(name, func, owner, init, False, enabled, None, meta)
        self._add(_PeriodicRegistration(**common, interval=spec), self._regs.periodic)

    # --- not yet supported -------------------------------------------------------------

    def stream(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """Streams are specified but not supported yet."""
        raise not_supported("@app.stream (streams)", type(self).__name__)

    def state(self, *args: Any, **kwargs: Any) -> Any:
        """Shared state is the App's: a Router cannot declare it."""
        raise TypeError("@router.state: shared state belongs to the App; use @app.state")

    def react(self, *args: Any, **kwargs: Any) -> Any:
        """Reactors watch the App's shared state: a Router cannot declare them."""
        raise TypeError("@router.react: reactors belong to the App; use @app.react")
