"""``cosactl watch``: the live device table of a running bridge, read from its own broker.

The project's settings (``settings.toml``, ``.env``, the environment: as ``cosactl run`` reads
them) give the broker, TLS, credentials and the topic root. One subscription to
``<topic root>/#`` with a client id of its own (:func:`cosalette._mqtt.tool_client.tool_client`,
no last will) feeds the views of ``cosactl dev`` (:mod:`cosactl.devserver.live`); nothing is
ever published.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from cosactl.devserver.follow import Link, follow
from cosactl.devserver.live import ROOT, LiveView, PlainView

if TYPE_CHECKING:
    import aiomqtt

    from cosalette._mqtt.nodes import BrokerNode
    from cosalette._settings import MqttSettings

__all__ = [
    "JSON_KEYS",
    "JsonView",
    "Target",
    "WatchLiveView",
    "WatchPlainView",
    "check_device",
    "load_target",
    "make_watch_view",
    "watch",
]

JSON_KEYS = ("at", "device", "kind", "topic", "retained", "payload")
"""The keys of every ``--json`` line, in this order."""

KINDS = {"status": "heartbeat"}  # Board's kinds as --json names them
MAX_RETRY = 10.0  # a viewer comes back within ten seconds of the broker


@dataclass(frozen=True)
class Target:
    """What ``cosactl watch`` reads: the app, its topic root and its ``[mqtt]`` settings."""

    app: str
    root: str
    mqtt: MqttSettings
    env_prefix: str
    settings_name: str
    devices: tuple[str, ...] = ()
    """The project's device names (empty when they cannot be resolved)."""

    @property
    def nodes(self) -> list[BrokerNode]:
        """The broker nodes, in the order the bridge tries them."""
        from cosalette._mqtt.nodes import broker_nodes

        return broker_nodes(self.mqtt)

    @property
    def brokers(self) -> str:
        """``127.0.0.1:1883`` or ``a:1883, b:1883``, with `` (TLS)`` when it is on."""
        text = ", ".join(str(node) for node in self.nodes)
        return text + (" (TLS)" if self.mqtt.tls else "")

    def retry(self, attempt: int) -> float:
        """The delay before attempt *attempt* of an outage: the bridge's pace, doubling, at
        most :data:`MAX_RETRY` (or ``mqtt.reconnect_max_interval`` when smaller)."""
        first = self.mqtt.reconnect_interval
        ceiling = max(first, min(self.mqtt.reconnect_max_interval, MAX_RETRY))
        return float(min(first * 2 ** min(attempt, 20), ceiling))

    def address_hint(self) -> str:
        """Which settings say where the broker is."""
        if self.mqtt.hosts:
            return f"check mqtt.hosts in {self.settings_name} (or {self.env_prefix}MQTT__HOSTS)"
        return (
            f"check [mqtt] host and port in {self.settings_name} "
            f"(or {self.env_prefix}MQTT__HOST and {self.env_prefix}MQTT__PORT)"
        )


def load_target(settings_file: str | None, env_file: str | None) -> Target:
    """The project around the current directory, loaded as ``cosactl run --dry-run`` would
    (fake adapters, no store opened); errors are ``CosactlError`` with exit code 3."""
    from cosactl._project import load
    from cosalette._topics import topic_root

    project = load(dry_run=True, settings_file=settings_file, env_file=env_file, store=None)
    settings = project.settings
    prefix = str(project.settings_class.model_config.get("env_prefix") or "")
    return Target(
        app=project.name,
        root=topic_root(project.name, settings),
        mqtt=settings.mqtt,
        env_prefix=prefix,
        settings_name=project.settings_path.name,
        devices=_device_names(project),
    )


def _device_names(project: Any) -> tuple[str, ...]:
    from cosalette._wiring.resolve import resolve_registrations

    try:
        described = project.app.describe(project.settings)
        resolved = resolve_registrations(described.registrations, project.settings)
    except Exception:  # only used for a hint; the check is `cosactl run`'s
        return ()
    return tuple(dict.fromkeys(r.name for r in resolved.all()))


def check_device(name: str) -> str:
    """*name* if it is one topic segment (no ``/ + #``, not empty), else ``ValueError``."""
    from cosalette._names import validate_mqtt_name

    return validate_mqtt_name(name, what="device name")


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


class WatchPlainView(PlainView):
    """One line per message on stdout (``HH:MM:SS topic payload``); notices on stderr."""

    def __init__(
        self,
        prefix: str,
        *,
        only: str | None = None,
        stream: TextIO | None = None,
        notices: TextIO | None = None,
    ) -> None:
        super().__init__(prefix, stream or sys.stdout)
        self.board.only = only
        self.notices = notices or sys.stderr

    def _line(self, text: str) -> None:
        print(f"{_stamp()} {text}", file=self.stream, flush=True)

    def info(self, text: str) -> None:
        """A connection notice (stderr, so stdout keeps only messages)."""
        print(f"{_stamp()} watch: {text}", file=self.notices, flush=True)

    def problem(self, text: str) -> None:
        """A connection problem (stderr)."""
        self.info(text)


