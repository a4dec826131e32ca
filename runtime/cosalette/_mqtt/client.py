"""Production MQTT adapter on aiomqtt: background connection, reconnect, bounded outbox."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cosalette._json import dumps
from cosalette._mqtt.aiomqtt_fixes import abandon, install_fixes, paho_client
from cosalette._mqtt.connection_log import ConnectionLog, decode_payload
from cosalette._mqtt.diagnosis import (
    DeniedPublishes,
    diagnose,
    reason_text,
    subscription_refused,
)
from cosalette._mqtt.nodes import Failover, broker_nodes, default_client_id
from cosalette._mqtt.outbox import Outbox, OutboxEntry
from cosalette._mqtt.port import MessageCallback, WillConfig
from cosalette._mqtt.reconnect import ReconnectPolicy
from cosalette._mqtt.tls import build_ssl_context
from cosalette._mqtt.window import PUBLISH_WINDOW, PublishWindow

if TYPE_CHECKING:
    import ssl

    import aiomqtt

    from cosalette._settings import MqttSettings

logger = logging.getLogger(__name__)
# paho reports every dropped socket as an ERROR with the errno; this client logs connection
# loss itself (once, as a WARNING), so paho's own lines are kept for DEBUG runs only.
_PAHO_LOGGER = logging.getLogger("cosalette._mqtt.paho")
_PAHO_LOGGER.setLevel(logging.CRITICAL)

ConnectCallback = Callable[[], Awaitable[None]]
"""Async callback run after every (re)connect, before buffered messages are sent."""

_FLUSH_TIMEOUT = 1.0
_DISCONNECT_TIMEOUT = 2.0
_ACK_TIMEOUT = 10.0
_SUBSCRIBE_BATCH = 64

# Set while on_connect callbacks run: their publishes go out before the buffered backlog.
_priority: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "cosalette_mqtt_priority", default=False
)


class MqttClient:
    """Keeps one broker connection alive in a background task; ``publish`` never blocks."""

    def __init__(
        self, settings: MqttSettings, will: WillConfig | None = None, *, name: str | None = None
    ) -> None:
        self.settings = settings
        self.will = will
        self._name = name or settings.topic_prefix or "cosalette"  # the default id's stem
        self.client_id = settings.client_id or default_client_id(self._name, settings.instance)
        self._last_node: str | None = None
        self._failover = Failover(
            broker_nodes(settings),
            ReconnectPolicy(settings.reconnect_interval, settings.reconnect_max_interval),
        )
        self._outbox = Outbox(settings.outbox_size)
        self._subscriptions: dict[str, None] = {}  # insertion-ordered set
        self._retained: dict[str, str] = {}  # the latest retained payload of each topic
        self._message_callbacks: list[MessageCallback] = []
        self._connect_callbacks: list[ConnectCallback] = []
        self._client: aiomqtt.Client | None = None  # set while a session is open
        self._ready = False  # resubscribed and on_connect callbacks done
        self._connected = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ssl: ssl.SSLContext | None = None
        self._had_session = False
        self._connecting = False  # inside a connect attempt (stop waits for it to finish)
        self._log = ConnectionLog(self.broker, self.client_id, self._outbox)
        self._window = PublishWindow(
            self._outbox, on_requeued=lambda: self._log.drops(connected=self._ready)
        )
        self._denied = DeniedPublishes(self._log.address)  # MQTT 5 tells; 3.1.1 drops silently
        self._sessions = 0  # sessions opened so far: the later ones re-publish what is retained
        self._announced: set[str] = set()  # retained topics the connect callbacks published

    # -- public API -------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        """Whether a broker session is open and ready for publishing."""
        return self._ready

    def check_config(self) -> None:
        """Read the TLS files now: a ValueError naming the setting, before anything runs."""
        if self._ssl is None:
            self._ssl = build_ssl_context(self.settings)

    async def start(self) -> None:
        """Start the background connection task and return at once."""
        if self._task is not None and not self._task.done():
            return
        self.check_config()
        self._stop_requested.clear()
        self._task = asyncio.create_task(self._run(), name=f"mqtt-{self.client_id}")

    async def stop(self) -> None:
        """Flush briefly, disconnect cleanly (so no last will) and end the task; idempotent."""
        task, self._task = self._task, None
        if task is None:
            return
        if self._ready:
            await self._window.flush(_FLUSH_TIMEOUT, lambda: self._ready)
        self._stop_requested.set()
        if self._ready or self._connecting:
            # Cancelling aiomqtt mid-connect leaves a half-open socket: let the attempt end.
            done, _ = await asyncio.wait({task}, timeout=_DISCONNECT_TIMEOUT)
            if not done:
                logger.warning(
                    "MQTT client did not stop within %.0f s; cancelling", _DISCONNECT_TIMEOUT
                )
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def wait_connected(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Wait until connected; return ``False`` if *timeout* seconds pass first."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def publish(
        self,
        topic: str,
        payload: str | dict[str, Any],
        *,
        retain: bool = False,
        qos: int = 1,
    ) -> None:
        """Queue a message; it is sent when connected, never waiting for the network."""
        if not isinstance(payload, str):
            payload = dumps(payload)
        if retain:
            if payload:
                self._retained[topic] = payload
            else:
                self._retained.pop(topic, None)  # an empty retained message clears the topic
        entry = OutboxEntry(topic, payload, retain, qos)
        client = self._client
        if client is not None and _priority.get():
            if retain:
                self._outbox.discard_retained(topic)
                self._announced.add(topic)
            self._window.dispatch(client, entry)
            return
        if client is not None and self._ready:
            if not self._outbox and self._window.has_room:
                self._window.dispatch(client, entry)
                return
            self._enqueue(entry)
            self._window.wake()
            await asyncio.sleep(0)  # let the sender drain; this does not wait for the broker
            return
        self._enqueue(entry)

    async def subscribe(self, topic: str) -> None:
        """Subscribe to *topic* now if connected, and again after every reconnect."""
        self._subscriptions[topic] = None
        client = self._client
        if client is None:
            return
        import aiomqtt

        try:
            await self._subscribe_all(client, [topic])
        except aiomqtt.MqttError as exc:
            logger.debug("Subscribe to %s deferred to the next connect: %s", topic, exc)

    async def unsubscribe(self, topic: str) -> None:
        """Stop receiving *topic*, now and after later reconnects."""
        self._subscriptions.pop(topic, None)
        client = self._client
        if client is None:
            return
        import aiomqtt

        try:
            await client.unsubscribe(topic)
        except aiomqtt.MqttError as exc:  # the connection dropped; it is not resubscribed
            logger.debug("Unsubscribe from %s not sent: %s", topic, exc)

    def retained_messages(self) -> dict[str, str]:
        """The latest retained payload this client published on each topic (a copy)."""
        return dict(self._retained)

    def on_message(self, callback: MessageCallback) -> None:
        """Register an async ``(topic, payload)`` callback for every inbound message."""
        self._message_callbacks.append(callback)

    def on_connect(self, callback: ConnectCallback) -> None:
        """Register an async callback run after each (re)connect, before the backlog is sent."""
        self._connect_callbacks.append(callback)

    @property
    def broker(self) -> str:
        """``host:port`` of the broker node of the current (or last) connection attempt."""
        return str(self._failover.current)

    async def _run(self) -> None:
        import aiomqtt

        failover = self._failover
        policy = failover.policy
        while not self._stop_requested.is_set():
            self._log.address = self._denied.address = self.broker
            self._had_session = False
            refused, problem = False, ""
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                refused, problem = diagnose(exc, self.settings, failover.current.host)
            except Exception:
                logger.exception("Unexpected error in the MQTT connection to %s", self.broker)
                problem = "unexpected error"
            if self._stop_requested.is_set():
                break
            pause = failover.failed(had_session=self._had_session, refused=refused)
            self._log.attempt_failed(
                policy,
                refused=refused,
                had_session=self._had_session,
                problem=problem or "connection closed",
                pause=pause,
                next_address=self.broker if len(failover.nodes) > 1 else None,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_requested.wait(), pause)
        logger.info("MQTT client for %s stopped", self.broker)

    def _fresh_id_on_another_node(self) -> None:
        """A default client id is renewed when the client moves to another node: after a
        node's hard loss, RabbitMQ may still hold the old id's subscription queue there."""
        node = self.broker
        if self._last_node is not None and node != self._last_node and not self.settings.client_id:
            self.client_id = default_client_id(self._name, self.settings.instance)
            self._log.client_id = self.client_id
        self._last_node = node

    def _make_client(self) -> aiomqtt.Client:
        import aiomqtt

        s = self.settings
        v5 = s.protocol == "5"
        will = self.will
        node = self._failover.current
        client = aiomqtt.Client(
            node.host,
            node.port,
            username=s.username or None,
            password=s.password.get_secret_value() if s.password is not None else None,
            identifier=self.client_id,
            protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            will=aiomqtt.Will(will.topic, will.payload, will.qos, will.retain) if will else None,
            clean_session=None if v5 else True,
            keepalive=s.keepalive,
            timeout=_ACK_TIMEOUT,
            max_inflight_messages=PUBLISH_WINDOW,
            tls_context=self._ssl,
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            logger=_PAHO_LOGGER,
        )
        client.pending_calls_threshold = PUBLISH_WINDOW + _SUBSCRIBE_BATCH
        install_fixes(client, on_failed_puback=self._denied)
        return client

    async def _session(self) -> None:
        self._fresh_id_on_another_node()
        client = self._make_client()
        self._connecting = True
        try:
            await client.__aenter__()
        except asyncio.CancelledError:
            abandon(client)
            raise
        finally:
            self._connecting = False
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_exit(client)  # a clean DISCONNECT on the way out
            if self._stop_requested.is_set():
                return
            self._had_session = True
            self._client = client
            logger.info("Connected to MQTT broker %s as %s", self.broker, self.client_id)
            sender: asyncio.Task[None] | None = None
            try:
                await self._subscribe_all(client, list(self._subscriptions))
                self._announced.clear()
                await self._run_connect_callbacks()
                if self._sessions:
                    self._replay_retained()
                self._sessions += 1
                if self._outbox:
                    logger.info("Sending %d buffered MQTT message(s)", len(self._outbox))
                self._log.drops(connected=True, force=True)
                self._ready = True
                self._connected.set()
                sender = asyncio.create_task(self._window.run(client))
                await self._serve(client)
            finally:
                self._ready = False
                self._connected.clear()
                self._client = None
                if sender is not None:
                    sender.cancel()
                self._window.requeue(inflight=True)

    async def _serve(self, client: aiomqtt.Client) -> None:
        """Deliver inbound messages until the connection drops (raises) or stop is requested."""
        receiver = asyncio.create_task(self._receive(client))
        stopper = asyncio.create_task(self._stop_requested.wait())
        try:
            await asyncio.wait({receiver, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (receiver, stopper):
                task.cancel()
            await asyncio.gather(receiver, stopper, return_exceptions=True)
        if receiver.done() and not receiver.cancelled():
            receiver.result()  # re-raises the MqttError of a lost connection

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic = message.topic.value
            payload = decode_payload(message.payload)
            for callback in list(self._message_callbacks):
                try:
                    await callback(topic, payload)
                except Exception:
                    logger.exception("MQTT message callback failed for topic %s", topic)

    async def _subscribe_all(self, client: aiomqtt.Client, topics: list[str]) -> None:
        for i in range(0, len(topics), _SUBSCRIBE_BATCH):
            batch = topics[i : i + _SUBSCRIBE_BATCH]
            granted = await client.subscribe([(topic, 1) for topic in batch])
            for topic, code in zip(batch, granted, strict=False):
                if subscription_refused(code):
                    logger.warning(
                        "MQTT broker %s refused subscription to %s: %s; check the broker's ACL",
                        self.broker,
                        topic,
                        reason_text(code),
                    )

    async def _run_connect_callbacks(self) -> None:
        token = _priority.set(True)
        try:
            for callback in list(self._connect_callbacks):
                try:
                    await callback()
                except Exception:
                    logger.exception("MQTT on_connect callback failed")
        finally:
            _priority.reset(token)

    def _replay_retained(self) -> None:
        """After a reconnect, queue every retained message again ahead of the backlog: a broker
        that restarted without persistence has lost them (the connect callbacks' own, newer
        ones and those still queued are not repeated)."""
        entries = [
            OutboxEntry(topic, payload, True, 1)
            for topic, payload in self._retained.items()
            if topic not in self._announced
        ]
        skipped = self._outbox.requeue(entries)
        if len(entries) > skipped:
            logger.info(
                "Re-publishing %d retained message(s) in case the broker lost them",
                len(entries) - skipped,
            )

    @property
    def dropped_messages(self) -> int:
        """Messages the outbox dropped because it was full (never retained ones)."""
        return self._outbox.dropped

    def _enqueue(self, entry: OutboxEntry) -> None:
        if self._outbox.append(entry) is not None:
            self._log.drops(connected=self._ready)

    def _socket(self) -> socket.socket | None:
        """The connected socket, for tests and diagnostics."""
        client = self._client
        sock = paho_client(client).socket() if client is not None else None
        return sock if isinstance(sock, socket.socket) else None
