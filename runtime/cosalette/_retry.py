"""Telemetry retry helpers: jittered backoff delays and a circuit breaker for failing handlers."""

from __future__ import annotations

import math
import random
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "BackoffStrategy",
    "CircuitBreaker",
    "ExponentialBackoff",
    "FixedBackoff",
    "LinearBackoff",
]

_JITTER = 0.2
_MAX_EXPONENT = 1000  # 2.0 ** 1000 is still a finite float; beyond it ** would overflow


@runtime_checkable
class BackoffStrategy(Protocol):
    """Backoff-delay contract: the framework asks how long to wait before retry *attempt*."""

    def delay(self, attempt: int) -> float:
        """Return the delay in seconds before *attempt* (1-based)."""
        ...


def _positive(value: float, name: str) -> float:
    """Validate one backoff parameter so a typo fails at construction, not mid-retry."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number, got {type(value).__name__}"
        raise TypeError(msg)
    if not math.isfinite(value) or value <= 0:
        msg = f"{name} must be positive and finite, got {value}"
        raise ValueError(msg)
    return float(value)


def _check_attempt(attempt: int) -> int:
    """Reject attempt numbers below 1: attempts are counted from one."""
    if isinstance(attempt, bool) or not isinstance(attempt, int):
        msg = f"attempt must be an int, got {type(attempt).__name__}"
        raise TypeError(msg)
    if attempt < 1:
        msg = f"attempt is 1-based, got {attempt}"
        raise ValueError(msg)
    return attempt


class _JitteredBackoff:
    """Shared ±20 % jitter so many devices retrying together do not hit a bus in lockstep."""

    def __init__(self, rng: random.Random | None) -> None:
        self._rng = rng if rng is not None else random.Random()

    def _base_delay(self, attempt: int) -> float:
        """Return the un-jittered delay for *attempt*; subclasses implement it."""
        raise NotImplementedError

    def delay(self, attempt: int) -> float:
        """Return the delay in seconds before *attempt* (1-based), within ±20 % of the nominal."""
        nominal = self._base_delay(_check_attempt(attempt))
        return nominal * self._rng.uniform(1.0 - _JITTER, 1.0 + _JITTER)


class ExponentialBackoff(_JitteredBackoff):
    """Delays that double each attempt, ``min(base * 2**(attempt-1), max_delay)``, jittered."""

    def __init__(
        self,
        base: float = 2.0,
        max_delay: float = 60.0,
        *,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(rng)
        self._base = _positive(base, "base")
        self._max_delay = _positive(max_delay, "max_delay")

    def _base_delay(self, attempt: int) -> float:
        return min(self._base * 2.0 ** min(attempt - 1, _MAX_EXPONENT), self._max_delay)

    def __repr__(self) -> str:
        return f"ExponentialBackoff(base={self._base!r}, max_delay={self._max_delay!r})"


class LinearBackoff(_JitteredBackoff):
    """Delays that grow by *step* each attempt, ``min(step * attempt, max_delay)``, jittered."""

    def __init__(
        self,
        step: float = 2.0,
        max_delay: float = 60.0,
        *,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(rng)
        self._step = _positive(step, "step")
        self._max_delay = _positive(max_delay, "max_delay")

    def _base_delay(self, attempt: int) -> float:
        return min(self._step * attempt, self._max_delay)

    def __repr__(self) -> str:
        return f"LinearBackoff(step={self._step!r}, max_delay={self._max_delay!r})"


class FixedBackoff(_JitteredBackoff):
    """The same delay before every attempt, jittered."""

    def __init__(self, delay: float = 5.0, *, rng: random.Random | None = None) -> None:
        super().__init__(rng)
        self._delay = _positive(delay, "delay")

    def _base_delay(self, attempt: int) -> float:
        return self._delay

    def __repr__(self) -> str:
        return f"FixedBackoff(delay={self._delay!r})"


_CircuitState = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    """Skips a handler after *threshold* consecutive failed cycles, then probes it again.

    Closed: every cycle runs. Open: the next cycle is skipped and the breaker turns half-open.
    Half-open: one probe runs; success closes the breaker, failure opens it again.
    """

    def __init__(self, threshold: int = 5) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
            msg = f"threshold must be a positive integer (>= 1), got {threshold!r}"
            raise ValueError(msg)
        self._threshold = threshold
        self._failures = 0
        self._state: _CircuitState = "closed"

    @property
    def threshold(self) -> int:
        """Consecutive failed cycles that open the circuit."""
        return self._threshold

    @property
    def state(self) -> str:
        """Current state: ``"closed"``, ``"open"`` or ``"half-open"``."""
        return self._state

    def record_success(self) -> None:
        """Record a cycle that succeeded: the failure count resets and the circuit closes."""
        self._failures = 0
        self._state = "closed"

    def record_failure(self) -> None:
        """Record a cycle whose retries were all exhausted; enough of them open the circuit."""
        self._failures += 1
        if self._failures >= self._threshold:
            self._state = "open"

    def should_attempt(self) -> bool:
        """Return True if the handler should run this cycle; an open circuit skips one cycle."""
        if self._state == "open":
            self._state = "half-open"
            return False
        return True

    def __repr__(self) -> str:
        return f"CircuitBreaker(threshold={self._threshold!r}, state={self._state!r})"
