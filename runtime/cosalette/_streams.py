"""Push-to-pull bridge: hardware callbacks feed a Stream that handlers consume with async for."""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, Literal, Protocol, TypeVar, get_args, runtime_checkable

__all__ = ["BackpressurePolicy", "Stream", "StreamHandlerProxy", "StreamablePort"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

BackpressurePolicy = Literal["raise", "drop_newest", "drop_oldest"]
"""What :meth:`Stream.put` does when a bounded stream is full."""

_POLICIES: tuple[str, ...] = get_args(BackpressurePolicy)


@runtime_checkable
class StreamablePort(Protocol[T_co]):
    """Contract for hardware ports that push data through a callback instead of being polled.

    The stream runner awaits ``open``, registers ``Stream.put`` as the callback, awaits
    ``start_scan``, and on the way out awaits ``stop_scan`` then ``close``.
    """

    async def open(self) -> None:
        """Open the hardware connection."""
        ...

    async def close(self) -> None:
        """Close the hardware connection and release its resources."""
        ...

    async def start_scan(self) -> None:
        """Begin emitting data (start a scan or polling loop)."""
        ...

    async def stop_scan(self) -> None:
        """Stop emitting data without closing the connection."""
        ...

    def register_callback(self, cb: Callable[[T_co], None]) -> None:
        """Register *cb*, a non-blocking sync callable invoked with every inbound item."""
        ...


class Stream(Generic[T]):
    """Async iterator fed by sync :meth:`put` calls, bridging hardware callbacks to ``async for``.

    ``maxsize=0`` is unbounded; otherwise *backpressure* decides what a full stream does.
    :meth:`shutdown` ends iteration at once and discards whatever is still queued.
    """

    def __init__(
        self,
        *,
        maxsize: int = 0,
        backpressure: BackpressurePolicy = "raise",
        thread_safe: bool = False,
    ) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 0:
            msg = f"maxsize must be an int >= 0, got {maxsize!r}"
            raise ValueError(msg)
        if backpressure not in _POLICIES:
            msg = f"backpressure must be one of {', '.join(_POLICIES)}; got {backpressure!r}"
            raise ValueError(msg)
        self._maxsize = maxsize
        self._backpressure = backpressure
        self._thread_safe = thread_safe
        self._items: collections.deque[T] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False
        self.dropped = 0
        """Items discarded because the stream was full (``drop_newest``/``drop_oldest``)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        if thread_safe:
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:
                msg = "Stream(thread_safe=True) must be created inside a running event loop"
                raise RuntimeError(msg) from None
            self._loop_thread = threading.get_ident()

    @property
    def closed(self) -> bool:
        """True once :meth:`shutdown` has been called."""
        return self._closed

    def qsize(self) -> int:
        """Number of items waiting to be consumed."""
        return len(self._items)

    def put(self, item: T) -> None:
        """Push *item* without blocking; with ``thread_safe=True`` any thread may call it.

        A full bounded stream raises :exc:`asyncio.QueueFull` (``"raise"``; on the loop thread
        in thread-safe mode), drops *item* (``"drop_newest"``) or evicts the oldest item
        (``"drop_oldest"``). Items put after shutdown are discarded.
        """
        if self._loop is None or threading.get_ident() == self._loop_thread:
            self._enqueue(item)  # on the loop thread: no self-pipe write per item
            return
        try:
            self._loop.call_soon_threadsafe(self._enqueue, item)
        except RuntimeError:  # the loop is closed: nobody is left to consume the item
            logger.debug("Stream loop is closed, dropping item")

    def _enqueue(self, item: T) -> None:
        """Apply the backpressure policy and wake one waiting consumer; runs on the loop thread."""
        if self._closed:
            logger.debug("Stream is shut down, dropping item")
            return
        if self._maxsize and len(self._items) >= self._maxsize:
            if self._backpressure == "raise":
                msg = f"Stream is full ({self._maxsize} items)"
                raise asyncio.QueueFull(msg)
            self.dropped += 1
            if self._backpressure == "drop_newest":
                logger.debug("Stream full (%d), dropping newest item", self._maxsize)
                return
            logger.debug("Stream full (%d), dropping oldest item", self._maxsize)
            self._items.popleft()
        self._items.append(item)
        self._wake_one()

    def _wake_one(self) -> None:
        """Resolve the oldest still-pending waiter, skipping ones whose consumer was cancelled."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def shutdown(self) -> None:
        """End iteration now, discarding queued items; idempotent.

        Call it from the loop thread; a thread-safe stream also accepts it from other threads.
        """
        if (
            self._loop is not None
            and threading.get_ident() != self._loop_thread
            and not self._loop.is_closed()
        ):
            self._loop.call_soon_threadsafe(self._shutdown_now)
            return
        self._shutdown_now()

    def _shutdown_now(self) -> None:
        """Mark the stream closed, drop queued items and wake every waiting consumer."""
        self._closed = True
        self._items.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def __aiter__(self) -> Stream[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._items:
                return self._items.popleft()
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                # A put may have picked this waiter just before the cancel: pass the wake on.
                if waiter.done() and not waiter.cancelled() and self._items:
                    self._wake_one()
                raise

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._items)} queued"
        return f"Stream(maxsize={self._maxsize}, backpressure={self._backpressure!r}, {state})"


P = TypeVar("P")
LIFECYCLE = frozenset({"open", "close", "start_scan", "stop_scan"})


class StreamHandlerProxy(Generic[P]):
    """A stream port as a handler may use it: everything but the lifecycle the runtime owns.

    Attribute reads go to the wrapped port (``proxy.set_led(...)``, ``proxy.battery``);
    ``open``, ``close``, ``start_scan`` and ``stop_scan`` raise :exc:`AttributeError`, so a
    handler that would open or stop its own port fails loudly in tests. Give it to a handler
    automatically to a stream handler that asks for its port's own class.
    """

    __slots__ = ("_port",)

    def __init__(self, port: P) -> None:
        object.__setattr__(self, "_port", port)

    @property
    def wrapped(self) -> P:
        """The port itself (for test assertions)."""
        port: P = object.__getattribute__(self, "_port")
        return port

    def __getattr__(self, name: str) -> Any:
        if name in LIFECYCLE:
            raise AttributeError(
                f"{name}() belongs to the runtime: a stream handler must not open, close, "
                f"start or stop its port"
            )
        return getattr(object.__getattribute__(self, "_port"), name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(object.__getattribute__(self, "_port"), name, value)

    def __repr__(self) -> str:
        return f"StreamHandlerProxy({object.__getattribute__(self, '_port')!r})"
