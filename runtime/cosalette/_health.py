"""Availability, heartbeats, the last will, and adapter health checks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol, runtime_checkable

from cosalette._clock import ClockPort
from cosalette._json import dumps
from cosalette._mqtt.port import MqttPort, WillConfig
from cosalette._topics import DeviceTopics, status_topic

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceStatus:
    """One device's health in the heartbeat (``"ok"``, ``"error"``, ``"unavailable"``)."""

    status: str = "ok"
    dropped: int | None = None
    """Items a stream dropped because it was full (streams only)."""

    def to_dict(self) -> dict[str, object]:
        """Serialise to a plain dict (``dropped`` only for streams)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class HeartbeatPayload:
    """The app-level status snapshot published on ``{app}/status``."""

    status: str
    uptime_s: float
    version: str
    devices: dict[str, DeviceStatus] = field(default_factory=dict)
    dropped_messages: int | None = None
    """Messages the MQTT outbox dropped while it was full (a real client only)."""
    broker: str | None = None
    """``host:port`` of the broker node the client is on (a real client only)."""

    def to_json(self) -> str:
        """Serialise to compact JSON with devices as nested objects."""
        doc: dict[str, object] = {
            "status": self.status,
            "uptime_s": self.uptime_s,
            "version": self.version,
            "devices": {name: d.to_dict() for name, d in self.devices.items()},
        }
        if self.dropped_messages is not None:
            doc["dropped_messages"] = self.dropped_messages
        if self.broker is not None:
            doc["broker"] = self.broker
        return dumps(doc)


def build_will_config(topic_prefix: str) -> WillConfig:
    """The app's last will: retained ``"offline"`` on ``{prefix}/status``, QoS 1."""
    return WillConfig(topic=status_topic(topic_prefix), payload="offline", qos=1, retain=True)


@dataclass
class HealthReporter:
    """Publishes per-device availability and app heartbeats; never raises on failure."""

    mqtt: MqttPort
    topic_prefix: str
    version: str
    clock: ClockPort
    _devices: dict[str, DeviceStatus] = field(default_factory=dict, init=False)
    _root_devices: set[str] = field(default_factory=set, init=False)
    _online: dict[str, bool] = field(default_factory=dict, init=False)
    _heartbeat_sent: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._start_time = self.clock.now()

    def _availability_topic(self, device: str, is_root: bool) -> str:
        return DeviceTopics.of(self.topic_prefix, device, is_root=is_root).availability

    def set_device_status(
        self, device: str, status: str = "ok", *, dropped: int | None = None
    ) -> None:
        """Record *device*'s status (and a stream's dropped items) for the next heartbeat."""
        self._devices[device] = DeviceStatus(status=status, dropped=dropped)

    def remove_device(self, device: str) -> None:
        """Stop tracking *device*."""
        self._devices.pop(device, None)
        self._online.pop(device, None)

    @property
    def devices(self) -> Mapping[str, DeviceStatus]:
        """Tracked devices and their status (read-only view)."""
        return self._devices

    def statuses(self) -> dict[str, str]:
        """Each device's status as the heartbeat knows it (``"ok"``, ``"error"``,
        ``"circuit_open"``), and ``"unavailable"`` for a device announced offline."""
        statuses = {name: status.status for name, status in self._devices.items()}
        for name, online in self._online.items():
            if not online:
                statuses[name] = "unavailable"
        return statuses

    async def publish_device_available(self, device: str, *, is_root: bool = False) -> None:
        """Publish retained ``"online"`` for *device* and mark it ``ok``."""
        if is_root:
            self._root_devices.add(device)
        self._online[device] = True
        await self._safe_publish(self._availability_topic(device, is_root), "online")
        self.set_device_status(device)

    async def publish_device_unavailable(self, device: str, *, is_root: bool = False) -> None:
        """Publish retained ``"offline"`` for *device*; it leaves the heartbeat until online."""
        self._online[device] = False
        await self._safe_publish(self._availability_topic(device, is_root), "offline")
        self._devices.pop(device, None)

    def is_online(self, device: str) -> bool:
        """Whether *device* was last announced online."""
        return self._online.get(device, False)

    async def republish_availability(self) -> None:
        """Publish every device's current availability again (after a reconnect)."""
        for device, online in list(self._online.items()):
            topic = self._availability_topic(device, device in self._root_devices)
            await self._safe_publish(topic, "online" if online else "offline")

    async def republish_heartbeat(self) -> None:
        """After a reconnect, a fresh heartbeat (it names the broker node now in use)."""
        if self._heartbeat_sent:
            await self.publish_heartbeat()

    async def publish_heartbeat(self) -> None:
        """Publish a JSON heartbeat with uptime, version and device statuses."""
        self._heartbeat_sent = True
        payload = HeartbeatPayload(
            status="online",
            uptime_s=round(self.clock.now() - self._start_time, 3),
            version=self.version,
            devices=dict(self._devices),
            dropped_messages=getattr(self.mqtt, "dropped_messages", None),
            broker=getattr(self.mqtt, "broker", None),
        )
        await self._safe_publish(status_topic(self.topic_prefix), payload.to_json())

    async def shutdown(self) -> None:
        """Publish ``"offline"`` for every device and the app, then forget them."""
        for device in list(dict.fromkeys([*self._devices, *self._online])):
            topic = self._availability_topic(device, device in self._root_devices)
            await self._safe_publish(topic, "offline")
        await self._safe_publish(status_topic(self.topic_prefix), "offline")
        self._devices.clear()
        self._root_devices.clear()
        self._online.clear()

    async def _safe_publish(self, topic: str, payload: str) -> None:
        try:
            await self.mqtt.publish(topic, payload, retain=True, qos=1)
        except Exception:
            logger.exception("Could not publish health message to %s", topic)


