"""Several brokers: the ``mqtt.hosts`` list, which node to try next, and default client ids.

``hosts`` entries are ``"host:port"``, ``"host"`` (the ``port`` setting) or ``"[::1]:1883"``.
After a lost session or a failed attempt the next attempt goes to the next node (round robin);
a whole cycle over the nodes without success is one step of the :class:`ReconnectPolicy`, so a
lost node is followed at once by a try of the next one.
"""

from __future__ import annotations

import json
import secrets
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cosalette._mqtt.reconnect import ReconnectPolicy
    from cosalette._settings import MqttSettings

__all__ = ["BrokerNode", "Failover", "broker_nodes", "default_client_id", "parse_hosts"]


@dataclass(frozen=True, slots=True)
class BrokerNode:
    """One broker address."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_node(entry: str, default_port: int) -> BrokerNode:
    """``"host:port"``, ``"host"`` or ``"[v6]:port"``; a ValueError names the bad entry."""
    text = entry.strip()
    host, port_text = text, ""
    if text.startswith("["):
        close = text.find("]")
        rest = text[close + 1 :] if close > 0 else "?"
        if close <= 1 or (rest and not rest.startswith(":")):
            raise ValueError(f"bad broker address {entry!r}: expected '[v6-address]:port'")
        host, port_text = text[1:close], rest[1:]
        if rest and not port_text:
            raise ValueError(f"bad broker address {entry!r}: missing port after ':'")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        if not port_text:
            raise ValueError(f"bad broker address {entry!r}: missing port after ':'")
    elif ":" in text:
        raise ValueError(f"bad broker address {entry!r}: write an IPv6 address as '[::1]:1883'")
    if not host or any(c.isspace() for c in host) or "/" in host:
        raise ValueError(f"bad broker address {entry!r}: expected 'host:port' or 'host'")
    port = default_port
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"bad broker address {entry!r}: port must be 1-65535")
        port = int(port_text)
    return BrokerNode(host, port)


def parse_hosts(value: object) -> object:
    """A list as is; a string as a JSON list or comma-separated (the environment form)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            decoded = json.loads(text)
        except ValueError:  # "[::1]:1883,..." is not JSON
            decoded = None
        if isinstance(decoded, list):
            return decoded
    return [part.strip() for part in text.split(",") if part.strip()]


def broker_nodes(settings: MqttSettings) -> list[BrokerNode]:
    """The nodes to connect to: ``hosts`` if set, else ``host``/``port``."""
    if settings.hosts:
        return [parse_node(entry, settings.port) for entry in settings.hosts]
    return [BrokerNode(settings.host, settings.port)]


def default_client_id(name: str, instance: str = "") -> str:
    """``<name>-<instance or hostname>-<8 hex>``: unique per process, readable in broker logs."""
    where = instance or socket.gethostname().split(".")[0] or "host"
    return f"{name}-{where}-{secrets.token_hex(4)}"


class Failover:
    """Which node the next attempt goes to, and how long to wait before it."""

    def __init__(self, nodes: list[BrokerNode], policy: ReconnectPolicy) -> None:
        if not nodes:
            raise ValueError("at least one broker node is needed")
        self.nodes = nodes
        self.policy = policy
        self._index = 0
        self._tried = 0  # failed attempts in the current cycle

    @property
    def current(self) -> BrokerNode:
        """The node of the current (or last) attempt."""
        return self.nodes[self._index]

    def failed(self, *, had_session: bool, refused: bool = False) -> float:
        """The attempt on :attr:`current` failed (or its session ended): move on, return the
        pause before the next attempt (0 until a whole cycle has failed)."""
        if had_session:
            self.policy.connected()
            self._tried = 0
        self._index = (self._index + 1) % len(self.nodes)
        self._tried += 1
        if self._tried < len(self.nodes):
            self.policy.note_attempt()
            return 0.0
        self._tried = 0
        return self.policy.next_pause(refused=refused)
