"""In-memory MQTT adapters: ``MockMqttClient`` for tests, ``NullMqttClient`` for no broker."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from cosalette._json import dumps
from cosalette._mqtt.port import MessageCallback

logger = logging.getLogger(__name__)


@dataclass
class MockMqttClient:
    """Records publishes and subscriptions; ``deliver()`` simulates inbound messages."""

    published: list[tuple[str, str, bool, int]] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)
    raise_on_publish: Exception | None = None
    _callbacks: list[MessageCallback] = field(default_factory=list, repr=False)

    @property
    def publish_count(self) -> int:
        """Number of recorded publishes."""
        return len(self.published)

    @property
    def subscribe_count(self) -> int:
        """Number of recorded subscriptions."""
        return len(self.subscriptions)

    async def publish(
        self,
        topic: str,
        payload: str | dict[str, Any],
        *,
        retain: bool = False,
        qos: int = 1,
    ) -> None:
        """Record a publish, or raise ``raise_on_publish`` when it is set."""
        if self.raise_on_publish is not None:
            raise self.raise_on_publish
        if not isinstance(payload, str):
            payload = dumps(payload)
        self.published.append((topic, payload, retain, qos))

    async def subscribe(self, topic: str) -> None:
        """Record a subscription."""
        self.subscriptions.append(topic)

    async def unsubscribe(self, topic: str) -> None:
        """Forget a recorded subscription."""
        if topic in self.subscriptions:
            self.subscriptions.remove(topic)

    def retained_messages(self) -> dict[str, str]:
        """The latest retained payload published on each topic (empty ones clear it)."""
        latest: dict[str, str] = {}
        for topic, payload, retain, _ in self.published:
            if retain:
                if payload:
                    latest[topic] = payload
                else:
                    latest.pop(topic, None)
        return latest

    def on_message(self, callback: MessageCallback) -> None:
        """Register an inbound-message callback."""
        self._callbacks.append(callback)

    async def deliver(self, topic: str, payload: str) -> None:
        """Simulate an inbound message by awaiting every callback."""
        for callback in self._callbacks:
            await callback(topic, payload)

    def reset(self) -> None:
        """Clear recorded data, callbacks and failure injection."""
        self.published.clear()
        self.subscriptions.clear()
        self._callbacks.clear()
        self.raise_on_publish = None

    def get_messages_for(self, topic: str) -> list[tuple[str, bool, int]]:
        """Return ``(payload, retain, qos)`` for every publish on *topic*."""
        return [(p, r, q) for t, p, r, q in self.published if t == topic]


@dataclass
class NullMqttClient:
    """Discards everything; for running without a broker."""

    async def publish(
        self,
        topic: str,
        payload: str | dict[str, Any],
        *,
        retain: bool = False,
        qos: int = 1,
    ) -> None:
        """Discard a publish."""
        logger.debug("NullMqttClient.publish(%s) discarded", topic)

    async def subscribe(self, topic: str) -> None:
        """Discard a subscription."""
        logger.debug("NullMqttClient.subscribe(%s) discarded", topic)

    def on_message(self, callback: MessageCallback) -> None:
        """Accept and ignore a callback; nothing ever arrives."""
