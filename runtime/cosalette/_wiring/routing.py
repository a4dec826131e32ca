"""Inbound messages: which topics a run subscribes to, and which device each message is for.

Commands go to their entity's queue, triggers to the device's trigger slot, ``@device``
commands (and sub-commands) to the device; oversized or binary input is reported as bad input
and never reaches a handler. Routing never waits for a handler.
"""

from __future__ import annotations

from cosalette._runners.payloads import InvalidPayloadError, PayloadTooLargeError
from cosalette._topics import DeviceTopics, set_topic_targets
from cosalette._wiring.builder import DeviceUnit, Wiring

__all__ = ["InboundRouter"]


class InboundRouter:
    """The routing table of one run."""

    def __init__(self, wiring: Wiring, max_payload_bytes: int) -> None:
        self._limit = max_payload_bytes
        self._routes: dict[str, DeviceUnit] = {}  # exact <base>/set topics
        self._device_routes: dict[str, DeviceUnit] = {}  # @device bases (+ sub-commands)
        for unit in wiring.units:
            topics = DeviceTopics(unit.ctx.topic_base)
            if unit.commands is not None or unit.triggers is not None:
                self._routes[topics.set] = unit
            elif unit.device_commands is not None:
                self._device_routes[topics.base] = unit

    def topics(self) -> list[str]:
        """Every topic this run subscribes to."""
        topics = list(self._routes)
        for base in self._device_routes:
            device = DeviceTopics(base)
            topics += [device.set, device.sub_commands]
        return topics

    async def deliver(self, topic: str, payload: str) -> None:
        """Route one inbound message to its device; never blocks on the handler."""
        unit = self._routes.get(topic)
        sub: str | None = None
        if unit is None:
            unit, sub = self._device_for(topic)
            if unit is None:
                return
        limit = self._limit
        if len(payload) * 4 > limit and len(payload.encode()) > limit:
            size = len(payload.encode())
            exc = PayloadTooLargeError(
                f"payload of {size} bytes on {topic} exceeds mqtt.max_payload_bytes ({limit})"
            )
            await unit.reporting.bad_input(exc, topic=topic)
        elif unit.commands is not None:
            unit.commands.submit(topic, payload)
        elif unit.triggers is not None:
            if "\ufffd" in payload or "\x00" in payload:  # bytes that are not UTF-8 text
                bad = InvalidPayloadError("trigger payload is binary, not UTF-8 text")
                await unit.reporting.bad_input(bad, topic=topic)
            else:
                unit.triggers.put(payload)
        elif unit.device_commands is not None:
            unit.device_commands.submit(topic, payload, sub)

    def _device_for(self, topic: str) -> tuple[DeviceUnit | None, str | None]:
        for base, sub in set_topic_targets(topic):
            unit = self._device_routes.get(base)
            if unit is not None:
                return unit, sub
        return None, None