@runtime_checkable
class HealthCheckable(Protocol):
    """Adapters with ``async health_check() -> bool`` are probed periodically."""

    async def health_check(self) -> bool:
        """Return True when the adapter is healthy."""
        ...


@dataclass(frozen=True)
class AdapterHealthStatus:
    """One adapter's health as tracked by the health-check runner."""

    healthy: bool = True
    consecutive_failures: int = 0
    last_check: float = 0.0
    restart_count: int = 0
    restart_exhausted: bool = False
    last_restart: float = 0.0
    last_healthy_since: float = 0.0


RestartAdapter = Callable[[type], Awaitable[bool]]


class HealthCheckRunner:
    """Probes ``HealthCheckable`` adapters and flips their devices' availability.

    After ``restart_after_failures`` failed probes in a row it asks for the adapter to be
    restarted, at most ``max_restarts`` times; ``sustained_health_reset`` seconds of health
    reset that budget.
    """

    def __init__(
        self,
        adapters: Mapping[type, object],
        devices_by_adapter: Mapping[type, Sequence[tuple[str, bool]]],
        reporter: HealthReporter,
        clock: ClockPort,
        *,
        restart_after_failures: int,
        max_restarts: int,
        sustained_health_reset: float,
        restart: RestartAdapter | None = None,
        probe_timeout: float = 10.0,
    ) -> None:
        self._adapters = adapters  # live: a restarted adapter is probed from then on
        self._devices = devices_by_adapter
        self._reporter = reporter
        self._clock = clock
        self._restart_after = restart_after_failures
        self._max_restarts = max_restarts
        self._sustained_reset = sustained_health_reset
        self._restart = restart
        self._probe_timeout = probe_timeout
        self.status: dict[type, AdapterHealthStatus] = {
            port: AdapterHealthStatus() for port in self._checkable()
        }

    def _checkable(self) -> dict[type, HealthCheckable]:
        return {t: a for t, a in self._adapters.items() if isinstance(a, HealthCheckable)}

    @property
    def has_work(self) -> bool:
        """Whether any registered adapter can be probed."""
        return bool(self._checkable())

    async def check_all(self) -> None:
        """Probe every adapter once."""
        for port, adapter in self._checkable().items():
            await self._probe(port, adapter)

    async def _probe(self, port: type, adapter: HealthCheckable) -> None:
        now = self._clock.now()
        try:
            healthy = bool(await asyncio.wait_for(adapter.health_check(), self._probe_timeout))
        except Exception as exc:
            logger.warning("Health check of %s raised %r", port.__qualname__, exc)
            healthy = False
        old = self.status.setdefault(port, AdapterHealthStatus())
        if healthy:
            await self._on_healthy(port, old, now)
        else:
            await self._on_unhealthy(port, old, now)

    async def _on_healthy(self, port: type, old: AdapterHealthStatus, now: float) -> None:
        since = old.last_healthy_since
        restarts = old.restart_count
        if not old.healthy:
            logger.info("Adapter %s is healthy again", port.__qualname__)
            for name, is_root in self._devices.get(port, ()):
                await self._reporter.publish_device_available(name, is_root=is_root)
            since = now
        elif restarts and now - since >= self._sustained_reset:
            restarts = 0
        self.status[port] = replace(
            old,
            healthy=True,
            consecutive_failures=0,
            last_check=now,
            restart_count=restarts,
            last_healthy_since=since,
        )

    async def _on_unhealthy(self, port: type, old: AdapterHealthStatus, now: float) -> None:
        failures = old.consecutive_failures + 1
        if old.healthy:
            logger.warning("Adapter %s failed its health check", port.__qualname__)
            for name, is_root in self._devices.get(port, ()):
                await self._reporter.publish_device_unavailable(name, is_root=is_root)
        new = replace(old, healthy=False, consecutive_failures=failures, last_check=now)
        due = self._restart_after > 0 and failures >= self._restart_after
        if due and not old.restart_exhausted and self._restart is not None:
            if old.restart_count >= self._max_restarts:
                logger.critical(
                    "Adapter %s exceeded %d restarts; it stays offline",
                    port.__qualname__,
                    self._max_restarts,
                )
                new = replace(new, restart_exhausted=True)
            else:
                logger.warning(
                    "Restarting adapter %s after %d failures", port.__qualname__, failures
                )
                ok = await self._restart(port)
                new = replace(
                    new,
                    consecutive_failures=0,
                    restart_count=old.restart_count + 1,
                    last_restart=now,
                )
                if not ok:
                    logger.error("Restart of adapter %s failed", port.__qualname__)
        self.status[port] = new
