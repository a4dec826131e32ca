"""Running a stream: open the port, hand it the stream's ``put``, consume items, close it.

The port's callback may come from any thread (the stream is thread-safe). ``stop_scan`` and
then ``close`` run on the way out even when ``open`` failed. Reactors run after each item the
handler yields and once when it completes; a handler that fails is restarted by the supervisor
like any device task (its error is published).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cosalette._context import DeviceContext
from cosalette._streams import Stream

if TYPE_CHECKING:
    from cosalette._wiring.reactions import BoundReactors

__all__ = ["StreamRunner"]

logger = logging.getLogger("cosalette")


class StreamRunner:
    """One stream: its port, its ``Stream[T]``, its handler."""

    def __init__(
        self,
        *,
        name: str,
        func: Callable[..., Any],
        kwargs: dict[str, object],
        stream_param: str,
        maxsize: int,
        backpressure: Any,
        port: Any,
        ctx: DeviceContext,
        reactors: BoundReactors | None = None,
    ) -> None:
        self.name = name
        self._func = func
        self._kwargs = kwargs
        self._stream_param = stream_param
        self._maxsize = maxsize
        self._backpressure = backpressure
        self._port = port
        self._ctx = ctx
        self._reactors = reactors
        self.stream: Stream[Any] | None = None
        self.dropped = 0

    def stop(self) -> None:
        """End the handler's ``async for`` (shutdown)."""
        if self.stream is not None:
            self.stream.shutdown()

    async def run(self) -> None:
        """Open, scan, consume until the stream ends; stop and close in every case."""
        stream = self.stream
        if stream is None or stream.closed:  # a restart keeps what arrived meanwhile
            stream = Stream(
                maxsize=self._maxsize, backpressure=self._backpressure, thread_safe=True
            )
            self.stream = stream
        if self._ctx.shutdown_requested:
            return
        port = self._port
        try:
            await port.open()
            port.register_callback(stream.put)
            await port.start_scan()
            await self.consume(stream)
        finally:
            for step in ("stop_scan", "close"):
                try:
                    await getattr(port, step)()
                except Exception:
                    logger.exception("Stream '%s': the port's %s() failed", self.name, step)

    async def consume(self, stream: Stream[Any]) -> None:
        """Run the handler over *stream* until it ends, with reactors; no port involved.

        ``run`` calls it once the port is scanning; ``AppHarness.inject_stream`` calls it directly.
        """
        result = self._func(**{**self._kwargs, self._stream_param: stream})
        if inspect.isawaitable(result):
            result = await result
        if result is None:
            return
        if not hasattr(result, "__aiter__"):
            raise TypeError(
                f"stream '{self.name}': the handler must be an async generator (yield after "
                f"each item) or return an async iterable, got {type(result).__name__}"
            )
        reactors = self._reactors
        async for _ in result:
            if reactors:
                await reactors.dispatch()
        if reactors:
            await reactors.dispatch()
