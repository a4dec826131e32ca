"""Pure-Python signal filters, used when the Cython kernels are not built.

Every arithmetic step mirrors ``cython/filters.pyx`` in the same order, so both give
bit-identical floats; change them together.
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_left, insort
from collections import deque

__all__ = ["MedianFilter", "OneEuroFilter", "Pt1Filter"]

_TWO_PI = 2.0 * math.pi


def _positive(name: str, value: object) -> float:
    """Return *value* as a float, rejecting non-numbers, non-finite and non-positive values."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        msg = f"{name} must be a number, got {type(value).__name__}"
        raise ValueError(msg)
    result = float(value)
    if not math.isfinite(result) or result <= 0.0:
        msg = f"{name} must be positive and finite, got {value!r}"
        raise ValueError(msg)
    return result


def _as_float(raw: object) -> float:
    """Coerce a reading the way a C ``double`` argument would: numbers yes, strings no."""
    if isinstance(raw, str | bytes | bytearray):
        msg = f"must be real number, not {type(raw).__name__}"
        raise TypeError(msg)
    return float(raw)  # type: ignore[arg-type]


def _alpha(cutoff: float, w: float) -> float:
    """Smoothing factor 1/(1 + tau/dt), tau = 1/(2 pi cutoff), as r/(r+1) with r = cutoff * w.

    *w* is ``2 pi dt``; the single division keeps the compiled twin near call-overhead cost.
    """
    r = w * cutoff
    return r / (r + 1.0)


class Pt1Filter:
    """First-order low-pass (PT1), time constant ``tau``, sample interval ``dt``: smooths noise."""

    __slots__ = ("_alpha", "_dt", "_seeded", "_tau", "_y")

    def __init__(self, tau: float, dt: float) -> None:
        self._tau = _positive("tau", tau)
        self._dt = _positive("dt", dt)
        self._alpha = self._dt / (self._tau + self._dt)
        self._y = 0.0
        self._seeded = False

    def __repr__(self) -> str:
        return f"Pt1Filter(tau={self._tau!r}, dt={self._dt!r})"

    @property
    def tau(self) -> float:
        """Time constant in seconds (read-only)."""
        return self._tau

    @property
    def dt(self) -> float:
        """Sample interval in seconds (read-only)."""
        return self._dt

    @property
    def alpha(self) -> float:
        """Smoothing factor ``dt / (tau + dt)`` (read-only)."""
        return self._alpha

    @property
    def value(self) -> float | None:
        """Current filtered value, or None before the first update."""
        return self._y if self._seeded else None

    def update(self, raw: float) -> float:
        """Feed one reading and return the smoothed value; the first reading passes through."""
        x = raw if type(raw) is float else _as_float(raw)
        if self._seeded:
            self._y = self._y + self._alpha * (x - self._y)
        else:
            self._y = x
            self._seeded = True
        return self._y

    def reset(self) -> None:
        """Forget the history so the next reading seeds the filter again."""
        self._y = 0.0
        self._seeded = False


class MedianFilter:
    """Median of the last ``window`` readings: rejects isolated spikes and outliers."""

    __slots__ = ("_recent", "_sorted", "_value", "_window")

    def __init__(self, window: int) -> None:
        if isinstance(window, bool) or not isinstance(window, numbers.Integral):
            msg = f"window must be an int, got {type(window).__name__}"
            raise ValueError(msg)
        if window < 1:
            msg = f"window must be at least 1, got {window!r}"
            raise ValueError(msg)
        self._window: int = int(window)
        self._recent: deque[float] = deque()
        self._sorted: list[float] = []
        self._value: float | None = None

    def __repr__(self) -> str:
        return f"MedianFilter(window={self._window!r})"

    @property
    def window(self) -> int:
        """Number of readings the median is taken over (read-only)."""
        return self._window

    @property
    def value(self) -> float | None:
        """Current filtered value, or None before the first update."""
        return self._value

    def update(self, raw: float) -> float:
        """Feed one reading and return the median of the window; NaN is rejected (unorderable)."""
        x = raw if type(raw) is float else _as_float(raw)
        if x != x:
            msg = "MedianFilter cannot order NaN readings"
            raise ValueError(msg)
        ordered = self._sorted
        if len(self._recent) == self._window:
            del ordered[bisect_left(ordered, self._recent.popleft())]
        self._recent.append(x)
        insort(ordered, x)
        count = len(ordered)
        half = count >> 1
        result = ordered[half] if count & 1 else ordered[half - 1] * 0.5 + ordered[half] * 0.5
        self._value = result
        return result

    def reset(self) -> None:
        """Empty the window so the next reading seeds the filter again."""
        self._recent.clear()
        self._sorted.clear()
        self._value = None


