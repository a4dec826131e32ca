"""Workarounds for aiomqtt 2.5 behaviours the client must not inherit.

They reach into aiomqtt's (and paho's) private attributes, so they live here, small and named,
where an upgrade can find them.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiomqtt

__all__ = [
    "abandon",
    "fail_fast_before_connack",
    "guard_writes",
    "install_fixes",
    "paho_client",
    "watch_pubacks",
]


def paho_client(client: aiomqtt.Client) -> Any:
    """The paho client inside *client* (for its socket)."""
    return client._client


def install_fixes(client: aiomqtt.Client, on_failed_puback: Callable[[str, Any], None]) -> None:
    """Every workaround below, on a client not yet connected."""
    guard_writes(client)
    watch_pubacks(client, on_failed_puback)
    fail_fast_before_connack(client)


def guard_writes(client: aiomqtt.Client) -> None:
    """Register paho's write interest without aiomqtt's race on a just-closed socket.

    aiomqtt reads ``sock.fileno()`` when it schedules ``add_writer``; a publish racing a lost
    connection then registers a stale descriptor (an asyncio error log, or a reused fd).
    """
    loop = asyncio.get_running_loop()

    def on_register_write(mqttc: Any, userdata: Any, sock: Any) -> None:
        def write() -> None:
            try:
                mqttc.loop_write()
            except Exception as exc:
                if not client._disconnected.done():
                    client._disconnected.set_exception(exc)

        def register() -> None:
            if sock.fileno() >= 0:  # still open
                loop.add_writer(sock.fileno(), write)

        loop.call_soon_threadsafe(register)  # paho may call this from the connect thread

    client._client.on_socket_register_write = on_register_write


def abandon(client: aiomqtt.Client) -> None:
    """Close a half-open connection quietly; aiomqtt cannot be cancelled mid-connect."""
    sock = paho_client(client).socket()
    if not isinstance(sock, socket.socket):
        return
    loop = asyncio.get_running_loop()
    if sock.fileno() >= 0:
        loop.remove_reader(sock.fileno())
        loop.remove_writer(sock.fileno())
    if client._misc_task is not None:
        client._misc_task.cancel()
    sock.close()


def watch_pubacks(client: aiomqtt.Client, on_failure: Callable[[str, Any], None]) -> None:
    """Call ``on_failure(topic, reason_code)`` for a PUBACK with a failure reason (MQTT 5).

    aiomqtt completes ``publish`` whatever the reason code says, so an ACL denial (0x87) would
    go unnoticed. paho still holds the message while ``on_publish`` runs.
    """
    paho = paho_client(client)
    forward = paho.on_publish

    def on_publish(mqttc: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        if getattr(reason_code, "is_failure", False):
            message = mqttc._out_messages.get(mid)
            if message is not None:
                on_failure(message.topic, reason_code)
        forward(mqttc, userdata, mid, reason_code, properties)

    paho.on_publish = on_publish


def fail_fast_before_connack(client: aiomqtt.Client) -> None:
    """End a connect attempt as soon as the connection closes before the broker's CONNACK.

    aiomqtt would wait out its timeout and say "Operation timed out"; a TLS 1.3 broker that
    wants a client certificate closes the connection right after the handshake. The error is
    paho's last logged one (e.g. "tlsv13 alert certificate required"), kept until CONNACK.
    """
    import aiomqtt
    from paho.mqtt.enums import LogLevel

    loop = asyncio.get_running_loop()
    paho = paho_client(client)
    errors: list[str] = []
    forward_connect, forward_disconnect = paho.on_connect, paho.on_disconnect

    def on_log(mqttc: Any, userdata: Any, level: int, text: str) -> None:
        if level == LogLevel.MQTT_LOG_ERR:
            errors.append(text)

    def on_connect(mqttc: Any, *args: Any) -> None:
        mqttc.on_log = None  # formatting every log line costs; only the connect needs it
        forward_connect(mqttc, *args)

    def on_disconnect(mqttc: Any, *args: Any) -> None:
        forward_disconnect(mqttc, *args)
        pending = client._connected
        reason = errors[-1] if errors else "connection closed before the broker answered"

        def fail() -> None:
            if pending is client._connected and not pending.done():
                pending.set_exception(aiomqtt.MqttError(reason))

        if not pending.done() and not loop.is_closed():
            loop.call_soon_threadsafe(fail)  # paho may call this from the connect thread

    paho.on_log = on_log
    paho.on_connect = on_connect
    paho.on_disconnect = on_disconnect
