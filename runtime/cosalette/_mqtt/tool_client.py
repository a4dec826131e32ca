"""Short connections to a project's configured broker for tools (``cosactl watch``,
``doctor``, ``remove --clear-retained``): the same address, TLS and credentials as the
daemon, but a client id of their own and no last will, so they never disturb the bridge.
"""

from __future__ import annotations

import secrets
import socket
from typing import TYPE_CHECKING

from cosalette._mqtt.nodes import BrokerNode, broker_nodes
from cosalette._mqtt.tls import build_ssl_context

if TYPE_CHECKING:
    import aiomqtt

    from cosalette._settings import MqttSettings

__all__ = ["tool_client", "tool_client_id"]

CONNECT_TIMEOUT = 10.0


def tool_client_id(purpose: str) -> str:
    """``cosactl-<purpose>-<host>-<8 hex>``: never the bridge's own id (that would kick it off)."""
    host = socket.gethostname().split(".")[0] or "host"
    return f"cosactl-{purpose}-{host}-{secrets.token_hex(4)}"


def tool_client(
    settings: MqttSettings,
    purpose: str,
    *,
    node: BrokerNode | None = None,
    timeout: float = CONNECT_TIMEOUT,
) -> aiomqtt.Client:
    """An unentered ``aiomqtt.Client`` for *node* (default: the first of ``mqtt.hosts`` or
    ``mqtt.host``). Raises ``ValueError`` for unreadable TLS files (the message names the
    setting). Call it inside a running event loop (aiomqtt needs one)."""
    import aiomqtt

    target = node or broker_nodes(settings)[0]
    v5 = settings.protocol == "5"
    return aiomqtt.Client(
        target.host,
        target.port,
        username=settings.username or None,
        password=settings.password.get_secret_value() if settings.password is not None else None,
        identifier=tool_client_id(purpose),
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        clean_session=None if v5 else True,
        keepalive=settings.keepalive,
        timeout=timeout,
        tls_context=build_ssl_context(settings),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )
