"""`cosactl remove --clear-retained`: clear a device's retained messages on the project's broker.

Cleared (an empty retained message each): everything retained under ``<root>/<name>/``
(state, availability, error, sub-topics) and every Home Assistant discovery config under this
bridge's node whose topics point there. Found by subscribing, then publishing a marker to a
topic we are subscribed to: when the marker comes back, the broker has sent every retained
message (no waiting for a quiet moment).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiomqtt

    from cosalette._settings import Settings

SCAN_TIMEOUT = 10.0  # seconds for the marker to come back before giving up


class BrokerError(Exception):
    """The broker could not be reached, or did not answer the scan."""


@dataclass(frozen=True)
class Found:
    """The retained topics of one device: its own, and its discovery configs."""

    device: tuple[str, ...]
    discovery: tuple[str, ...]

    @property
    def topics(self) -> tuple[str, ...]:
        return self.device + self.discovery


def _points_at(payload: bytes, base: str) -> bool:
    """Whether a discovery config's state, command or availability topic is under *base*."""
    try:
        config = json.loads(payload)
    except ValueError:
        return False
    if not isinstance(config, dict):
        return False
    topics: list[Any] = [config.get(k) for k in ("state_topic", "command_topic")]
    topics.append(config.get("availability_topic"))
    availability = config.get("availability")
    if isinstance(availability, list):
        topics += [a.get("topic") for a in availability if isinstance(a, dict)]
    return any(isinstance(t, str) and t.startswith(base) for t in topics)


async def _scan(client: aiomqtt.Client, filters: list[str], marker: str) -> dict[str, bytes]:
    """Every non-empty retained message on *filters*, until our marker comes back."""
    nonce = secrets.token_hex(8)
    for topic in [*filters, marker]:
        await client.subscribe(topic, qos=1)
    await client.publish(marker, nonce, qos=1, retain=False)
    found: dict[str, bytes] = {}
    async for message in client.messages:
        payload = message.payload
        data = payload if isinstance(payload, bytes) else str(payload or "").encode()
        topic = message.topic.value
        if topic == marker:
            if data.decode("utf-8", errors="replace") == nonce:
                return found
        elif message.retain and data:
            found[topic] = data
    raise BrokerError("the broker closed the connection during the scan")


async def clear_retained(
    settings: Settings, app_name: str, name: str, *, pretend: bool = False
) -> Found:
    """Find (and unless *pretend*, clear) the retained messages of device *name*."""
    import aiomqtt

    from cosalette._mqtt.nodes import broker_nodes
    from cosalette._mqtt.tool_client import tool_client
    from cosalette._schema.ha_discovery import slug
    from cosalette._topics import probe_topic, topic_root

    root = topic_root(app_name, settings)
    base = f"{root}/{name}/"
    ha = settings.homeassistant.prefix
    configs = f"{ha}/+/{slug(root)}/+/config"
    try:
        node = broker_nodes(settings.mqtt)[0]
        client = tool_client(settings.mqtt, "remove", node=node)
    except ValueError as exc:
        raise BrokerError(str(exc)) from None
    where = str(node)
    try:
        async with client:
            messages = await asyncio.wait_for(
                _scan(client, [f"{root}/{name}/#", configs], probe_topic(root)),
                SCAN_TIMEOUT,
            )
            device = tuple(sorted(t for t in messages if t.startswith(base) or t == base[:-1]))
            discovery = tuple(
                sorted(
                    t
                    for t, payload in messages.items()
                    if t not in device and _points_at(payload, base)
                )
            )
            if not pretend:
                for topic in (*device, *discovery):
                    await client.publish(topic, b"", qos=1, retain=True)
    except aiomqtt.MqttError as exc:
        raise BrokerError(f"cannot reach the broker at {where}: {exc}") from None
    except TimeoutError:
        raise BrokerError(
            f"the broker at {where} did not answer within {SCAN_TIMEOUT:.0f} s"
        ) from None
    return Found(device, discovery)
