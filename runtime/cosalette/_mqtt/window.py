"""The publish window of one broker session: up to ``PUBLISH_WINDOW`` QoS>0 publishes await
their PUBACK at once, each in a task; a publish that fails goes back to the front of the outbox,
in its original order, and so does everything unacknowledged when the session ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from cosalette._mqtt.outbox import Outbox, OutboxEntry

if TYPE_CHECKING:
    import aiomqtt

__all__ = ["PUBLISH_WINDOW", "PublishWindow"]

logger = logging.getLogger("cosalette._mqtt.client")

PUBLISH_WINDOW = 64
"""How many QoS>0 publishes may await their PUBACK at the same time."""


class PublishWindow:
    """Moves the outbox into a session's client, keeping the window full and the order kept."""

    def __init__(self, outbox: Outbox, on_requeued: Callable[[], None]) -> None:
        self.outbox = outbox
        self._on_requeued = on_requeued  # the outbox may have dropped messages: log it
        self._inflight: dict[asyncio.Task[None], tuple[int, OutboxEntry]] = {}
        self._failed: list[tuple[int, OutboxEntry]] = []
        self._seq = 0
        self._wake = asyncio.Event()

    @property
    def has_room(self) -> bool:
        """Whether another publish may go out before a PUBACK comes back."""
        return len(self._inflight) < PUBLISH_WINDOW

    @property
    def unsent(self) -> int:
        """Messages queued, in flight or waiting to be sent again."""
        return len(self.outbox) + len(self._inflight) + len(self._failed)

    def wake(self) -> None:
        """Tell :meth:`run` the outbox has something new."""
        self._wake.set()

    def dispatch(self, client: aiomqtt.Client, entry: OutboxEntry) -> None:
        """Hand *entry* to the client without waiting; the PUBACK is awaited in a task."""
        self._seq += 1
        task = asyncio.create_task(
            client.publish(entry.topic, entry.payload, qos=entry.qos, retain=entry.retain)
        )
        self._inflight[task] = (self._seq, entry)
        task.add_done_callback(self._on_published)

    def _on_published(self, task: asyncio.Task[None]) -> None:
        item = self._inflight.pop(task, None)
        self._wake.set()
        if item is None or task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        import aiomqtt

        if isinstance(exc, aiomqtt.MqttError):
            logger.debug("MQTT publish to %s failed (%s); will retry", item[1].topic, exc)
            self._failed.append(item)
        else:
            logger.error("MQTT publish to %s dropped: %r", item[1].topic, exc)

    async def run(self, client: aiomqtt.Client) -> None:
        """Move the outbox into *client* for as long as the session lasts (cancel to end)."""
        while True:
            if self._failed:
                self.requeue()
            while self.outbox and self.has_room:
                self.dispatch(client, self.outbox.popleft())
            self._wake.clear()
            await self._wake.wait()

    def requeue(self, *, inflight: bool = False) -> None:
        """Put failed (with *inflight*: also unacknowledged) publishes back in front, in order."""
        items, self._failed = self._failed, []
        if inflight:
            for task, item in self._inflight.items():
                task.cancel()
                items.append(item)
            self._inflight.clear()
        if items:
            self.outbox.requeue(entry for _, entry in sorted(items, key=lambda i: i[0]))
            self._on_requeued()

    async def flush(self, budget: float, connected: Callable[[], bool]) -> None:
        """Wait up to *budget* seconds for everything unsent to be acknowledged, while
        *connected* says the session is still there."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        while connected() and self.unsent:
            remaining = deadline - loop.time()
            if remaining <= 0:
                logger.warning("Stopping with %d MQTT message(s) unsent", self.unsent)
                return
            if self._inflight:
                await asyncio.wait(set(self._inflight), timeout=remaining)
            else:
                self._wake.set()
                await asyncio.sleep(0.005)
