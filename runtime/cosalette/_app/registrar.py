"""The decorators and ``add_*`` methods shared by App and Router: one validation path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cosalette._app.registrar_base import _COMMAND_PARAMS, F, _reject_bare, _resolve_name
from cosalette._app.registrar_telemetry import TelemetryRegistrar
from cosalette._app.registration import (
    EnabledSpec,
    IntervalSpec,
    NameSpec,
    TimeoutSpec,
    _CommandRegistration,
    _DeviceRegistration,
    _PeriodicRegistration,
    _StreamRegistration,
    normalise_interval,
    validate_handler,
    validate_name,
)
from cosalette._app.stream_options import check_stream
from cosalette._di.plan import callable_label


class Registrar(TelemetryRegistrar):
    """Registration decorators; App and Router both inherit them (telemetry in its own module)."""

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

    # --- stream ------------------------------------------------------------------------

    def stream(
        self,
        name: str | None = None,
        *,
        enabled: EnabledSpec = True,
        maxsize: int = 0,
        backpressure: str = "drop_newest",
        summary: str | None = None,
        behavior: Sequence[str] | None = None,
        effects: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Callable[[F], F]:
        """Register a handler for items a ``StreamablePort[T]`` adapter pushes (``Stream[T]``)."""
        options = dict(locals())
        del options["self"], options["name"]
        return self._decorate(name, "stream", self._register_stream, options)

    def add_stream(self, name: str, func: Callable[..., Any], **options: Any) -> None:
        """Register an existing async generator as a stream handler."""
        self._register_stream(name, func, is_root=False, name_spec=None, **options)

    def _register_stream(
        self,
        name: str,
        func: Callable[..., Any],
        *,
        is_root: bool,
        name_spec: NameSpec | None,
        enabled: EnabledSpec = True,
        maxsize: int = 0,
        backpressure: str = "drop_newest",
        **meta: Any,
    ) -> None:
        owner = f"stream '{name}' ({callable_label(func)})"
        if enabled is False:
            return
        if name_spec is not None:
            raise TypeError(f"{owner}: a stream has one name; name= callables are for devices")
        validate_name(name, owner)
        common = self._common(name, func, owner, None, is_root, enabled, None, meta)
        item_type, param = check_stream(
            func, common["plan"], maxsize=maxsize, backpressure=backpressure, owner=owner
        )
        reg = _StreamRegistration(
            **common,
            maxsize=maxsize,
            backpressure=backpressure,
            item_type=item_type,
            stream_param=param,
        )
        self._add(reg, self._regs.streams)

    def state(self, *args: Any, **kwargs: Any) -> Any:
        """Shared state is the App's: a Router cannot declare it."""
        raise TypeError("@router.state: shared state belongs to the App; use @app.state")

    def react(self, *args: Any, **kwargs: Any) -> Any:
        """Reactors watch the App's shared state: a Router cannot declare them."""
        raise TypeError("@router.react: reactors belong to the App; use @app.react")
