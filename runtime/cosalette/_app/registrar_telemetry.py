"""Registering telemetry: ``@telemetry`` and ``add_telemetry`` with their many options."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cosalette._app.registrar_base import F, RegistrarBase, _resolve_name
from cosalette._app.registration import (
    EnabledSpec,
    IntervalSpec,
    NameSpec,
    TimeoutSpec,
    _TelemetryRegistration,
    normalise_interval,
    validate_handler,
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
from cosalette._di.plan import callable_label


class TelemetryRegistrar(RegistrarBase):
    """``telemetry`` and ``add_telemetry``: one validation path for both."""

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
