"""What the MQTT client says about its connection: outages, refused logins, dropped messages.

One line when an outage starts and one every ``STILL_DOWN_LOG`` seconds while it lasts (the
quick retries in between go to DEBUG); one ERROR per refused login; one line per outage about
messages the full outbox dropped, and their total once connected again.
"""

from __future__ import annotations

import logging
import time

from cosalette._mqtt.outbox import Outbox
from cosalette._mqtt.reconnect import ReconnectPolicy

__all__ = ["ConnectionLog", "decode_payload", "describe_error"]

logger = logging.getLogger("cosalette._mqtt.client")

DROP_LOG_INTERVAL = 5.0  # seconds between "outbox full" lines while connected
STILL_DOWN_LOG = 30.0  # seconds between "still no connection" lines during an outage


class ConnectionLog:
    """Rate-limited log lines of one client."""

    def __init__(self, address: str, client_id: str, outbox: Outbox) -> None:
        self.address = address
        self.client_id = client_id
        self.outbox = outbox
        self._last_down_log = 0.0
        self._drops_reported = 0
        self._last_drop_log = -DROP_LOG_INTERVAL
        self._outage_drops_logged = False

    def attempt_failed(
        self,
        policy: ReconnectPolicy,
        *,
        refused: bool,
        had_session: bool,
        problem: str,
        pause: float,
        next_address: str | None = None,
    ) -> None:
        """A connection attempt failed (or a session ended) and the next one is *pause* away
        (on *next_address* when there are several broker nodes)."""
        now = time.monotonic()
        if refused:
            level, text = logging.ERROR, "Cannot connect to"
        elif policy.attempts == 1:
            level = logging.WARNING
            text = "Lost connection to" if had_session else "Cannot connect to"
            self._last_down_log = now
        elif now - self._last_down_log >= STILL_DOWN_LOG:
            level, text = logging.WARNING, f"Still no connection ({policy.attempts} attempts) to"
            self._last_down_log = now
        else:
            level, text = logging.DEBUG, "Cannot connect to"
        retry = "retrying" if next_address is None else f"trying {next_address}"
        logger.log(
            level,
            "%s MQTT broker %s as %s (%s); %s in %.1f s",
            text,
            self.address,
            self.client_id,
            problem,
            retry,
            pause,
        )

    def drops(self, *, connected: bool, force: bool = False) -> None:
        """Report messages the outbox dropped since the last report."""
        new = self.outbox.dropped - self._drops_reported
        if new <= 0:
            return
        if not connected and not force:
            if not self._outage_drops_logged:
                self._outage_drops_logged = True
                logger.warning(
                    "MQTT outbox full (%d messages) while the broker is unreachable: dropping "
                    "the oldest non-retained messages until it is back (latest states are kept)",
                    self.outbox.capacity,
                )
            return
        now = time.monotonic()
        if not force and now - self._last_drop_log < DROP_LOG_INTERVAL:
            return
        logger.warning(
            "MQTT outbox full (%d messages): dropped %d oldest message(s), %d in total",
            self.outbox.capacity,
            new,
            self.outbox.dropped,
        )
        self._drops_reported = self.outbox.dropped
        self._last_drop_log = now
        self._outage_drops_logged = False


def decode_payload(payload: object) -> str:
    """An inbound payload as text (invalid UTF-8 replaced, so it can be reported)."""
    if isinstance(payload, bytes | bytearray):
        return bytes(payload).decode("utf-8", errors="replace")
    return "" if payload is None else str(payload)


def describe_error(exc: Exception) -> str:
    """A one-line reason for logs, with a hint for authentication failures."""
    text = str(exc.__cause__ or exc) or type(exc).__name__
    if "Unspecified error" in text or "connection was lost" in text.lower():
        return "connection lost"
    if "auth" in text.lower() or "password" in text.lower():
        return f"{text} (check mqtt.username and mqtt.password)"
    return text
