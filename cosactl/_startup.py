"""What ``cosactl run`` says besides the app's own log: one start-up line, and one hint while
no broker answers (not one per retry)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosalette._settings import Settings
    from cosalette._wiring.runtime import Runtime
    from cosalette.project import Project

__all__ = [
    "HINT_AFTER",
    "broker_hint",
    "brokers_text",
    "hint_while_unreachable",
    "startup_line",
]

HINT_AFTER = 3.0  # seconds without a broker connection before the hint
logger = logging.getLogger("cosactl")
_pending: set[asyncio.Task[None]] = set()  # keeps the hint's task referenced


def startup_line(project: Project, settings: Settings, *, dry_run: bool) -> str:
    """``gas2mqtt 0.1.0 starting: 2 devices, real adapters, broker localhost:1883``."""
    from cosalette._wiring.resolve import resolve_registrations

    described = project.app.describe(settings)
    names = {r.name for r in resolve_registrations(described.registrations, settings).all()}
    count = f"{len(names)} device{'' if len(names) == 1 else 's'}"
    mode = "dry run (fake adapters, state in memory)" if dry_run else "real adapters"
    return (
        f"{described.name} {described.version} starting: {count}, {mode}, {brokers_text(settings)}"
    )


def brokers_text(settings: Settings) -> str:
    """``broker localhost:1883`` or ``brokers node1:1883, node2:1883`` (``mqtt.hosts``)."""
    from cosalette._mqtt.nodes import broker_nodes

    nodes = [str(node) for node in broker_nodes(settings.mqtt)]
    return f"broker{'s' if len(nodes) > 1 else ''} {', '.join(nodes)}"


def broker_hint(project: Project, settings: Settings) -> str:
    """What to do when nothing answers at the ``[mqtt]`` address."""
    from cosalette._mqtt.nodes import broker_nodes

    prefix = str(project.settings_class.model_config.get("env_prefix") or "")
    where = " or ".join(str(node) for node in broker_nodes(settings.mqtt))
    return (
        f"no MQTT broker answers at {where} (still retrying); "
        f"`cosactl dev` starts a local one, or set {prefix}MQTT__HOST (and {prefix}MQTT__PORT) "
        f"or [mqtt] host in {project.settings_path.name} to reach yours"
    )


def hint_while_unreachable(hint: str, after: float = HINT_AFTER) -> Callable[[Runtime], None]:
    """An ``on_prepared`` callback: log *hint* once if the client has not connected *after* s."""

    def on_prepared(runtime: Runtime) -> None:
        wait: Any = getattr(runtime.mqtt, "wait_connected", None)
        if wait is None:  # not the real client: nothing to wait for
            return
        task = asyncio.get_running_loop().create_task(_hint_once(wait, hint, after))
        _pending.add(task)
        task.add_done_callback(_pending.discard)

    return on_prepared


async def _hint_once(wait: Callable[[float], Awaitable[bool]], hint: str, after: float) -> None:
    if not await wait(after):
        logger.warning("%s", hint)
