"""The telemetry loop: call, publish by strategy, isolate errors, sleep."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from cosalette._context import DeviceContext
from cosalette._persistence import DeviceStore
from cosalette._runners.payloads import to_state
from cosalette._runners.reporting import DeviceReporting
from cosalette._save_policies import PersistPolicy

logger = logging.getLogger("cosalette")


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
        store: DeviceStore | None = None,
        persist: PersistPolicy | None = None,
    ) -> None:
        self._func = func
        self._kwargs = kwargs  # shared with the wiring, so a restarted adapter is re-bound
        self._ctx = ctx
        self._interval = interval
        self._strategy = strategy
        self._reporting = reporting
        self._label = label
        self._store = store
        self._persist = persist if store is not None else None
        self.cycles = 0

    async def run(self) -> None:
        """Poll every interval; the first result is always published; save as *persist* says."""
        func, kwargs, ctx, strategy = self._func, self._kwargs, self._ctx, self._strategy
        publish, sleep, interval = ctx.publish_state, ctx.sleep, self._interval
        store, persist = self._store, self._persist
        last: dict[str, object] | None = None
        last_error: type[BaseException] | None = None
        while not ctx.shutdown_requested:
            self.cycles += 1
            try:
                result = await func(**kwargs)
                published = False
                if result is not None:
                    if type(result) is not dict:
                        result = to_state(result, self._label)
                    if last is None or strategy is None or strategy.should_publish(result, last):
                        await publish(result)
                        last = result
                        published = True
                        if strategy is not None:
                            strategy.on_published()
                    if last_error is not None:
                        last_error = None
                        self._reporting.recovered(self._label)
                if (
                    persist is not None
                    and store is not None
                    and persist.should_save(store, published)
                ):
                    save_quietly(store, self._label)
            except Exception as exc:
                if type(exc) is not last_error:
                    last_error = type(exc)
                    await self._reporting.error(exc, what=self._label)
            await sleep(interval)


def save_quietly(store: DeviceStore, label: str) -> None:
    """Save *store*; a failing backend is logged, never a handler error (the next save retries)."""
    try:
        store.save()
    except Exception:
        logger.exception("%s: saving its store failed", label)
