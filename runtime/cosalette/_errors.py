"""Structured error payloads and their publication to the error topics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from cosalette._json import dumps
from cosalette._logging import redact_secrets
from cosalette._mqtt.port import MqttPort
from cosalette._topics import DeviceTopics, app_error_topic

logger = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The app cannot start: a handler cannot be wired, an adapter cannot be built, or a
    deferred setting is invalid. The original exception is the ``__cause__``."""


@dataclass(frozen=True)
class ErrorPayload:
    """One error event, as published on ``{app}/error`` and ``{app}/{device}/error``."""

    error_type: str
    message: str
    device: str | None
    timestamp: str
    details: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> str:
        """Serialise to compact JSON."""
        return dumps(asdict(self))


def build_error_payload(
    error: Exception,
    *,
    error_type_map: dict[type[Exception], str] | None = None,
    device: str | None = None,
    details: dict[str, object] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> ErrorPayload:
    """Turn *error* into an :class:`ErrorPayload`; the map matches the exact class only."""
    error_type = (error_type_map or {}).get(type(error), "error")
    now = clock() if clock is not None else datetime.now(UTC)
    return ErrorPayload(
        error_type=error_type,
        message=str(error),
        device=device,
        timestamp=now.isoformat(),
        details=dict(details) if details else {},
    )


@dataclass
class ErrorPublisher:
    """Publishes error payloads; a failure to report never propagates to the caller."""

    mqtt: MqttPort
    topic_prefix: str
    error_type_map: dict[type[Exception], str] = field(default_factory=dict)
    clock: Callable[[], datetime] | None = None

    async def publish(
        self,
        error: Exception,
        *,
        device: str | None = None,
        is_root: bool = False,
        details: dict[str, object] | None = None,
    ) -> None:
        """Publish *error* globally and, for a named device, on its own error topic."""
        try:
            built = build_error_payload(
                error,
                error_type_map=self.error_type_map,
                device=device,
                details=details,
                clock=self.clock,
            )
            # Redacted before serialising: a secret that looks like JSON ("{}", "1") must not
            # corrupt the payload's syntax.
            built = replace(
                built,
                message=redact_secrets(built.message),
                details=_redacted(built.details),
            )
            payload = built.to_json()
        except Exception:
            logger.exception("Could not build an error payload for %r", error)
            return
        await self._safe_publish(app_error_topic(self.topic_prefix), payload)
        if device is not None and not is_root:
            await self._safe_publish(DeviceTopics.of(self.topic_prefix, device).error, payload)

    async def _safe_publish(self, topic: str, payload: str) -> None:
        try:
            await self.mqtt.publish(topic, payload, retain=False, qos=1)
        except Exception:
            logger.exception("Could not publish error payload to %s", topic)


def _redacted(value: Any) -> Any:
    """*value* (JSON-ready details) with secrets redacted in every string, keys included."""
    if isinstance(value, str):
        return redact_secrets(value)
    if isinstance(value, dict):
        return {_redacted(k): _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value
