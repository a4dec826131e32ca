"""Retained-topic cleanup: clear what devices that no longer exist left on the broker.

The store remembers which entities a run published (the snapshot). At the next start, the
retained ``state`` and ``availability`` of every entity that is gone — a dynamic ``name=``
entity removed from the configuration, a device deleted from a project — are cleared with
empty retained payloads, before the current devices announce themselves. ``/set``, ``error``,
``status`` and sub-entities are never touched.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from cosalette._app.description import AppDescription
from cosalette._app.registration import ResolvedRegistrations, _PeriodicRegistration
from cosalette._mqtt.port import MqttPort
from cosalette._persistence import Store
from cosalette._store_path import in_container, store_path_variable
from cosalette._topics import AVAILABILITY, STATE, DeviceTopics

__all__ = ["SNAPSHOT_KEY_PREFIX", "clear_stale_entities", "cleanup_enabled", "entity_snapshot"]

logger = logging.getLogger("cosalette")

SNAPSHOT_KEY_PREFIX = "__cosalette_entity_snapshot__"
SCHEMA_VERSION = 1


def has_dynamic_entities(app: AppDescription) -> bool:
    """Whether a ``name=`` or ``enabled=`` callable decides which devices exist."""
    return any(
        r.name_spec is not None or callable(r.enabled)
        for r in app.registrations.all()
        if not isinstance(r, _PeriodicRegistration)
    )


def cleanup_enabled(app: AppDescription, store: Store | None) -> bool:
    """The override if given; never without a store; else for dynamic apps or an explicit store."""
    if store is None:
        return False
    if app.retained_cleanup is not None:
        return app.retained_cleanup
    return has_dynamic_entities(app) or not app.store_is_default


def warn_if_ephemeral(app: AppDescription) -> None:
    """A default store inside a container is lost with the container, and the snapshot too."""
    variable = store_path_variable(app.name)
    if app.store_is_default and not os.environ.get(variable) and in_container():
        logger.warning(
            "Using an auto-resolved default store at %s, which is ephemeral inside a container "
            "- retained-topic cleanup will not survive restarts. Set %s to a path on a mounted "
            "volume for durable persistence.",
            getattr(app.store, "path", app.store),
            variable,
        )


def entity_snapshot(regs: ResolvedRegistrations) -> dict[str, Any]:
    """What this run publishes retained: ``{name: {is_root, retained_kinds}}``."""
    entities: dict[str, dict[str, Any]] = {}
    owned = [(r, [STATE, AVAILABILITY]) for r in (*regs.devices, *regs.telemetry)]
    owned += [(r, [AVAILABILITY]) for r in regs.commands]
    for reg, kinds in owned:
        entry = entities.setdefault(reg.name, {"is_root": reg.is_root, "retained_kinds": []})
        entry["retained_kinds"] = [
            k for k in (STATE, AVAILABILITY) if k in kinds or k in entry["retained_kinds"]
        ]
    return {"schema_version": SCHEMA_VERSION, "entities": entities}


def _stale_topics(previous: Any, current: dict[str, Any], prefix: str) -> list[str]:
    if not isinstance(previous, dict):
        return []
    if previous.get("schema_version") != SCHEMA_VERSION:
        logger.warning(
            "Entity snapshot has schema_version %r; retained topics are not cleaned up",
            previous.get("schema_version"),
        )
        return []
    entities = previous.get("entities")
    if not isinstance(entities, dict):
        return []
    topics: list[str] = []
    for name, entry in entities.items():
        if name in current["entities"] or not isinstance(entry, dict):
            continue
        if not isinstance(name, str) or not name or any(c in name for c in "+#\0"):
            logger.warning("Entity snapshot holds an invalid name %r; skipped", name)
            continue
        device = DeviceTopics.of(prefix, name, is_root=entry.get("is_root") is True)
        kinds = entry.get("retained_kinds")
        for kind in (STATE, AVAILABILITY):
            if isinstance(kinds, list) and kind in kinds:
                topics.append(device.channel(kind))
    return topics


async def clear_stale_entities(
    mqtt: MqttPort, store: Store, prefix: str, regs: ResolvedRegistrations
) -> list[str]:
    """Clear the retained topics of entities gone since the last run; returns those topics.

    Errors are logged, never raised: cleanup must not stop a bridge from starting.
    """
    key = SNAPSHOT_KEY_PREFIX + prefix
    current = entity_snapshot(regs)
    try:
        previous = store.load(key)  # one small read at start, like the device stores' loads
        stale = _stale_topics(previous, current, prefix)
        for topic in stale:
            await mqtt.publish(topic, "", retain=True, qos=1)
        if stale:
            logger.info("Cleared the retained topics of %d gone entities", len(stale))
        store.save(key, current)
    except Exception:
        logger.exception("Retained-topic cleanup failed; continuing")
        return []
    return stale
