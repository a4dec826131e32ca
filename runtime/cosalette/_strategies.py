"""Publish strategies: decide which telemetry results reach MQTT, decoupling probe from publish."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from cosalette._clock import ClockPort
from cosalette._composite import flatten

__all__ = [
    "AllStrategy",
    "AnyStrategy",
    "Every",
    "OnChange",
    "PublishStrategy",
]


@runtime_checkable
class PublishStrategy(Protocol):
    """Publish-decision contract: the device loop asks before each publish and reports after it."""

    def should_publish(
        self,
        current: dict[str, object],
        previous: dict[str, object] | None,
    ) -> bool:
        """Return True to publish *current*; *previous* is the last published payload."""
        ...

    def on_published(self) -> None:
        """Reset internal state (counters, timestamps) after a successful publish."""
        ...


class _StrategyBase:
    """Shared base giving strategies ``|``/``&`` composition and the framework's clock hook."""

    def should_publish(
        self,
        current: dict[str, object],
        previous: dict[str, object] | None,
    ) -> bool:
        """Return True if *current* should be published; subclasses decide."""
        raise NotImplementedError

    def on_published(self) -> None:
        """Do nothing by default; stateful strategies reset here."""

    def _bind(self, clock: ClockPort) -> None:
        """Receive the runtime clock before the loop starts; clock-free strategies ignore it."""

    def __or__(self, other: _StrategyBase) -> AnyStrategy:
        if not isinstance(other, _StrategyBase):
            return NotImplemented
        return AnyStrategy(self, other)

    def __and__(self, other: _StrategyBase) -> AllStrategy:
        if not isinstance(other, _StrategyBase):
            return NotImplemented
        return AllStrategy(self, other)


def _is_number(value: object) -> bool:
    """Tell numeric payload values apart; bools are flags, not numbers."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_threshold(value: object, what: str) -> float:
    """Validate one dead-band value so a typo fails at decoration time, not in the loop."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{what} must be a number, got {type(value).__name__}"
        raise TypeError(msg)
    if math.isnan(value) or value < 0:
        msg = f"{what} must be non-negative, got {value}"
        raise ValueError(msg)
    return float(value)


class Every(_StrategyBase):
    """Throttle publishing to once per ``seconds`` of clock time, or to every ``n``-th result."""

    def __init__(self, *, seconds: float | None = None, n: int | None = None) -> None:
        if (seconds is None) == (n is None):
            msg = "Every() needs exactly one of 'seconds' or 'n'"
            raise ValueError(msg)
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                msg = f"'seconds' must be a number, got {type(seconds).__name__}"
                raise TypeError(msg)
            if not math.isfinite(seconds) or seconds <= 0:
                msg = f"'seconds' must be positive and finite, got {seconds}"
                raise ValueError(msg)
        if n is not None:
            if isinstance(n, bool) or not isinstance(n, int):
                msg = f"'n' must be an int, got {type(n).__name__}"
                raise TypeError(msg)
            if n <= 0:
                msg = f"'n' must be positive, got {n}"
                raise ValueError(msg)
        self._seconds = None if seconds is None else float(seconds)
        self._n = n
        self._clock: ClockPort | None = None
        self._last_publish: float | None = None
        self._count = 0

    def __repr__(self) -> str:
        if self._seconds is not None:
            return f"Every(seconds={self._seconds!r})"
        return f"Every(n={self._n!r})"

    def _bind(self, clock: ClockPort) -> None:
        """Use *clock* for time mode; rebinding forgets the previous publish time."""
        self._clock = clock
        self._last_publish = None

    def should_publish(
        self,
        current: dict[str, object],
        previous: dict[str, object] | None,
    ) -> bool:
        """Say yes once the interval has elapsed (time mode) or on the n-th call (count mode)."""
        if self._seconds is not None:
            if self._clock is None or self._last_publish is None:
                return True
            return self._clock.now() - self._last_publish >= self._seconds
        self._count += 1
        assert self._n is not None
        return self._count >= self._n

    def on_published(self) -> None:
        """Start a new interval (time mode) or a new count (count mode)."""
        if self._seconds is not None:
            if self._clock is not None:
                self._last_publish = self._clock.now()
        else:
            self._count = 0


