"""Read-only filter parameters (tau, dt, alpha, window, …), equal in both implementations."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

import cosalette
from cosalette import _filters_py

# CI builds the extension, so a missing one is a failure here, never a skip.
_cfilters: Any = importlib.import_module("cosalette._cfilters")


@pytest.fixture(params=["python", "cython"])
def impl(request: pytest.FixtureRequest) -> Any:
    """Each test runs against the pure-Python twins and the compiled kernels."""
    return _filters_py if request.param == "python" else _cfilters


class TestPt1Attributes:
    def test_tau_dt_and_alpha(self, impl: Any) -> None:
        f = impl.Pt1Filter(tau=3.0, dt=1.0)
        assert (f.tau, f.dt, f.alpha) == (3.0, 1.0, 0.25)

    def test_alpha_is_dt_over_tau_plus_dt(self, impl: Any) -> None:
        f = impl.Pt1Filter(0.3, 0.7)
        assert f.alpha == 0.7 / (0.3 + 0.7)

    def test_alpha_is_the_step_response(self, impl: Any) -> None:
        f = impl.Pt1Filter(tau=4.0, dt=0.5)
        f.update(0.0)
        assert f.update(1.0) == f.alpha

    def test_ints_are_exposed_as_floats(self, impl: Any) -> None:
        f = impl.Pt1Filter(2, 1)
        assert type(f.tau) is float and type(f.dt) is float and type(f.alpha) is float

    @pytest.mark.parametrize("attr", ["tau", "dt", "alpha"])
    def test_read_only(self, impl: Any, attr: str) -> None:
        f = impl.Pt1Filter(2.0, 1.0)
        with pytest.raises(AttributeError):
            setattr(f, attr, 5.0)
        assert (f.tau, f.dt) == (2.0, 1.0)

    def test_unchanged_by_updates_and_reset(self, impl: Any) -> None:
        f = impl.Pt1Filter(2.0, 1.0)
        for x in (1.0, 9.0):
            f.update(x)
        f.reset()
        assert (f.tau, f.dt, f.alpha) == (2.0, 1.0, 1.0 / 3.0)


class TestMedianAttributes:
    def test_window(self, impl: Any) -> None:
        f = impl.MedianFilter(window=5)
        assert f.window == 5 and type(f.window) is int

    def test_read_only(self, impl: Any) -> None:
        f = impl.MedianFilter(3)
        with pytest.raises(AttributeError):
            f.window = 7
        assert f.window == 3


class TestOneEuroAttributes:
    def test_parameters(self, impl: Any) -> None:
        f = impl.OneEuroFilter(min_cutoff=0.5, beta=0.1, d_cutoff=2.0, dt=0.25)
        assert (f.min_cutoff, f.beta, f.d_cutoff, f.dt) == (0.5, 0.1, 2.0, 0.25)

    def test_defaults(self, impl: Any) -> None:
        f = impl.OneEuroFilter()
        assert (f.min_cutoff, f.beta, f.d_cutoff, f.dt) == (1.0, 0.0, 1.0, 1.0)

    def test_ints_are_exposed_as_floats(self, impl: Any) -> None:
        f = impl.OneEuroFilter(1, 0, 2, 3)
        values = (f.min_cutoff, f.beta, f.d_cutoff, f.dt)
        assert values == (1.0, 0.0, 2.0, 3.0)
        assert all(type(v) is float for v in values)

    @pytest.mark.parametrize("attr", ["min_cutoff", "beta", "d_cutoff", "dt"])
    def test_read_only(self, impl: Any, attr: str) -> None:
        f = impl.OneEuroFilter()
        with pytest.raises(AttributeError):
            setattr(f, attr, 5.0)
        assert getattr(f, attr) == (0.0 if attr == "beta" else 1.0)


@pytest.mark.parametrize(
    "make, attrs",
    [
        (lambda m: m.Pt1Filter(0.1, 0.2), ("tau", "dt", "alpha")),
        (lambda m: m.Pt1Filter(7, 0.3), ("tau", "dt", "alpha")),
        (lambda m: m.Pt1Filter(tau=1e-3, dt=123.456), ("tau", "dt", "alpha")),
        (lambda m: m.MedianFilter(1), ("window",)),
        (lambda m: m.MedianFilter(16), ("window",)),
        (lambda m: m.OneEuroFilter(), ("min_cutoff", "beta", "d_cutoff", "dt")),
        (
            lambda m: m.OneEuroFilter(0.3, 0.007, 0.9, 1 / 3),
            ("min_cutoff", "beta", "d_cutoff", "dt"),
        ),
    ],
)
def test_both_implementations_expose_identical_values(make: Any, attrs: tuple[str, ...]) -> None:
    compiled, pure = make(_cfilters), make(_filters_py)
    for attr in attrs:
        got, want = getattr(compiled, attr), getattr(pure, attr)
        assert got == want and type(got) is type(want), f"{attr}: {got!r} != {want!r}"


def test_public_classes_expose_the_attributes() -> None:
    pt1 = cosalette.Pt1Filter(tau=5.0, dt=10.0)
    assert (pt1.tau, pt1.dt, pt1.alpha) == (5.0, 10.0, 10.0 / 15.0)
    assert cosalette.MedianFilter(3).window == 3
    assert cosalette.OneEuroFilter(beta=0.5).beta == 0.5
