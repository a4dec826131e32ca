"""The broker, step by step for each node of ``mqtt.hosts`` (or ``mqtt.host``): TCP, the TLS
handshake, the MQTT login, a publish/subscribe round trip under the app's own topic root; then
Home Assistant's status topic when discovery is on.

Nothing is retained and the app's real topics are never touched: the round trip uses
``<topic root>/_meta/probe`` (a random payload), with a client id of its own and no last will.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cosactl._doctor.report import Check, blocked, failed, not_applicable, passed, with_env

if TYPE_CHECKING:
    import aiomqtt

    from cosalette._mqtt.nodes import BrokerNode
    from cosalette._settings import MqttSettings
    from cosalette.project import Project

__all__ = ["BROKER_CHECKS", "broker_checks"]

TCP, TLS, LOGIN, ROUND_TRIP, HOME_ASSISTANT = (
    "broker tcp",
    "broker tls",
    "broker login",
    "broker round trip",
    "homeassistant",
)
BROKER_CHECKS = (TCP, TLS, LOGIN, ROUND_TRIP, HOME_ASSISTANT)
HA_GRACE = 1.0  # seconds to wait for Home Assistant's status after our own message came back


def broker_checks(project: Project, timeout: float) -> list[Check]:
    """Every broker check for every node, then the Home Assistant check."""
    from cosalette._mqtt.nodes import broker_nodes

    settings = project.settings
    env = str(project.settings_class.model_config.get("env_prefix") or "")
    ha = settings.homeassistant
    ha_topic = f"{ha.prefix}/status" if ha.discovery else None
    checks: list[Check] = []
    ha_check: Check | None = None
    for node in broker_nodes(settings.mqtt):
        probe = _Probe(project, node, env, timeout, ha_topic if ha_check is None else None)
        checks += probe.run()
        ha_check = ha_check or probe.ha
    if ha_topic is None:
        ha_check = not_applicable(HOME_ASSISTANT, "homeassistant.discovery is off")
    checks.append(ha_check or blocked(HOME_ASSISTANT, "no broker login succeeded"))
    return checks


@dataclass
class _Probe:
    """The checks of one node."""

    project: Project
    node: BrokerNode
    env: str
    timeout: float
    ha_topic: str | None
    ha: Check | None = None
    messages: list[tuple[str, str, bool]] = field(default_factory=list)

    @property
    def mqtt(self) -> MqttSettings:
        return self.project.settings.mqtt

    def run(self) -> list[Check]:
        tcp, sock = self._tcp()
        if sock is None:
            return [tcp, *(blocked(name, f"{TCP} failed") for name in (TLS, LOGIN, ROUND_TRIP))]
        with sock:
            tls = self._tls(sock)
        if tls.status == "fail":
            return [tcp, tls, *(blocked(name, f"{TLS} failed") for name in (LOGIN, ROUND_TRIP))]
        return [tcp, tls, *asyncio.run(self._session())]

    def _fix(self, text: str) -> str:
        return with_env(text, self.env)

    def _tcp(self) -> tuple[Check, socket.socket | None]:
        start = time.monotonic()
        try:
            sock = socket.create_connection((self.node.host, self.node.port), self.timeout)
        except TimeoutError:
            reason = f"no answer within {self.timeout:g} s"
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            if isinstance(exc, socket.gaierror):
                setting = "mqtt.hosts" if self.mqtt.hosts else "mqtt.host"
                fix = f"correct {setting}: {self.node.host!r} is not a name this machine resolves"
                return failed(TCP, f"{self.node}: {reason}", self._fix(fix)), None
        else:
            ms = (time.monotonic() - start) * 1000
            return passed(TCP, f"{self.node} accepts connections ({ms:.0f} ms)"), sock
        where = "correct mqtt.hosts" if self.mqtt.hosts else "set mqtt.host and mqtt.port"
        fix = f"start the broker, or {where} to reach yours; a firewall may block the port"
        return failed(TCP, f"{self.node}: {reason}", self._fix(fix)), None

    def _tls(self, sock: socket.socket) -> Check:
        from cosalette._mqtt.diagnosis import diagnose
        from cosalette._mqtt.tls import build_ssl_context

        if not self.mqtt.tls:
            return not_applicable(TLS, "mqtt.tls is off")
        try:
            context = build_ssl_context(self.mqtt)
        except ValueError as exc:
            setting = str(exc).partition(":")[0]
            return failed(TLS, str(exc), self._fix(f"correct {setting}"))
        assert context is not None
        try:
            with context.wrap_socket(sock, server_hostname=self.node.host) as tls:
                version = tls.version()
        except (OSError, ssl.CertificateError) as exc:
            configuration, reason = diagnose(exc, self.mqtt, self.node.host)
            detail, fix = _split(reason)
            if not configuration:
                detail, fix = reason, f"is {self.node} a TLS listener? check mqtt.port and mqtt.tls"
            elif not fix:
                fix = "check the broker's certificate (dates, purpose) and mqtt.tls_ca_cert"
            if "expired" in str(exc) or "not yet valid" in str(exc):
                fix += "; also check this machine's clock"
            return failed(TLS, f"{self.node}: {detail}", self._fix(fix))
        unchecked = " (host name not checked: mqtt.tls_insecure)" if self.mqtt.tls_insecure else ""
        return passed(TLS, f"{self.node}: {version}, certificate verified{unchecked}")

    async def _session(self) -> list[Check]:
        import aiomqtt

        from cosalette._mqtt.diagnosis import diagnose
        from cosalette._mqtt.tool_client import tool_client

        client = tool_client(self.mqtt, "doctor", node=self.node, timeout=self.timeout)
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            refused, reason = diagnose(exc, self.mqtt, self.node.host)
            detail, fix = _split(reason)
            if not refused:
                detail = f"no MQTT answer ({reason})"
                fix = f"is {self.node} an MQTT listener? a TLS port needs mqtt.tls = true"
            elif not fix:
                fix = "check mqtt.username, mqtt.password and the broker's log"
            login = failed(LOGIN, f"{self.node}: {detail}", self._fix(fix))
            return [login, blocked(ROUND_TRIP, f"{LOGIN} failed")]
        try:
            user = f"as user {self.mqtt.username!r}" if self.mqtt.username else "anonymously"
            login = passed(LOGIN, f"{self.node}: logged in {user} (MQTT {self.mqtt.protocol})")
            return [login, await self._round_trip(client)]
        finally:
            with contextlib.suppress(aiomqtt.MqttError):  # a dropped session is no finding
                await client.__aexit__(None, None, None)

    async def _round_trip(self, client: aiomqtt.Client) -> Check:
        import aiomqtt

        from cosalette._topics import probe_topic, topic_root

        root = topic_root(self.project.name, self.project.settings)
        topic = probe_topic(root)
        token = secrets.token_hex(8)
        who = f"user {self.mqtt.username!r}" if self.mqtt.username else "anonymous clients"
        acl = (
            f"the broker's ACL may deny {who} publishing or subscribing to {topic}; "
            f"grant readwrite on {topic} (cosactl manifest --format acl includes it)"
        )
        arrived = asyncio.Event()
        reader = asyncio.create_task(self._read(client, arrived))
        start = time.monotonic()
        came_back, ms = False, 0.0
        try:
            if _refused(await client.subscribe(topic, qos=1, timeout=self.timeout)):
                return failed(ROUND_TRIP, f"{self.node}: subscription to {topic} refused", acl)
            if self.ha_topic is not None:
                granted = await client.subscribe(self.ha_topic, qos=1, timeout=self.timeout)
                if _refused(granted):
                    self.ha = failed(
                        HOME_ASSISTANT, f"subscription to {self.ha_topic} refused", _ha_acl(who)
                    )
            await client.publish(topic, token, qos=1, retain=False, timeout=self.timeout)
            came_back = await self._wait(arrived, lambda: self._seen(topic, token), self.timeout)
            ms = (time.monotonic() - start) * 1000
            if self.ha_topic is not None and self.ha is None:
                if came_back and not self._seen(self.ha_topic):
                    await self._wait(arrived, lambda: self._seen(self.ha_topic), HA_GRACE)
                self.ha = self._ha_result(HA_GRACE if came_back else self.timeout)
        except aiomqtt.MqttError as exc:
            return failed(ROUND_TRIP, f"{self.node}: {exc}", acl)
        finally:
            if self.ha_topic is not None and self.ha is None:
                self.ha = blocked(HOME_ASSISTANT, f"{ROUND_TRIP} failed")
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await reader
        if not came_back:
            detail = (
                f"{self.node}: a message on {topic} did not come back within {self.timeout:g} s"
            )
            return failed(ROUND_TRIP, detail, acl)
        return passed(
            ROUND_TRIP, f"{self.node}: {topic} published and received ({ms:.0f} ms, QoS 1)"
        )

    async def _read(self, client: aiomqtt.Client, arrived: asyncio.Event) -> None:
        async for message in client.messages:
            payload = message.payload
            text = (
                bytes(payload).decode("utf-8", "replace")
                if isinstance(payload, bytes | bytearray)
                else str(payload)
            )
            self.messages.append((message.topic.value, text, message.retain))
            arrived.set()

    def _seen(self, topic: str | None, payload: str | None = None) -> bool:
        return any(t == topic and (payload is None or p == payload) for t, p, _ in self.messages)

    @staticmethod
    async def _wait(arrived: asyncio.Event, condition: Callable[[], bool], within: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), remaining)
        return True

    def _ha_result(self, waited: float) -> Check:
        assert self.ha_topic is not None
        seen = [(p, retained) for t, p, retained in self.messages if t == self.ha_topic]
        if seen and seen[-1][0] == "online":
            how = "retained" if seen[-1][1] else "live"
            return passed(HOME_ASSISTANT, f"{self.ha_topic} is 'online' ({how})")
        prefix = self.env + "HOMEASSISTANT__PREFIX"
        if seen:
            return failed(
                HOME_ASSISTANT,
                f"{self.ha_topic} is {seen[-1][0]!r}: Home Assistant is not online",
                "start Home Assistant and its MQTT integration (connected to this broker)",
            )
        return failed(
            HOME_ASSISTANT,
            f"nothing on {self.ha_topic} within {waited:g} s after subscribing",
            "enable the birth message of Home Assistant's MQTT integration (topic "
            f"{self.ha_topic}, payload 'online', retain on) and connect it to this broker; or "
            f"correct homeassistant.prefix ({prefix})",
        )


def _split(reason: str) -> tuple[str, str]:
    """A diagnosis as (what happened, what to change): "...; check X" or "...: set X"."""
    if "; " in reason:
        detail, _, fix = reason.rpartition("; ")
        return detail, fix
    if ": set " in reason:
        detail, _, fix = reason.partition(": set ")
        return detail, f"set {fix}"
    return reason, ""


def _ha_acl(who: str) -> str:
    return f"the broker's ACL may deny {who} subscribing to Home Assistant's status topic"


def _refused(granted: object) -> bool:
    """Whether a SUBACK refused the (first) subscription (0x80 or above)."""
    from cosalette._mqtt.diagnosis import subscription_refused

    codes = list(granted) if isinstance(granted, list | tuple) else [granted]
    return not codes or subscription_refused(codes[0])
