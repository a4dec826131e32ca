"""The compiled filters and their pure-Python twins give bit-identical floats."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from cosalette import _filters_py

# CI builds the extension, so a missing one is a failure here, never a skip.
_cfilters: Any = importlib.import_module("cosalette._cfilters")

readings = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=60,
)
positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)
beta = st.floats(min_value=0.0, max_value=10.0, allow_nan=False, allow_infinity=False)


def assert_twins(make: Callable[[Any], Any], xs: list[float]) -> None:
    """Feed both implementations the same readings and compare every output exactly."""
    compiled, pure = make(_cfilters), make(_filters_py)
    assert type(compiled) is not type(pure)
    for i, x in enumerate(xs):
        got, want = compiled.update(x), pure.update(x)
        assert got == want, f"update #{i}: {got!r} != {want!r}"
        assert compiled.value == pure.value
    compiled.reset()
    pure.reset()
    assert compiled.value is None and pure.value is None
    assert compiled.update(xs[-1]) == pure.update(xs[-1])


def test_extension_is_built() -> None:
    assert _cfilters.__name__ == "cosalette._cfilters"
    assert not _cfilters.__file__.endswith(".py")


@settings(max_examples=300, deadline=None)
@given(xs=readings, tau=positive, dt=positive)
def test_pt1_twins(xs: list[float], tau: float, dt: float) -> None:
    assert_twins(lambda m: m.Pt1Filter(tau, dt), xs)


@settings(max_examples=300, deadline=None)
@given(xs=readings, window=st.integers(min_value=1, max_value=16))
def test_median_twins(xs: list[float], window: int) -> None:
    assert_twins(lambda m: m.MedianFilter(window), xs)


@settings(max_examples=300, deadline=None)
@given(xs=readings, min_cutoff=positive, b=beta, d_cutoff=positive, dt=positive)
def test_one_euro_twins(
    xs: list[float], min_cutoff: float, b: float, d_cutoff: float, dt: float
) -> None:
    assert_twins(lambda m: m.OneEuroFilter(min_cutoff, b, d_cutoff, dt), xs)


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.Pt1Filter(0, 1),
        lambda m: m.MedianFilter(0),
        lambda m: m.OneEuroFilter(beta=-1),
        lambda m: m.OneEuroFilter(dt=float("nan")),
    ],
)
def test_twins_reject_the_same_parameters(make: Callable[[Any], Any]) -> None:
    for module in (_cfilters, _filters_py):
        with pytest.raises(ValueError):
            make(module)