class JsonView(WatchPlainView):
    """One JSON object per message (keys :data:`JSON_KEYS`) on stdout; notices on stderr."""

    def message(self, topic: str, payload: str, retain: bool) -> None:
        """Write the message as a JSON line, unless the board ignores it."""
        kind = self.board.on_message(topic, payload, retain, time.monotonic())
        if kind is None:
            return
        device = self.board.device_of(topic)
        record = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "device": None if device in (None, ROOT) else device,
            "kind": KINDS.get(kind, kind),
            "topic": topic,
            "retained": retain,
            "payload": _decoded(payload),
        }
        print(json.dumps(record, ensure_ascii=False), file=self.stream, flush=True)


def _decoded(payload: str) -> Any:
    """The payload as JSON when it is JSON (strict: no NaN), else its text."""
    from cosalette._json import loads_bounded

    try:
        value = loads_bounded(payload)
        json.dumps(value, allow_nan=False)
    except ValueError:
        return payload
    return value


class WatchLiveView(LiveView):
    """``cosactl dev``'s table; under the rows the connection instead of the last reload."""

    def __init__(self, prefix: str, header: str, *, only: str | None = None) -> None:
        super().__init__(prefix, header)
        self.board.only = only
        self.connection = ("connecting...", False)

    def status_line(self) -> tuple[str, bool]:
        """The connection: ``connected to ...`` or the last problem (red)."""
        return self.connection


def make_watch_view(
    target: Target, *, as_json: bool, live: bool, only: str | None = None
) -> PlainView:
    """JSON lines, the live table (on a terminal, unless *live* is false) or plain lines."""
    if as_json:
        return JsonView(target.root, only=only)
    if live and sys.stdout.isatty():
        follows = f" · device {only}" if only else ""
        header = f"cosactl watch · {target.app} · {target.brokers} · {target.root}/#{follows}"
        return WatchLiveView(target.root, header, only=only)
    return WatchPlainView(target.root, only=only)


@dataclass
class _Links:
    """Turns :class:`Link` changes into notices; remembers whether a session ever began."""

    target: Target
    view: PlainView
    connected: bool = False
    _reported: set[str] = field(default_factory=set)

    def __call__(self, link: Link) -> None:
        if link.kind == "connected":
            self.connected = True
            text = f"connected to {link.where}; reading {self.target.root}/# (read-only)"
            self._show(text, problem=False)
            return
        reason = self._reason(link)
        if link.kind == "lost":
            why = "" if reason == "connection lost" else f": {reason}"
            text = f"lost the connection to {link.where}{why}; reconnecting"
        else:
            text = f"cannot reach the MQTT broker at {link.where}: {reason}; retrying"
        self._show(text, problem=True)

    def _reason(self, link: Link) -> str:
        from cosalette._mqtt.diagnosis import diagnose

        assert link.error is not None
        host = link.where.rpartition(":")[0].strip("[]")
        configuration, reason = diagnose(link.error, self.target.mqtt, host)
        if configuration or link.kind == "lost":
            return reason  # a refused login or a TLS problem names its setting
        return f"{reason}; {self.target.address_hint()}"

    def _show(self, text: str, *, problem: bool) -> None:
        if isinstance(self.view, WatchLiveView):
            self.view.connection = (text, problem)
        if problem:
            self.view.problem(text)
        else:
            self.view.info(text)


async def watch(target: Target, view: PlainView, *, duration: float | None = None) -> bool:
    """Show the traffic under the topic root until SIGINT/SIGTERM or *duration* seconds pass.

    Returns whether a session with the broker ever began. A ``ValueError`` (unreadable TLS
    files) propagates.
    """
    from cosalette._mqtt.tool_client import tool_client

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    links = _Links(target, view)
    nodes = target.nodes
    turn = itertools.count()

    def connect() -> tuple[aiomqtt.Client, str]:
        node = nodes[next(turn) % len(nodes)]
        return tool_client(target.mqtt, "watch", node=node), str(node)

    only = view.board.only
    if only is not None:
        unknown = target.devices and only not in target.devices
        known = ", ".join(target.devices)
        view.info(
            f"waiting for {only}"
            + (f" ({only} is not a device of {target.app}: {known})" if unknown else "")
        )
    reader = asyncio.ensure_future(
        follow(view, connect, topic=f"{target.root}/#", on_link=links, retry=target.retry)
    )
    drawer = asyncio.ensure_future(view.run())
    stopped = asyncio.ensure_future(stop.wait())
    tasks = (reader, drawer, stopped)
    try:
        done, _ = await asyncio.wait(tasks, timeout=duration, return_when="FIRST_COMPLETED")
        for task in done:
            if task is not stopped:
                task.result()  # follow and run never end: this raises what ended them
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
        for signum in signals:
            loop.remove_signal_handler(signum)
        view.close()
    return links.connected
