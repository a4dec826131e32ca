"""Workarounds for two aiomqtt 2.5 behaviours the client must not inherit.

Both reach into aiomqtt's private attributes, so they live here, small and named, where an
aiomqtt upgrade can find them.
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiomqtt

__all__ = ["abandon", "guard_writes", "paho_client"]


def paho_client(client: aiomqtt.Client) -> Any:
    """The paho client inside *client* (for its socket)."""
    return client._client


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
