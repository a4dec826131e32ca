"""What caused a triggerable telemetry run: the schedule, or an MQTT message and its payload."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from cosalette._json import loads_bounded

__all__ = ["TriggerPayload"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriggerPayload:
    """Injected into triggerable telemetry handlers so they can tell scheduled from MQTT runs.

    On scheduled runs ``is_triggered`` is False and ``raw``/``data`` are None; on MQTT runs
    ``raw`` is the payload text and ``data`` its parsed JSON object, when it was one.
    """

    is_triggered: bool = False
    raw: str | None = None
    data: dict[str, Any] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        """Return *key* from the JSON payload, or *default* if untriggered, not JSON, or absent."""
        if self.data is None:
            return default
        return self.data.get(key, default)

    @classmethod
    def scheduled(cls) -> TriggerPayload:
        """Return the shared instance used for every scheduled (untriggered) run."""
        return _SCHEDULED

    @classmethod
    def from_mqtt(cls, payload: str | bytes) -> TriggerPayload:
        """Build a triggered instance; JSON parsing is best effort and never raises."""
        if isinstance(payload, bytes | bytearray):
            payload = bytes(payload).decode("utf-8", errors="replace")
        data: dict[str, Any] | None = None
        if payload.strip():
            try:
                parsed = loads_bounded(payload)
            except ValueError:  # not JSON, or nested too deeply
                logger.debug("Trigger payload is not JSON: %r", payload[:100])
            else:
                if isinstance(parsed, dict):
                    data = parsed
        return cls(is_triggered=True, raw=payload or None, data=data)


_SCHEDULED = TriggerPayload()
