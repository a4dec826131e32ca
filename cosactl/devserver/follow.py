"""Reading a broker for the views of ``cosactl dev`` and ``cosactl watch``: subscribe, feed
every message into a view, reconnect, and report each change of the connection once.
Only subscribes: nothing here ever publishes.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    import aiomqtt

    from cosactl.devserver.live import PlainView

__all__ = ["ClientFactory", "Link", "MessageSink", "SubscriptionRefused", "follow", "observe"]


class SubscriptionRefused(Exception):
    """The broker refused the subscription (its ACL): retrying would not help."""

    def __init__(self, topic: str, where: str, reason: str) -> None:
        super().__init__(
            f"the MQTT broker at {where} refused the subscription to {topic}: {reason}"
        )
        self.topic = topic


class MessageSink(Protocol):
    """What :func:`follow` feeds: a view (or anything with ``message``)."""

    def message(self, topic: str, payload: str, retain: bool) -> None:
        """One message on the subscription."""


ClientFactory = Callable[[], "tuple[aiomqtt.Client, str]"]
"""A fresh, unentered client for the next attempt and the ``host:port`` it connects to."""


@dataclass(frozen=True)
class Link:
    """A change of :func:`follow`'s connection, reported once per change.

    ``connected`` (subscribed), ``unreachable`` (the first failed attempt of an outage that
    began before any session) or ``lost`` (the session ended; *error* says why).
    """

    kind: Literal["connected", "unreachable", "lost"]
    where: str
    error: Exception | None = None


def _text(payload: object) -> str:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload).decode("utf-8", errors="replace")
    return "" if payload is None else str(payload)


async def follow(
    sink: MessageSink,
    connect: ClientFactory,
    *,
    topic: str,
    on_link: Callable[[Link], None],
    retry: Callable[[int], float] = lambda attempt: 1.0,
) -> None:
    """Subscribe to *topic* and feed every message into *sink*, reconnecting until cancelled.

    Only subscribes: nothing is ever published. *on_link* hears of each connect and of the
    first failure of each outage (not of every retry); *retry* gives the delay before attempt
    *n* (0, 1, ...) of an outage. A refused subscription raises :class:`SubscriptionRefused`.
    """
    import aiomqtt

    from cosalette._mqtt.diagnosis import reason_text, subscription_refused

    attempt = 0
    had_session = False
    while True:
        client, where = connect()
        try:
            async with client:
                granted = await client.subscribe(topic, qos=1)
                codes = list(granted) if isinstance(granted, list | tuple) else [granted]
                if any(subscription_refused(code) for code in codes):
                    raise SubscriptionRefused(topic, where, reason_text(codes[0]))
                attempt, had_session = 0, True
                on_link(Link("connected", where))
                async for message in client.messages:
                    sink.message(message.topic.value, _text(message.payload), message.retain)
            raise aiomqtt.MqttError("the broker ended the session")
        except aiomqtt.MqttError as exc:
            if attempt == 0:
                on_link(Link("lost" if had_session else "unreachable", where, exc))
            had_session = False
            await asyncio.sleep(retry(attempt))
            attempt += 1


async def observe(
    view: PlainView,
    host: str,
    port: int,
    *,
    username: str | None = None,
    password: str | None = None,
) -> None:
    """Feed every message under the view's prefix into it, reconnecting until cancelled."""
    import aiomqtt

    identifier = f"cosactl-dev-{secrets.token_hex(4)}"

    def connect() -> tuple[aiomqtt.Client, str]:
        client = aiomqtt.Client(
            host, port, identifier=identifier, username=username, password=password
        )
        return client, f"{host}:{port}"

    def on_link(link: Link) -> None:
        if link.error is not None:
            view.problem(f"live view: cannot read {link.where} ({link.error}); retrying")

    await follow(view, connect, topic=f"{view.board.prefix}/#", on_link=on_link)
