"""The topic grammar: every topic an app publishes or subscribes to, and reading them back.

``<prefix>/<device>/state|set|availability|error`` per device (the root device uses
``<prefix>`` as its base), ``<prefix>/<device>/<sub>/set`` and ``.../<sub>/state`` for
sub-commands and sub-entities, ``<prefix>/status`` (heartbeat and last will) and
``<prefix>/error`` (every error) per app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cosalette._settings import Settings

__all__ = [
    "APP_CHANNELS",
    "LIVENESS",
    "AVAILABILITY",
    "DEVICE_CHANNELS",
    "ERROR",
    "SET",
    "STATE",
    "STATUS",
    "DeviceTopics",
    "app_error_topic",
    "probe_topic",
    "set_topic_targets",
    "split_topic",
    "status_topic",
    "topic_root",
]

STATE = "state"
SET = "set"
AVAILABILITY = "availability"
ERROR = "error"
STATUS = "status"
DEVICE_CHANNELS = (STATE, SET, AVAILABILITY, ERROR)
APP_CHANNELS = (STATUS, ERROR)


def topic_root(app_name: str, settings: Settings | None) -> str:
    """The topic root of *app_name* under *settings*: ``mqtt.topic_prefix`` (default the app
    name), then ``/<mqtt.instance>`` when an instance is set."""
    if settings is None:
        return app_name
    mqtt = settings.mqtt
    root = mqtt.topic_prefix or app_name
    return f"{root}/{mqtt.instance}" if mqtt.instance else root


def status_topic(prefix: str) -> str:
    """The app's heartbeat and last-will topic."""
    return f"{prefix}/{STATUS}"


LIVENESS = (
    "{status} is the bridge's liveness: a JSON heartbeat while it runs, 'offline' (the "
    "broker's last will) once the process is gone, however it ended. A device's availability "
    "topic keeps its last value after a crash (MQTT has one last will per connection): a "
    "device is available when both say so."
)
"""What consumers are told about liveness (manifest, AsyncAPI); ``{status}`` is the topic."""


def app_error_topic(prefix: str) -> str:
    """The topic every error of the app is published on."""
    return f"{prefix}/{ERROR}"


def probe_topic(prefix: str) -> str:
    """Where tools send a non-retained message to themselves with the app's credentials:
    ``cosactl doctor``'s round trip, and the end-of-retained marker of ``cosactl remove``.
    The generated ACLs grant it; nothing subscribes to it for long."""
    return f"{prefix}/_meta/probe"


class DeviceTopics:
    """The topics of one device (or sub-entity), all below ``base``."""

    __slots__ = ("base",)

    def __init__(self, base: str) -> None:
        self.base = base

    def __repr__(self) -> str:
        return f"DeviceTopics({self.base!r})"

    @classmethod
    def of(cls, prefix: str, device: str, *, is_root: bool = False) -> DeviceTopics:
        """The topics of *device*; a root device's base is the prefix itself."""
        return cls(prefix if is_root else f"{prefix}/{device}")

    def channel(self, name: str) -> str:
        """``<base>/<name>``: the escape hatch for non-standard topics."""
        return f"{self.base}/{name}"

    @property
    def state(self) -> str:
        """Retained JSON state."""
        return self.channel(STATE)

    @property
    def set(self) -> str:
        """Commands."""
        return self.channel(SET)

    @property
    def sub_commands(self) -> str:
        """The wildcard subscription for every ``<base>/<sub>/set``."""
        return f"{self.base}/+/{SET}"

    @property
    def availability(self) -> str:
        """Retained ``online``/``offline``."""
        return self.channel(AVAILABILITY)

    @property
    def error(self) -> str:
        """The device's errors."""
        return self.channel(ERROR)

    def sub(self, name: str) -> DeviceTopics:
        """The topics of sub-entity or sub-command *name*."""
        return DeviceTopics(f"{self.base}/{name}")


def set_topic_targets(topic: str) -> list[tuple[str, str | None]]:
    """Where a ``/set`` topic may go: ``(device base, None)`` then ``(device base, sub)``."""
    suffix = f"/{SET}"
    if not topic.endswith(suffix):
        return []
    parent = topic[: -len(suffix)]
    targets: list[tuple[str, str | None]] = [(parent, None)]
    base, slash, sub = parent.rpartition("/")
    if slash:
        targets.append((base, sub))
    return targets


def split_topic(prefix: str, topic: str) -> tuple[str, str] | None:
    """``(device, channel)`` of a topic below *prefix*; device ``""`` for the app's own."""
    if not topic.startswith(prefix + "/"):
        return None
    rest = topic[len(prefix) + 1 :]
    device, _, channel = rest.rpartition("/")
    return device, channel