class OneEuroFilter:
    """Adaptive low-pass (1€ filter, Casiez 2012): smooth when still, responsive when moving."""

    __slots__ = (
        "_alpha_d",
        "_beta",
        "_d_cutoff",
        "_dt",
        "_dx",
        "_min_cutoff",
        "_rate",
        "_seeded",
        "_w",
        "_x",
    )

    def __init__(
        self,
        min_cutoff: float = 1.0,
        beta: float = 0.0,
        d_cutoff: float = 1.0,
        dt: float = 1.0,
    ) -> None:
        self._min_cutoff = _positive("min_cutoff", min_cutoff)
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
            msg = f"beta must be a number, got {type(beta).__name__}"
            raise ValueError(msg)
        self._beta: float = float(beta)
        if not math.isfinite(self._beta) or self._beta < 0.0:
            msg = f"beta must be non-negative and finite, got {beta!r}"
            raise ValueError(msg)
        self._d_cutoff: float = _positive("d_cutoff", d_cutoff)
        self._dt: float = _positive("dt", dt)
        self._rate: float = 1.0 / self._dt
        self._w: float = _TWO_PI * self._dt
        self._alpha_d: float = _alpha(self._d_cutoff, self._w)
        self._x: float = 0.0
        self._dx: float = 0.0
        self._seeded: bool = False

    def __repr__(self) -> str:
        return (
            f"OneEuroFilter(min_cutoff={self._min_cutoff!r}, beta={self._beta!r}, "
            f"d_cutoff={self._d_cutoff!r}, dt={self._dt!r})"
        )

    @property
    def min_cutoff(self) -> float:
        """Minimum cutoff frequency in Hz (read-only)."""
        return self._min_cutoff

    @property
    def beta(self) -> float:
        """Speed coefficient: how fast the cutoff rises with the rate of change (read-only)."""
        return self._beta

    @property
    def d_cutoff(self) -> float:
        """Cutoff frequency in Hz for the derivative (read-only)."""
        return self._d_cutoff

    @property
    def dt(self) -> float:
        """Sample interval in seconds (read-only)."""
        return self._dt

    @property
    def value(self) -> float | None:
        """Current filtered value, or None before the first update."""
        return self._x if self._seeded else None

    def update(self, raw: float) -> float:
        """Feed one reading and return the filtered value; the first reading passes through."""
        x = raw if type(raw) is float else _as_float(raw)
        if not self._seeded:
            self._x = x
            self._dx = 0.0
            self._seeded = True
            return x
        prev = self._x
        dx = (x - prev) * self._rate
        dx_hat = self._dx + self._alpha_d * (dx - self._dx)
        cutoff = self._min_cutoff + self._beta * abs(dx_hat)
        r = self._w * cutoff
        alpha = r / (r + 1.0)
        self._x = prev + alpha * (x - prev)
        self._dx = dx_hat
        return self._x

    def reset(self) -> None:
        """Forget the history so the next reading seeds the filter again."""
        self._x = 0.0
        self._dx = 0.0
        self._seeded = False
