"""Pick the signal-filter implementation: the compiled kernels when built, else the Python twins.

Set ``COSALETTE_PURE_PYTHON=1`` to force the pure-Python twins (e.g. to compare or debug).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

__all__ = ["IMPLEMENTATION", "Filter", "MedianFilter", "OneEuroFilter", "Pt1Filter"]


@runtime_checkable
class Filter(Protocol):
    """Signal filter contract: ``update`` each reading, read ``value``, ``reset`` to re-seed."""

    @property
    def value(self) -> float | None:
        """Current filtered value, or None before the first update."""
        ...

    def update(self, raw: float) -> float:
        """Feed a raw measurement and return the filtered value (the first passes through)."""
        ...

    def reset(self) -> None:
        """Clear internal state so the next update re-seeds."""
        ...


def _pure_python_forced() -> bool:
    """Tell whether the environment asks for the pure-Python twins."""
    return os.environ.get("COSALETTE_PURE_PYTHON", "").strip().lower() in {"1", "true", "yes"}


IMPLEMENTATION: Literal["cython", "python"]

if TYPE_CHECKING:
    # Both implementations share one interface; type-check against the Python twins.
    from cosalette._filters_py import MedianFilter, OneEuroFilter, Pt1Filter

    IMPLEMENTATION = "python"
else:
    IMPLEMENTATION = "python"
    if not _pure_python_forced():
        try:
            from cosalette._cfilters import MedianFilter, OneEuroFilter, Pt1Filter
        except ImportError:
            pass
        else:
            IMPLEMENTATION = "cython"
    if IMPLEMENTATION == "python":
        from cosalette._filters_py import MedianFilter, OneEuroFilter, Pt1Filter
