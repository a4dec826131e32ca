# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=True
"""Compiled signal filters, built as ``cosalette._cfilters``.

Each ``update`` repeats the arithmetic of ``runtime/cosalette/_filters_py.py`` step for
step (built with ``-ffp-contract=off`` so no multiply-add is fused), keeping both
implementations bit-identical; change them together. No divisor can be zero once the
constructor checks have passed, which is why ``cdivision`` is safe.
"""

import math
import numbers

from libc.math cimport fabs
from libc.stdlib cimport free, malloc

__all__ = ["MedianFilter", "OneEuroFilter", "Pt1Filter"]

# Taken from Python so both twins start from the very same double.
cdef double TWO_PI = 2.0 * math.pi


cdef double _positive(str name, object value) except? -1.0:
    """Return *value* as a double, rejecting non-numbers, non-finite and non-positive values."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {type(value).__name__}")
    cdef double result = float(value)
    if not math.isfinite(result) or result <= 0.0:
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return result


cdef inline double _alpha(double cutoff, double w) noexcept nogil:
    """Smoothing factor 1/(1 + tau/dt), tau = 1/(2 pi cutoff), as r/(r+1) with r = cutoff * w.

    *w* is ``2 pi dt``; one division instead of three keeps ``update`` near call-overhead cost.
    """
    cdef double r = w * cutoff
    return r / (r + 1.0)


cdef class Pt1Filter:
    """First-order low-pass (PT1) with time constant ``tau`` at sample interval ``dt``."""

    cdef double _tau
    cdef double _dt
    cdef double _alpha
    cdef double _y
    cdef bint _seeded

    def __init__(self, tau, dt):
        self._tau = _positive("tau", tau)
        self._dt = _positive("dt", dt)
        self._alpha = self._dt / (self._tau + self._dt)
        self._y = 0.0
        self._seeded = False

    def __repr__(self):
        return f"Pt1Filter(tau={self._tau!r}, dt={self._dt!r})"

    @property
    def tau(self):
        """Time constant in seconds (read-only)."""
        return self._tau

    @property
    def dt(self):
        """Sample interval in seconds (read-only)."""
        return self._dt

    @property
    def alpha(self):
        """Smoothing factor ``dt / (tau + dt)`` (read-only)."""
        return self._alpha

    @property
    def value(self):
        """Current filtered value, or None before the first update."""
        return self._y if self._seeded else None

    def update(self, double raw):
        """Feed one reading and return the smoothed value; the first reading passes through."""
        if self._seeded:
            self._y = self._y + self._alpha * (raw - self._y)
        else:
            self._y = raw
            self._seeded = True
        return self._y

    def reset(self):
        """Forget the history so the next reading seeds the filter again."""
        self._y = 0.0
        self._seeded = False


cdef class MedianFilter:
    """Median of the last ``window`` readings, kept in a ring buffer plus a sorted copy."""

    cdef Py_ssize_t _window
    cdef Py_ssize_t _count
    cdef Py_ssize_t _head
    cdef double *_ring
    cdef double *_sorted
    cdef double _value
    cdef bint _seeded

    def __cinit__(self, *args, **kwargs):
        self._ring = NULL
        self._sorted = NULL

    def __init__(self, window):
        if isinstance(window, bool) or not isinstance(window, numbers.Integral):
            raise ValueError(f"window must be an int, got {type(window).__name__}")
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window!r}")
        cdef Py_ssize_t size = window
        free(self._ring)
        free(self._sorted)
        self._ring = NULL
        self._sorted = NULL
        self._ring = <double *> malloc(size * sizeof(double))
        self._sorted = <double *> malloc(size * sizeof(double))
        if self._ring == NULL or self._sorted == NULL:
            raise MemoryError()
        self._window = size
        self._count = 0
        self._head = 0
        self._value = 0.0
        self._seeded = False

    def __dealloc__(self):
        free(self._ring)
        free(self._sorted)

    def __repr__(self):
        return f"MedianFilter(window={self._window!r})"

    @property
    def window(self):
        """Number of readings the median is taken over (read-only)."""
        return self._window

    @property
    def value(self):
        """Current filtered value, or None before the first update."""
        return self._value if self._seeded else None

    def update(self, double raw):
        """Feed one reading and return the median of the window; NaN is rejected (unorderable)."""
        if raw != raw:
            raise ValueError("MedianFilter cannot order NaN readings")
        cdef double *ordered = self._sorted
        cdef Py_ssize_t n = self._count
        cdef Py_ssize_t i, lo, hi, mid
        cdef double old
        if n < self._window:
            # Filling up: insert after equal entries (like insort), shifting the tail right.
            lo = 0
            hi = n
            while lo < hi:
                mid = (lo + hi) >> 1
                if raw < ordered[mid]:
                    hi = mid
                else:
                    lo = mid + 1
            i = n
            while i > lo:
                ordered[i] = ordered[i - 1]
                i -= 1
            ordered[lo] = raw
            n += 1
            self._count = n
        else:
            # Full: the oldest leaves, found leftmost-equal like bisect_left. Removing it and
            # inserting raw (like insort) only moves the entries between the two positions:
            # if raw >= old its slot lies right of i, else left, so one shift does both.
            lo = 0
            hi = n
            old = self._ring[self._head]
            while lo < hi:
                mid = (lo + hi) >> 1
                if ordered[mid] < old:
                    lo = mid + 1
                else:
                    hi = mid
            i = lo
            if raw >= ordered[i]:
                while i + 1 < n and not (raw < ordered[i + 1]):
                    ordered[i] = ordered[i + 1]
                    i += 1
            else:
                while i > 0 and raw < ordered[i - 1]:
                    ordered[i] = ordered[i - 1]
                    i -= 1
            ordered[i] = raw
        self._ring[self._head] = raw
        self._head += 1
        if self._head == self._window:
            self._head = 0
        mid = n >> 1
        if n & 1:
            self._value = ordered[mid]
        else:
            self._value = ordered[mid - 1] * 0.5 + ordered[mid] * 0.5
        self._seeded = True
        return self._value

    def reset(self):
        """Empty the window so the next reading seeds the filter again."""
        self._count = 0
        self._head = 0
        self._value = 0.0
        self._seeded = False


cdef class OneEuroFilter:
    """Adaptive low-pass (1€ filter, Casiez 2012): smooth when still, responsive when moving."""

    cdef double _min_cutoff
    cdef double _beta
    cdef double _d_cutoff
    cdef double _dt
    cdef double _alpha_d
    cdef double _rate
    cdef double _w
    cdef double _x
    cdef double _dx
    cdef bint _seeded

    def __init__(self, min_cutoff=1.0, beta=0.0, d_cutoff=1.0, dt=1.0):
        self._min_cutoff = _positive("min_cutoff", min_cutoff)
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
            raise ValueError(f"beta must be a number, got {type(beta).__name__}")
        self._beta = float(beta)
        if not math.isfinite(self._beta) or self._beta < 0.0:
            raise ValueError(f"beta must be non-negative and finite, got {beta!r}")
        self._d_cutoff = _positive("d_cutoff", d_cutoff)
        self._dt = _positive("dt", dt)
        self._rate = 1.0 / self._dt
        self._w = TWO_PI * self._dt
        self._alpha_d = _alpha(self._d_cutoff, self._w)
        self._x = 0.0
        self._dx = 0.0
        self._seeded = False

    def __repr__(self):
        return (
            f"OneEuroFilter(min_cutoff={self._min_cutoff!r}, beta={self._beta!r}, "
            f"d_cutoff={self._d_cutoff!r}, dt={self._dt!r})"
        )

    @property
    def min_cutoff(self):
        """Minimum cutoff frequency in Hz (read-only)."""
        return self._min_cutoff

    @property
    def beta(self):
        """Speed coefficient: how fast the cutoff rises with the rate of change (read-only)."""
        return self._beta

    @property
    def d_cutoff(self):
        """Cutoff frequency in Hz for the derivative (read-only)."""
        return self._d_cutoff

    @property
    def dt(self):
        """Sample interval in seconds (read-only)."""
        return self._dt

    @property
    def value(self):
        """Current filtered value, or None before the first update."""
        return self._x if self._seeded else None

    def update(self, double raw):
        """Feed one reading and return the filtered value; the first reading passes through."""
        cdef double prev, dx, dx_hat, cutoff, r, alpha
        if not self._seeded:
            self._x = raw
            self._dx = 0.0
            self._seeded = True
            return raw
        prev = self._x
        dx = (raw - prev) * self._rate
        dx_hat = self._dx + self._alpha_d * (dx - self._dx)
        cutoff = self._min_cutoff + self._beta * fabs(dx_hat)
        r = self._w * cutoff
        alpha = r / (r + 1.0)
        self._x = prev + alpha * (raw - prev)
        self._dx = dx_hat
        return self._x

    def reset(self):
        """Forget the history so the next reading seeds the filter again."""
        self._x = 0.0
        self._dx = 0.0
        self._seeded = False
