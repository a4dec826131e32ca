"""When to try the broker again: quickly while an outage is young, then backing off.

A broker restart or a Wi-Fi hiccup lasts seconds, so the first ``fast_window`` seconds of an
outage retry every ``first`` seconds; after that the pause doubles up to ``ceiling``. Every
pause is jittered by ±20 % so a fleet of bridges does not reconnect in lock-step. A refused
login backs off from the first attempt: retrying fast cannot fix a password.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

__all__ = ["FAST_WINDOW", "ReconnectPolicy"]

FAST_WINDOW = 15.0
"""Seconds of an outage during which attempts are not backed off."""


class ReconnectPolicy:
    """The pause before each connection attempt of one outage; ``connected()`` resets it."""

    def __init__(
        self,
        first: float,
        ceiling: float,
        *,
        fast_window: float = FAST_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first = first
        self.ceiling = max(ceiling, first)
        self.fast_window = fast_window
        self._clock = clock
        self._delay = first
        self._outage_start: float | None = None
        self.attempts = 0
        """Failed attempts in the current outage."""

    def connected(self) -> None:
        """A session opened: the next outage starts fast again."""
        self._delay = self.first
        self._outage_start = None
        self.attempts = 0

    @property
    def outage_seconds(self) -> float:
        """How long the current outage has lasted (0 when connected)."""
        if self._outage_start is None:
            return 0.0
        return self._clock() - self._outage_start

    def note_attempt(self) -> None:
        """Count a failed attempt without a pause (the next broker node is tried at once)."""
        if self._outage_start is None:
            self._outage_start = self._clock()
        self.attempts += 1

    def next_pause(self, *, refused: bool = False) -> float:
        """Seconds to wait after a failed attempt (or a lost session)."""
        self.note_attempt()
        jitter = random.uniform(0.8, 1.2)  # spreading a fleet, not secrecy
        if not refused and self.outage_seconds < self.fast_window:
            return self.first * jitter
        pause = self._delay * jitter
        self._delay = min(self._delay * 2, self.ceiling)
        return pause
