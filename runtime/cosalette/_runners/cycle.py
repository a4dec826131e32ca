"""One telemetry cycle: the pipeline shared by scheduled, triggered and grouped runs.

circuit breaker → arguments (the trigger, if any) → attempts (timeout on the app's clock,
retry with backoff on ``retry_on``) → publish by strategy → save by policy. Only a cycle's final
failure is reported, once per kind of failure until the device succeeds again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cosalette._context import DeviceContext
from cosalette._di.plan import Param
from cosalette._persistence import DeviceStore
from cosalette._runners.payloads import InvalidPayloadError, parse_model, to_state
from cosalette._runners.reporting import DeviceReporting
from cosalette._runners.stepping import run_with_timeout
from cosalette._save_policies import PersistPolicy
from cosalette._topics import DeviceTopics
from cosalette._trigger import TriggerPayload

if TYPE_CHECKING:
    from cosalette._wiring.reactions import BoundReactors

__all__ = ["CycleOptions", "TelemetryCycle", "save_quietly"]

logger = logging.getLogger("cosalette")


def save_quietly(store: DeviceStore, label: str) -> None:
    """Save *store*; a failing backend is logged, never a handler error (the next save retries)."""
    try:
        store.save()
    except Exception:
        logger.exception("%s: saving its store failed", label)


@dataclass
class CycleOptions:
    """How a device copes: retries, backoff, breaker, timeout; what its trigger fills in."""

    retry: int = 0
    retry_on: tuple[type[BaseException], ...] = ()
    backoff: Any = None
    breaker: Any = None
    timeout: float | None = None
    trigger_params: tuple[str, ...] = ()
    payload_params: tuple[Param, ...] = field(default=())
    reactors: BoundReactors | None = None


class TelemetryCycle:
    """Runs one cycle of one telemetry device; keeps what must outlive a cycle."""

    def __init__(
        self,
        *,
        func: Callable[..., Any],
        kwargs: dict[str, object],
        ctx: DeviceContext,
        strategy: Any,
        reporting: DeviceReporting,
        label: str,
        store: DeviceStore | None = None,
        persist: PersistPolicy | None = None,
        options: CycleOptions | None = None,
    ) -> None:
        self._func = func
        self._kwargs = kwargs  # shared with the wiring, so a restarted adapter is re-bound
        self._ctx = ctx
        self._strategy = strategy
        self._reporting = reporting
        self._label = label
        self._store = store
        self._persist = persist if store is not None else None  # so a persist implies a store
        self.options = options or CycleOptions()
        self._last: dict[str, object] | None = None
        self._clock = ctx.clock
        self._publish = ctx.publish_state
        self._last_error: type[BaseException] | None = None
        self.failures = 0  # retryable failures since the last success (the backoff's attempt)
        self._skipped = False  # the breaker skipped a cycle: the heartbeat says circuit_open

    async def run(self, trigger: TriggerPayload | None = None) -> None:
        """One cycle; *trigger* is the MQTT payload of a triggered run (None when scheduled)."""
        options = self.options
        breaker = options.breaker
        if breaker is not None and not breaker.should_attempt():
            logger.warning("%s: circuit open, skipping", self._label)
            self._reporting.health.set_device_status(self._reporting.name, "circuit_open")
            self._skipped = True
            return
        kwargs = self._kwargs
        if options.trigger_params or options.payload_params:
            try:
                kwargs = self._with_trigger(trigger)
            except InvalidPayloadError as exc:  # the handler is not called this cycle
                await self._reporting.bad_input(exc, topic=DeviceTopics(self._ctx.topic_base).set)
                return
        try:
            if options.timeout is None:
                result = await self._func(**kwargs)
            else:
                result = await run_with_timeout(self._func(**kwargs), options.timeout, self._clock)
        except Exception as exc:
            try:
                result = await self._retry(kwargs, exc)
            except _CycleFailed as failed:
                if breaker is not None:
                    breaker.record_failure()
                if type(failed.exc) is not self._last_error:
                    self._last_error = type(failed.exc)
                    await self._reporting.error(failed.exc, what=self._label)
                return
            except _Stopped:
                return
        # success: the common path, kept inline
        self.failures = 0
        if breaker is not None:
            breaker.record_success()
            if self._skipped:
                self._skipped = False
                self._reporting.recovered(self._label)
        published = False
        if result is not None:
            if type(result) is not dict:
                try:
                    result = to_state(result, self._label)
                except Exception as exc:
                    if type(exc) is not self._last_error:
                        self._last_error = type(exc)
                        await self._reporting.error(exc, what=self._label)
                    return
            strategy, last = self._strategy, self._last
            if last is None or strategy is None or strategy.should_publish(result, last):
                await self._publish(result)
                self._last = result
                published = True
                if strategy is not None:
                    strategy.on_published()
            if self._last_error is not None:
                self._last_error = None
                self._reporting.recovered(self._label)
        persist, store = self._persist, self._store
        if persist is not None and store is not None and persist.should_save(store, published):
            save_quietly(store, self._label)
        reactors = self.options.reactors
        if reactors:
            try:
                await reactors.dispatch()
            except Exception as exc:
                if type(exc) is not self._last_error:
                    self._last_error = type(exc)
                    await self._reporting.error(exc, what=f"{self._label} reactor")

    async def _retry(self, kwargs: dict[str, object], first: Exception) -> Any:
        """Attempts after *first* failed: backoff, then again, up to ``retry`` more times."""
        options, ctx = self.options, self._ctx
        exc = first
        attempt = 0
        while True:
            if not options.retry or not isinstance(exc, options.retry_on):
                raise _CycleFailed(exc) from exc
            self.failures += 1
            if attempt >= options.retry:
                logger.warning("%s: retries exhausted (%d/%d)", self._label, attempt, options.retry)
                raise _CycleFailed(exc) from exc
            attempt += 1
            delay = float(options.backoff.delay(self.failures))
            logger.warning(
                "%s: retry %d/%d after %r, backoff %.1fs",
                self._label, attempt, options.retry, exc, max(delay, 0.0),
            )  # fmt: skip
            if delay > 0:
                await ctx.sleep(delay)
            if ctx.shutdown_requested:
                raise _Stopped from exc
            try:
                if options.timeout is None:
                    return await self._func(**kwargs)
                return await run_with_timeout(self._func(**kwargs), options.timeout, self._clock)
            except Exception as again:
                exc = again

    def _with_trigger(self, trigger: TriggerPayload | None) -> dict[str, object]:
        kwargs = dict(self._kwargs)
        payload = trigger if trigger is not None else TriggerPayload.scheduled()
        for name in self.options.trigger_params:
            kwargs[name] = payload
        for param in self.options.payload_params:
            kwargs[param.name] = _typed_payload(param, trigger)
        return kwargs


def _typed_payload(param: Param, trigger: TriggerPayload | None) -> object:
    """``Annotated[Model | None, Payload()]``: None when scheduled, the validated model else."""
    if trigger is None:
        return None
    raw = trigger.raw or ""
    if param.model is None:
        return raw
    return parse_model(raw if raw.strip() else "{}", param.model)


class _CycleFailed(Exception):
    """The cycle ended in *exc* (after any retries)."""

    def __init__(self, exc: Exception) -> None:
        super().__init__(str(exc))
        self.exc = exc


class _Stopped(Exception):
    """Shutdown was requested while the cycle waited to retry."""
