"""The telemetry loop: call, publish by strategy, isolate errors, sleep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cosalette._context import DeviceContext
from cosalette._runners.payloads import to_state
from cosalette._runners.reporting import DeviceReporting


class TelemetryRunner:
    """Runs one telemetry device until shutdown."""

    def __init__(
        self,
        *,
        func: Callable[..., Any],
        kwargs: dict[str, object],
        ctx: DeviceContext,
        interval: float,
        strategy: Any,
        reporting: DeviceReporting,
        label: str,
    ) -> None:
        self._func = func
        self._kwargs = kwargs  # shared with the wiring, so a restarted adapter is re-bound
        self._ctx = ctx
        self._interval = interval
        self._strategy = strategy
        self._reporting = reporting
        self._label = label
        self.cycles = 0

    async def run(self) -> None:
        """Poll every interval; the first result is always published."""
        func, kwargs, ctx, strategy = self._func, self._kwargs, self._ctx, self._strategy
        publish, sleep, interval = ctx.publish_state, ctx.sleep, self._interval
        last: dict[str, object] | None = None
        last_error: type[BaseException] | None = None
        while not ctx.shutdown_requested:
            self.cycles += 1
            try:
                result = await func(**kwargs)
                if result is not None:
                    if type(result) is not dict:
                        result = to_state(result, self._label)
                    if last is None or strategy is None or strategy.should_publish(result, last):
                        await publish(result)
                        last = result
                        if strategy is not None:
                            strategy.on_published()
                    if last_error is not None:
                        last_error = None
                        self._reporting.recovered(self._label)
            except Exception as exc:
                if type(exc) is not last_error:
                    last_error = type(exc)
                    await self._reporting.error(exc, what=self._label)
            await sleep(interval)
