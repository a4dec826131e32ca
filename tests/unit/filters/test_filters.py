"""Signal filters: seeding, reset, validation and known outputs, for both implementations."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from typing import Any

import pytest

import cosalette.filters
from cosalette import _filters_py


def _compiled() -> Any:
    return pytest.importorskip("cosalette._cfilters", reason="Cython extension not built")


@pytest.fixture(params=["python", "cython"])
def impl(request: pytest.FixtureRequest) -> Any:
    """Each test runs against the pure-Python twins and the compiled kernels."""
    return _filters_py if request.param == "python" else _compiled()


def make(impl: Any, name: str) -> Any:
    factories = {
        "pt1": lambda: impl.Pt1Filter(tau=2.0, dt=1.0),
        "median": lambda: impl.MedianFilter(window=3),
        "one_euro": lambda: impl.OneEuroFilter(min_cutoff=0.5, beta=0.1),
    }
    return factories[name]()


ALL = ["pt1", "median", "one_euro"]


@pytest.mark.parametrize("name", ALL)
class TestLifecycle:
    def test_value_is_none_before_first_update(self, impl: Any, name: str) -> None:
        assert make(impl, name).value is None

    def test_first_update_passes_the_reading_through(self, impl: Any, name: str) -> None:
        f = make(impl, name)
        assert f.update(21.7) == 21.7
        assert f.value == 21.7

    def test_value_tracks_the_last_output(self, impl: Any, name: str) -> None:
        f = make(impl, name)
        outputs = [f.update(x) for x in (1.0, 5.0, 2.0, 8.0)]
        assert f.value == outputs[-1]

    def test_reset_makes_the_next_update_seed_again(self, impl: Any, name: str) -> None:
        f = make(impl, name)
        for x in (1.0, 50.0, 3.0):
            f.update(x)
        f.reset()
        assert f.value is None
        assert f.update(-4.5) == -4.5
        assert f.update(-4.5) == -4.5

    def test_constant_input_gives_constant_output(self, impl: Any, name: str) -> None:
        f = make(impl, name)
        assert {f.update(3.25) for _ in range(20)} == {3.25}

    def test_accepts_ints_and_returns_floats(self, impl: Any, name: str) -> None:
        f = make(impl, name)
        first = f.update(4)
        assert type(first) is float and first == 4.0
        assert type(f.update(6)) is float

    def test_rejects_strings(self, impl: Any, name: str) -> None:
        with pytest.raises(TypeError):
            make(impl, name).update("1.0")

    def test_satisfies_the_filter_protocol(self, impl: Any, name: str) -> None:
        assert isinstance(make(impl, name), cosalette.filters.Filter)


class TestPt1:
    def test_known_step_response(self, impl: Any) -> None:
        f = impl.Pt1Filter(tau=1.0, dt=1.0)  # alpha = dt / (tau + dt) = 0.5
        assert [f.update(x) for x in (0.0, 10.0, 10.0, 10.0)] == [0.0, 5.0, 7.5, 8.75]

    def test_larger_tau_smooths_more(self, impl: Any) -> None:
        slow, fast = impl.Pt1Filter(tau=10.0, dt=1.0), impl.Pt1Filter(tau=0.5, dt=1.0)
        for f in (slow, fast):
            f.update(0.0)
        assert slow.update(1.0) < fast.update(1.0)

    def test_converges_to_a_constant_input(self, impl: Any) -> None:
        f = impl.Pt1Filter(tau=3.0, dt=1.0)
        f.update(0.0)
        for _ in range(200):
            f.update(1.0)
        assert f.value == pytest.approx(1.0)

    @pytest.mark.parametrize(
        "tau, dt", [(0, 1), (-1, 1), (1, 0), (1, -2), (math.inf, 1), (1, math.nan), ("1", 1)]
    )
    def test_rejects_invalid_parameters(self, impl: Any, tau: Any, dt: Any) -> None:
        with pytest.raises(ValueError):
            impl.Pt1Filter(tau, dt)


class TestMedian:
    def test_known_odd_window(self, impl: Any) -> None:
        f = impl.MedianFilter(3)
        assert [f.update(x) for x in (5, 1, 9, 2, 8, 100)] == [5, 3, 5, 2, 8, 8]

    def test_even_window_averages_the_middle_pair(self, impl: Any) -> None:
        f = impl.MedianFilter(4)
        assert [f.update(x) for x in (1, 2, 3, 4, 10)] == [1, 1.5, 2, 2.5, 3.5]

    def test_rejects_an_isolated_spike(self, impl: Any) -> None:
        f = impl.MedianFilter(5)
        out = [f.update(x) for x in (20.0, 20.1, 999.0, 20.2, 19.9, 20.0)]
        assert max(out) < 21

    def test_window_of_one_is_identity(self, impl: Any) -> None:
        f = impl.MedianFilter(1)
        assert [f.update(x) for x in (3.0, -1.0, 7.5)] == [3.0, -1.0, 7.5]

    def test_window_slides_over_duplicates(self, impl: Any) -> None:
        f = impl.MedianFilter(3)
        assert [f.update(x) for x in (1, 1, 5, 5, 5, 1, 1)] == [1, 1, 1, 5, 5, 5, 1]

    def test_rejects_nan(self, impl: Any) -> None:
        with pytest.raises(ValueError):
            impl.MedianFilter(3).update(math.nan)

    def test_infinities_are_ordered(self, impl: Any) -> None:
        f = impl.MedianFilter(3)
        assert [f.update(x) for x in (1.0, math.inf, -math.inf)] == [1.0, math.inf, 1.0]

    @pytest.mark.parametrize("window", [0, -1, 2.5, 3.0, True, "3", None])
    def test_rejects_invalid_window(self, impl: Any, window: Any) -> None:
        with pytest.raises(ValueError):
            impl.MedianFilter(window)


class TestOneEuro:
    def test_without_beta_it_is_a_fixed_low_pass(self, impl: Any) -> None:
        # cutoff 1/(2*pi) Hz at dt = 1 s gives tau = dt, so alpha = 0.5.
        f = impl.OneEuroFilter(min_cutoff=1 / (2 * math.pi), beta=0.0, dt=1.0)
        out = [f.update(x) for x in (0.0, 10.0, 10.0)]
        assert out == pytest.approx([0.0, 5.0, 7.5])

    def test_beta_makes_it_follow_fast_moves(self, impl: Any) -> None:
        calm = impl.OneEuroFilter(min_cutoff=0.05, beta=0.0)
        eager = impl.OneEuroFilter(min_cutoff=0.05, beta=1.0)
        for f in (calm, eager):
            f.update(0.0)
        assert abs(100.0 - eager.update(100.0)) < abs(100.0 - calm.update(100.0))

    def test_smooths_jitter_on_a_still_signal(self, impl: Any) -> None:
        f = impl.OneEuroFilter(min_cutoff=0.1, beta=0.01)
        out = [f.update(20.0 + (0.5 if i % 2 else -0.5)) for i in range(50)]
        assert max(out[10:]) - min(out[10:]) < 0.5

    def test_defaults(self, impl: Any) -> None:
        f = impl.OneEuroFilter()
        f.update(0.0)
        assert 0.0 < f.update(1.0) < 1.0

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"min_cutoff": 0},
            {"min_cutoff": -1},
            {"d_cutoff": 0},
            {"dt": 0},
            {"dt": -0.1},
            {"beta": -0.5},
            {"beta": math.nan},
            {"min_cutoff": math.inf},
        ],
    )
    def test_rejects_invalid_parameters(self, impl: Any, kwargs: dict[str, float]) -> None:
        with pytest.raises(ValueError):
            impl.OneEuroFilter(**kwargs)


class TestImplementationChoice:
    def test_public_names(self) -> None:
        assert cosalette.filters.IMPLEMENTATION in {"cython", "python"}
        active = _compiled() if cosalette.filters.IMPLEMENTATION == "cython" else _filters_py
        assert cosalette.filters.Pt1Filter is active.Pt1Filter
        assert cosalette.filters.MedianFilter is active.MedianFilter
        assert cosalette.filters.OneEuroFilter is active.OneEuroFilter

    def test_compiled_kernels_are_preferred(self) -> None:
        _compiled()
        assert cosalette.filters.IMPLEMENTATION == "cython"

    def test_environment_forces_pure_python(self) -> None:
        code = (
            "import cosalette.filters as f, cosalette._filters_py as p;"
            "print(f.IMPLEMENTATION, f.Pt1Filter is p.Pt1Filter)"
        )
        env = {**os.environ, "COSALETTE_PURE_PYTHON": "1"}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.split() == ["python", "True"]
