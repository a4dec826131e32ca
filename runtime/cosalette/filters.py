"""Public home of the signal filters that smooth or clean readings before they are published.

``IMPLEMENTATION`` tells which implementation is active: ``"cython"`` (compiled) or
``"python"`` (pure-Python twins, identical results).
"""

from cosalette._filters import IMPLEMENTATION, Filter, MedianFilter, OneEuroFilter, Pt1Filter

__all__ = ["IMPLEMENTATION", "Filter", "MedianFilter", "OneEuroFilter", "Pt1Filter"]
