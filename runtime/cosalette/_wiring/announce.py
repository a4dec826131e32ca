"""What a bridge announces about itself at every connect: its contract and its HA entities.

* ``<prefix>/_meta/registry``: the app's AsyncAPI document (what it publishes; the ``/set``
  channels it receives on are left out), retained.
* With ``homeassistant.discovery`` on, one retained config per entity under
  ``<homeassistant>/<component>/<node>/<object_id>/config``. When Home Assistant's birth
  message (``<homeassistant>/status`` = ``online``) arrives, the configs and the current states
  are published again after a random fraction of a second, so a fleet does not stampede. On
  the first connect, configs this bridge published earlier for entities that no longer exist
  are cleared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from cosalette._json import dumps
from cosalette._mqtt.port import MqttPort

if TYPE_CHECKING:
    from cosalette._app.description import AppDescription
    from cosalette._app.registration import ResolvedCommand, ResolvedRegistrations
    from cosalette._schema.ha_bridge import CommandHint
    from cosalette._settings import Settings

__all__ = [
    "REGISTRY_WARN_BYTES",
    "Announcer",
    "announcer_for",
    "command_hints",
    "discovery_entities_for",
    "registry_payload",
    "registry_topic",
]

logger = logging.getLogger("cosalette")

REGISTRY_WARN_BYTES = 128 * 1024
BIRTH_JITTER = (0.05, 0.5)  # seconds: the spread of a fleet's re-announcements
SCAN_TIMEOUT = 5.0  # seconds to collect earlier configs before giving up until the next connect


def registry_topic(prefix: str) -> str:
    """Where the app's contract is published (retained)."""
    return f"{prefix}/_meta/registry"


def registry_payload(document: dict[str, Any]) -> str:
    """Compact JSON of *document* without the channels and operations the app receives on."""
    operations: dict[str, Any] = document.get("operations", {})
    received = {
        op["channel"]["$ref"].rsplit("/", 1)[-1]
        for op in operations.values()
        if op.get("action") == "receive"
    }
    channels = {k: c for k, c in document.get("channels", {}).items() if k not in received}
    doc: dict[str, Any] = {k: document[k] for k in ("asyncapi", "info") if k in document}
    if channels:
        doc["channels"] = channels
        doc["operations"] = {k: op for k, op in operations.items() if op["action"] != "receive"}
    if "components" in document:
        doc["components"] = document["components"]
    return dumps(doc)