class OnChange(_StrategyBase):
    """Publish when the payload differs from the last published one, optionally with a dead band."""

    def __init__(self, *, threshold: float | dict[str, float] | None = None) -> None:
        self._global: float | None = None
        self._per_field: dict[str, float] | None = None
        if isinstance(threshold, dict):
            per_field: dict[str, float] = {}
            for field, value in threshold.items():
                if not isinstance(field, str):
                    msg = f"Threshold keys must be field names (str), got {field!r}"
                    raise TypeError(msg)
                per_field[field] = _check_threshold(value, f"Threshold for {field!r}")
            self._per_field = per_field
        elif threshold is not None:
            self._global = _check_threshold(threshold, "Threshold")

    def __repr__(self) -> str:
        if self._per_field is not None:
            return f"OnChange(threshold={self._per_field!r})"
        if self._global is not None:
            return f"OnChange(threshold={self._global!r})"
        return "OnChange()"

    def should_publish(
        self,
        current: dict[str, object],
        previous: dict[str, object] | None,
    ) -> bool:
        """Say yes on the first payload, on structural changes, or when any leaf changed enough."""
        if previous is None:
            return True
        if self._global is None and self._per_field is None:
            return current != previous
        return self._changed(current, previous, "")

    def _changed(
        self,
        current: Mapping[str, object],
        previous: Mapping[str, object],
        prefix: str,
    ) -> bool:
        """Walk both payloads together; added or removed keys count as a change at any depth."""
        if current.keys() != previous.keys():
            return True
        for key, now in current.items():
            before = previous[key]
            path = f"{prefix}{key}"
            if isinstance(now, Mapping) and isinstance(before, Mapping):
                if self._changed(now, before, path + "."):
                    return True
            elif self._leaf_changed(now, before, path):
                return True
        return False

    def _leaf_changed(self, now: object, before: object, path: str) -> bool:
        """Compare one leaf: numbers against their dead band, everything else by inequality."""
        per_field = self._per_field
        threshold = per_field.get(path) if per_field is not None else self._global
        if threshold is None or not (_is_number(now) and _is_number(before)):
            return now != before
        assert isinstance(now, int | float) and isinstance(before, int | float)
        now_nan = isinstance(now, float) and math.isnan(now)
        before_nan = isinstance(before, float) and math.isnan(before)
        if now_nan or before_nan:
            # NaN has no distance: moving into or out of NaN is a change, NaN to NaN is not.
            return now_nan != before_nan
        return abs(now - before) > threshold


class _Composite(_StrategyBase):
    """Shared machinery of the AND/OR composites: flattening, eager evaluation, forwarding."""

    _symbol = "?"

    def __init__(self, *children: _StrategyBase) -> None:
        self._children: tuple[_StrategyBase, ...] = flatten(
            self, children, kind=_StrategyBase, what="publish strategy"
        )

    @property
    def children(self) -> tuple[_StrategyBase, ...]:
        """The flattened child strategies, in evaluation order."""
        return self._children

    def __repr__(self) -> str:
        return "(" + f" {self._symbol} ".join(repr(c) for c in self._children) + ")"

    def _results(
        self,
        current: dict[str, object],
        previous: dict[str, object] | None,
    ) -> list[bool]:
        # A list, not a generator: every child must see every reading so counters advance.
        return [child.should_publish(current, previous) for child in self._children]

    def _bind(self, clock: ClockPort) -> None:
        """Hand the clock to every child."""
        for child in self._children:
            child._bind(clock)  # noqa: SLF001 - the spec names the strategy hook _bind

    def on_published(self) -> None:
        """Tell every child that a publish happened."""
        for child in self._children:
            child.on_published()


class AllStrategy(_Composite):
    """AND composite (``a & b``): publish only when every child agrees, e.g. to debounce changes."""

    _symbol = "&"

    def should_publish(
        self,
        current: dict[str, object],
        previous: dict[str, object] | None,
    ) -> bool:
        """Ask every child, then say yes only if all said yes."""
        return all(self._results(current, previous))


class AnyStrategy(_Composite):
    """OR composite (``a | b``): publish when any child says yes, e.g. change plus heartbeat."""

    _symbol = "|"

    def should_publish(
        self,
        current: dict[str, object],
        previous: dict[str, object] | None,
    ) -> bool:
        """Ask every child, then say yes if any said yes."""
        return any(self._results(current, previous))
