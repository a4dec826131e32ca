"""The MQTT port: the one interface through which the runtime talks to a broker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

MessageCallback = Callable[[str, str], Awaitable[None]]
"""Async callback receiving ``(topic, payload)`` for each inbound message."""


@runtime_checkable
class MqttPort(Protocol):
    """Publish and subscribe; dict payloads are serialised as compact JSON."""

    async def publish(
        self,
        topic: str,
        payload: str | dict[str, Any],
        *,
        retain: bool = False,
        qos: int = 1,
    ) -> None:
        """Publish *payload* on *topic*."""
        ...

    async def subscribe(self, topic: str) -> None:
        """Subscribe to *topic* (kept across reconnects by real clients)."""
        ...


@runtime_checkable
class MqttLifecycle(Protocol):
    """Adapters that connect and disconnect (the real client) implement this."""

    async def start(self) -> None:
        """Start connecting in the background."""
        ...

    async def stop(self) -> None:
        """Disconnect and release resources; idempotent."""
        ...


@runtime_checkable
class MqttMessageHandler(Protocol):
    """Adapters that deliver inbound messages implement this."""

    def on_message(self, callback: MessageCallback) -> None:
        """Register *callback* for every inbound message."""
        ...


@dataclass(frozen=True)
class WillConfig:
    """Last will: what the broker publishes when the client vanishes."""

    topic: str
    payload: str = "offline"
    qos: int = 1
    retain: bool = True