class Announcer:
    """Publishes the registry and discovery configs; answers Home Assistant's birth message."""

    def __init__(
        self,
        mqtt: MqttPort,
        *,
        prefix: str,
        registry: str,
        entities: Sequence[dict[str, Any]] | None,
        ha_prefix: str,
        node: str,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.mqtt = mqtt
        self.prefix = prefix
        self.registry = registry
        self.entities = list(entities or ())
        self.discovery = entities is not None
        self.birth_topic = f"{ha_prefix}/status"
        self._config_filter = f"{ha_prefix}/+/{node}/+/config"
        self._sync_topic = f"{prefix}/_meta/discovery_sync"
        self._configs = [(e["topic"], dumps(e["config"])) for e in self.entities]
        self._sleep = sleep
        self._tasks: set[asyncio.Task[None]] = set()
        self._reannounce: asyncio.Task[None] | None = None
        self._scanned = False
        self._scan: _ConfigScan | None = None
        if len(registry.encode()) > REGISTRY_WARN_BYTES:
            logger.warning(
                "The registry document is %d KiB; brokers may refuse messages this large",
                len(registry.encode()) // 1024,
            )

    def topics(self) -> list[str]:
        """Topics to subscribe to for the whole run."""
        return [self.birth_topic] if self.discovery else []

    async def on_connect(self) -> None:
        """At every connect: the registry, then every discovery config (all retained)."""
        try:
            await self.mqtt.publish(registry_topic(self.prefix), self.registry, retain=True)
            await self._publish_configs()
        except Exception:
            logger.exception("Publishing the registry or the discovery configs failed")
            return
        if self.discovery and not self._scanned and self._scan is None:
            self._spawn(self._clear_stale(), "cosalette:discovery-cleanup")

    async def deliver(self, topic: str, payload: str) -> None:
        """Inbound messages: the birth message, and the replies of a running scan."""
        if topic == self.birth_topic and self.discovery:
            if payload.strip().lower() == "online":
                self._schedule_reannounce()
            return
        scan = self._scan
        if scan is not None:
            scan.seen(topic, payload)

    async def close(self) -> None:
        """Cancel pending announcements and scans."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- internals -------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _publish_configs(self) -> None:
        for topic, config in self._configs:
            await self.mqtt.publish(topic, config, retain=True)

    def _schedule_reannounce(self) -> None:
        """Re-announce once after a jitter; a second birth message meanwhile restarts it."""
        if self._reannounce is not None and not self._reannounce.done():
            self._reannounce.cancel()
        self._reannounce = self._spawn(self._reannounce_now(), "cosalette:discovery-birth")

    async def _reannounce_now(self) -> None:
        await self._sleep(random.uniform(*BIRTH_JITTER))  # spreading a fleet, not secrecy
        try:
            await self._publish_configs()
            states = _retained_states(self.mqtt, self.prefix)
            for topic, payload in states.items():
                await self.mqtt.publish(topic, payload, retain=True)
        except Exception:
            logger.exception("Re-announcing to Home Assistant failed")
            return
        logger.info(
            "Home Assistant is online: re-published %d discovery config(s) and %d state(s)",
            len(self._configs),
            len(states),
        )

    async def _clear_stale(self) -> None:
        """Clear retained configs under this bridge's node that no current entity has."""
        subscribe = self.mqtt.subscribe
        unsubscribe = getattr(self.mqtt, "unsubscribe", None)
        if unsubscribe is None:  # a port that cannot stop a subscription: skip, stay quiet
            self._scanned = True
            return
        scan = _ConfigScan(self._sync_topic, secrets.token_hex(8))
        self._scan = scan
        try:
            await subscribe(self._config_filter)
            await subscribe(self._sync_topic)
            await self.mqtt.publish(self._sync_topic, scan.nonce, retain=False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(scan.done.wait(), SCAN_TIMEOUT)
        finally:
            self._scan = None
            await unsubscribe(self._config_filter)
            await unsubscribe(self._sync_topic)
        if not scan.done.is_set():
            logger.debug("No reply to the discovery scan; trying again at the next connect")
            return
        self._scanned = True
        current = {topic for topic, _ in self._configs}
        stale = sorted(scan.found - current)
        for topic in stale:
            await self.mqtt.publish(topic, "", retain=True)
        if stale:
            logger.info(
                "Cleared %d Home Assistant discovery config(s) of entities that no longer exist",
                len(stale),
            )


class _ConfigScan:
    """Collects retained config topics until our own sync message comes back."""

    def __init__(self, sync_topic: str, nonce: str) -> None:
        self.sync_topic = sync_topic
        self.nonce = nonce
        self.found: set[str] = set()
        self.done = asyncio.Event()

    def seen(self, topic: str, payload: str) -> None:
        if topic == self.sync_topic:
            if payload == self.nonce:
                self.done.set()
        elif topic.endswith("/config") and payload and not self.done.is_set():
            self.found.add(topic)


def _retained_states(mqtt: MqttPort, prefix: str) -> dict[str, str]:
    """The retained state and availability messages this run published (if the port knows)."""
    snapshot = getattr(mqtt, "retained_messages", None)
    if snapshot is None:
        return {}
    messages: dict[str, str] = snapshot()
    return {
        topic: payload
        for topic, payload in messages.items()
        if topic.startswith(prefix + "/") and topic.endswith(("/state", "/availability"))
    }


def command_hints(commands: Sequence[ResolvedCommand], prefix: str) -> dict[str, CommandHint]:
    """What each command's ``/set`` accepts, by topic: for discovery's component choice."""
    import enum
    import typing

    from cosalette._runners.command import payload_params_for
    from cosalette._schema.ha_bridge import CommandHint
    from cosalette._topics import DeviceTopics

    hints: dict[str, CommandHint] = {}
    for reg in commands:
        topic = DeviceTopics.of(prefix, reg.name, is_root=reg.is_root).set
        params, _ = payload_params_for(reg)
        model = reg.payload_model or next((p.model for p in params if p.model), None)
        if not params and model is None:
            hint = CommandHint("none")
        elif model is None:
            hint = CommandHint("text")
        elif typing.get_origin(model) is typing.Literal:
            hint = CommandHint("enum", tuple(str(v) for v in typing.get_args(model)))
        elif isinstance(model, type) and issubclass(model, enum.Enum):
            hint = CommandHint("enum", tuple(str(m.value) for m in model))
        else:
            hint = CommandHint("value")
        hints.setdefault(topic, hint)  # several handlers of one name: the first decides
    return hints


def discovery_entities_for(
    document: dict[str, Any],
    commands: Sequence[ResolvedCommand],
    *,
    prefix: str,
    ha_prefix: str,
    app_version: str,
) -> list[dict[str, Any]]:
    """The configs a run announces; ``cosactl manifest --format ha-discovery`` prints them."""
    from cosalette import __version__
    from cosalette._schema.ha_bridge import BridgeInfo, bridge_entities
    from cosalette._topics import status_topic

    bridge = BridgeInfo(
        ha_prefix=ha_prefix,
        status_topic=status_topic(prefix),
        app_version=app_version,
        origin_version=__version__,
        commands=command_hints(commands, prefix),
    )
    return bridge_entities(document, bridge)


def _log_shapeless(document: dict[str, Any]) -> None:
    """Say which devices Home Assistant cannot show because their state's fields are unknown."""
    from cosalette._schema.ha_discovery import channel_properties

    shapeless = sorted(
        channel["address"].rpartition("/")[0]
        for cid, channel in document.get("channels", {}).items()
        if cid.endswith("State") and not channel_properties(document, channel)
    )
    if shapeless:
        logger.info(
            "No Home Assistant entity for %s: the state's fields are unknown (give the "
            "device a state_model= or a return annotation naming a model)",
            ", ".join(shapeless),
        )


def announcer_for(
    app: AppDescription,
    regs: ResolvedRegistrations,
    settings: Settings,
    mqtt: MqttPort,
    *,
    prefix: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Announcer:
    """The announcer of one run: *app* described, *regs* resolved against *settings*."""
    from cosalette._contract.asyncapi import asyncapi_document

    document = asyncapi_document(app, regs, prefix)
    ha = settings.homeassistant
    entities = None
    node = ""
    if ha.discovery:  # the mapping modules are imported only when discovery is on
        from cosalette._schema.ha_discovery import slug

        node = slug(prefix)
        entities = discovery_entities_for(
            document, regs.commands, prefix=prefix, ha_prefix=ha.prefix, app_version=app.version
        )
        _log_shapeless(document)
    return Announcer(
        mqtt,
        prefix=prefix,
        registry=registry_payload(document),
        entities=entities,
        ha_prefix=ha.prefix,
        node=node,
        sleep=sleep,
    )
