"""Validating telemetry's coping and scheduling options at registration: one place, one wording.

``retry=``/``retry_on=``/``backoff=``, ``circuit_breaker=``, ``timeout=``, ``schedule=``,
``triggerable=`` and ``group=`` are checked here, so a mistake fails at import time with the
handler named, not at 3 a.m. when the sensor first fails.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, NamedTuple

from cosalette._app.registration import NameSpec, normalise_interval
from cosalette._di.plan import InjectionPlan, type_label

if TYPE_CHECKING:
    from cosalette._cron import CronSchedule

__all__ = [
    "UNSET",
    "RetryOptions",
    "as_cron",
    "check_breaker",
    "check_retry",
    "check_schedule",
    "check_timeout",
    "check_trigger_and_group",
    "check_trigger_params",
]


class _Unset:
    """``timeout=`` omitted: the interval for interval telemetry, none for cron (at start)."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class RetryOptions(NamedTuple):
    """What ``retry=``, ``retry_on=`` and ``backoff=`` amount to."""

    retry: int
    retry_on: tuple[type[BaseException], ...]
    backoff: Any


def check_retry(retry: Any, retry_on: Any, backoff: Any, owner: str) -> RetryOptions:
    """``retry`` ≥ 0; with retries, ``retry_on`` defaults to OSError and ``backoff`` to
    exponential (2 s doubling, at most 60 s)."""
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
        raise ValueError(f"{owner}: retry= must be an int >= 0 (extra attempts), got {retry!r}")
    if retry == 0:
        if retry_on or backoff is not None:
            raise ValueError(f"{owner}: retry_on= and backoff= need retry= > 0")
        return RetryOptions(0, (), None)
    if retry_on is None:
        retry_on = (OSError,)
    if not isinstance(retry_on, tuple):
        retry_on = (retry_on,) if isinstance(retry_on, type) else tuple(retry_on)
    if not retry_on:
        raise ValueError(f"{owner}: retry= > 0 with retry_on=() would never retry")
    for exc in retry_on:
        if not (isinstance(exc, type) and issubclass(exc, BaseException)):
            raise TypeError(f"{owner}: retry_on= takes exception classes, got {exc!r}")
    if backoff is None:
        from cosalette._retry import ExponentialBackoff

        backoff = ExponentialBackoff(base=2.0, max_delay=60.0)
    elif not callable(getattr(backoff, "delay", None)):
        raise TypeError(
            f"{owner}: backoff= must have delay(attempt) -> seconds, such as "
            f"ExponentialBackoff(), LinearBackoff() or FixedBackoff(); got {backoff!r}"
        )
    return RetryOptions(retry, retry_on, backoff)


def check_breaker(breaker: Any, owner: str) -> Any:
    """A circuit breaker has ``should_attempt``, ``record_success`` and ``record_failure``."""
    needed = ("should_attempt", "record_success", "record_failure")
    if breaker is not None and not all(callable(getattr(breaker, n, None)) for n in needed):
        raise TypeError(
            f"{owner}: circuit_breaker= must be a CircuitBreaker(threshold=...), got {breaker!r}"
        )
    return breaker


def check_timeout(timeout: Any, owner: str) -> Any:
    """Seconds, a timedelta, ``setting_ref`` or a callable; None disables; omitted is UNSET."""
    if timeout is UNSET or timeout is None:
        return timeout
    return normalise_interval(timeout, what="timeout", owner=owner)


def check_schedule(
    schedule: Any,
    schedule_spec: Any,
    *,
    interval: Any,
    name_spec: NameSpec | None,
    owner: str,
) -> Any:
    """A cron string (parsed now), a CronSchedule, or a per-device callable (``name=`` callable)."""
    if schedule is not None and schedule_spec is not None:
        raise ValueError(f"{owner}: give schedule= or schedule_spec=, not both")
    value = schedule if schedule is not None else schedule_spec
    if value is None:
        if interval is None:
            raise ValueError(
                f"{owner}: interval= (seconds between polls) or schedule= (cron) is required"
            )
        return None
    if interval is not None and interval != 0.0:
        raise ValueError(f"{owner}: interval= and schedule= are mutually exclusive; give one")
    parsed = as_cron(value, owner)
    if parsed is not None:
        return parsed
    if callable(value):
        if inspect.iscoroutinefunction(value):
            raise TypeError(f"{owner}: a schedule= callable must be synchronous")
        if name_spec is None:
            raise ValueError(
                f"{owner}: a schedule= callable gets each device's config, so it needs a "
                f"name= callable (dict-name form); give a cron string for a single device"
            )
        return value
    raise TypeError(
        f"{owner}: schedule= takes a Quartz cron string ('0 0 6 * * ?'), a CronSchedule or a "
        f"callable of the device config; got {value!r}"
    )


def as_cron(value: Any, owner: str) -> CronSchedule | None:
    """A cron string parsed (a ValueError names the field), a CronSchedule as it is, else None."""
    from cosalette._cron import CronSchedule

    if isinstance(value, str):
        try:
            return CronSchedule(value)
        except ValueError as exc:
            raise ValueError(f"{owner}: schedule= {exc}") from None
    return value if isinstance(value, CronSchedule) else None


def check_trigger_and_group(
    *, triggerable: bool, group: Any, schedule: Any, is_root: bool, owner: str
) -> None:
    """Triggers need a named device; a group needs an interval and no triggers."""
    if not isinstance(triggerable, bool):
        raise TypeError(f"{owner}: triggerable= takes True or False, got {triggerable!r}")
    if triggerable and is_root:
        raise ValueError(
            f"{owner}: triggerable=True requires a named device (name= must be set): a root "
            f"device has no topic of its own to trigger"
        )
    if group is None:
        return
    if not isinstance(group, str) or not group.strip():
        raise ValueError(f"{owner}: group= must be a non-empty name, got {group!r}")
    if triggerable:
        raise ValueError(f"{owner}: triggerable=True and group= cannot be combined")
    if schedule is not None:
        raise ValueError(f"{owner}: group= needs interval=; a coalescing group has no schedule=")


def check_trigger_params(plan: InjectionPlan, owner: str) -> None:
    """A typed trigger payload is ``None`` on scheduled runs, so it must be Optional."""
    for param in plan.params:
        if param.kind == "payload" and param.model is not None and not param.optional:
            raise TypeError(
                f"{owner}: parameter '{param.name}' gets the trigger payload, which is None on "
                f"scheduled runs: annotate it "
                f"Annotated[{type_label(param.model)} | None, Payload()]"
            )
        if param.kind == "topic":
            raise TypeError(f"{owner}: parameter '{param.name}': telemetry has no inbound topic")
