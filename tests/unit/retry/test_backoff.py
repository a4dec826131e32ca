"""Backoff strategies: nominal delays, ±20 % jitter, caps and input validation."""

from __future__ import annotations

import random

import pytest

from cosalette import BackoffStrategy, ExponentialBackoff, FixedBackoff, LinearBackoff


class FixedRandom(random.Random):
    """A random source whose uniform() always returns one end of the range."""

    def __init__(self, end: str) -> None:
        super().__init__(0)
        self.end = end

    def uniform(self, a: float, b: float) -> float:
        return a if self.end == "low" else b


def nominal(strategy_cls: type, attempt: int, **kwargs: float) -> float:
    """The midpoint of the jitter range, from a strategy whose jitter is pinned to each end."""
    low = strategy_cls(**kwargs, rng=FixedRandom("low")).delay(attempt)
    high = strategy_cls(**kwargs, rng=FixedRandom("high")).delay(attempt)
    assert low == pytest.approx(0.8 * (low + high) / 2)
    return float((low + high) / 2)


def test_exponential_doubles_then_caps() -> None:
    delays = [nominal(ExponentialBackoff, n, base=1.0, max_delay=10.0) for n in range(1, 7)]
    assert delays == pytest.approx([1, 2, 4, 8, 10, 10])


def test_exponential_defaults() -> None:
    assert nominal(ExponentialBackoff, 1) == pytest.approx(2.0)
    assert nominal(ExponentialBackoff, 10) == pytest.approx(60.0)


def test_linear_grows_by_step_then_caps() -> None:
    delays = [nominal(LinearBackoff, n, step=3.0, max_delay=10.0) for n in range(1, 6)]
    assert delays == pytest.approx([3, 6, 9, 10, 10])


def test_fixed_is_constant() -> None:
    assert [nominal(FixedBackoff, n, delay=4.0) for n in (1, 5, 50)] == pytest.approx([4.0] * 3)
    assert nominal(FixedBackoff, 1) == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("strategy", "attempt", "expected"),
    [
        (ExponentialBackoff(base=2.0, max_delay=60.0, rng=random.Random(1)), 3, 8.0),
        (LinearBackoff(step=2.0, max_delay=60.0, rng=random.Random(2)), 4, 8.0),
        (FixedBackoff(delay=5.0, rng=random.Random(3)), 7, 5.0),
    ],
)
def test_jitter_stays_within_twenty_percent_and_varies(
    strategy: BackoffStrategy, attempt: int, expected: float
) -> None:
    samples = [strategy.delay(attempt) for _ in range(500)]
    assert all(0.8 * expected <= s <= 1.2 * expected for s in samples)
    assert min(samples) < 0.85 * expected and max(samples) > 1.15 * expected


def test_same_seed_gives_same_delays() -> None:
    a = ExponentialBackoff(rng=random.Random(42))
    b = ExponentialBackoff(rng=random.Random(42))
    assert [a.delay(n) for n in range(1, 8)] == [b.delay(n) for n in range(1, 8)]


def test_huge_attempt_numbers_stay_capped() -> None:
    assert ExponentialBackoff(max_delay=30.0).delay(10_000) <= 36.0


def test_strategies_satisfy_the_protocol() -> None:
    for strategy in (ExponentialBackoff(), LinearBackoff(), FixedBackoff()):
        assert isinstance(strategy, BackoffStrategy)


@pytest.mark.parametrize(
    "build",
    [
        lambda: ExponentialBackoff(base=0),
        lambda: ExponentialBackoff(base=-1.0),
        lambda: ExponentialBackoff(max_delay=0),
        lambda: LinearBackoff(step=0),
        lambda: LinearBackoff(max_delay=-5),
        lambda: FixedBackoff(delay=0),
        lambda: FixedBackoff(delay=-1),
        lambda: FixedBackoff(delay=float("nan")),
    ],
)
def test_non_positive_values_are_rejected(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_attempts_are_one_based() -> None:
    with pytest.raises(ValueError, match="1-based"):
        FixedBackoff().delay(0)
