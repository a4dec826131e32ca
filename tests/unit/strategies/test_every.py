"""Every(): time- and count-based publish throttling."""

from __future__ import annotations

import pytest

from cosalette.strategies import Every

PAYLOAD: dict[str, object] = {"celsius": 21.5}


class ManualClock:
    """A clock the test moves by hand, so no test ever sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


def run(strategy: Every, readings: int) -> list[bool]:
    """Drive the strategy like the device loop: ask, and report each publish."""
    decisions = []
    for _ in range(readings):
        publish = strategy.should_publish(PAYLOAD, PAYLOAD)
        if publish:
            strategy.on_published()
        decisions.append(publish)
    return decisions


class TestCountMode:
    def test_publishes_every_nth_reading(self) -> None:
        assert run(Every(n=3), 9) == [False, False, True] * 3

    def test_n_one_publishes_every_reading(self) -> None:
        assert run(Every(n=1), 4) == [True] * 4

    def test_counter_keeps_advancing_until_a_publish_happens(self) -> None:
        every = Every(n=2)
        assert every.should_publish(PAYLOAD, PAYLOAD) is False
        assert every.should_publish(PAYLOAD, PAYLOAD) is True
        # Not published (e.g. another strategy vetoed): still due on the next reading.
        assert every.should_publish(PAYLOAD, PAYLOAD) is True
        every.on_published()
        assert every.should_publish(PAYLOAD, PAYLOAD) is False

    def test_needs_no_clock(self) -> None:
        every = Every(n=2)
        assert [every.should_publish(PAYLOAD, None) for _ in range(2)] == [False, True]


class TestTimeMode:
    def test_unbound_strategy_always_publishes(self) -> None:
        every = Every(seconds=60)
        assert run(every, 3) == [True, True, True]

    def test_publishes_at_most_once_per_interval(self) -> None:
        clock = ManualClock()
        every = Every(seconds=30)
        every._bind(clock)
        assert every.should_publish(PAYLOAD, None) is True
        every.on_published()
        clock.t += 10
        assert every.should_publish(PAYLOAD, PAYLOAD) is False
        clock.t += 19.5
        assert every.should_publish(PAYLOAD, PAYLOAD) is False
        clock.t += 0.5  # exactly 30 s since the last publish
        assert every.should_publish(PAYLOAD, PAYLOAD) is True
        every.on_published()
        clock.t += 29
        assert every.should_publish(PAYLOAD, PAYLOAD) is False

    def test_interval_restarts_from_the_actual_publish(self) -> None:
        clock = ManualClock()
        every = Every(seconds=10)
        every._bind(clock)
        every.on_published()
        clock.t += 25  # long gap: one publish, not a burst of catch-up publishes
        assert every.should_publish(PAYLOAD, PAYLOAD) is True
        every.on_published()
        clock.t += 5
        assert every.should_publish(PAYLOAD, PAYLOAD) is False

    def test_first_call_after_binding_publishes(self) -> None:
        every = Every(seconds=5)
        every._bind(ManualClock())
        assert every.should_publish(PAYLOAD, PAYLOAD) is True

    def test_repeated_asks_without_publish_do_not_reset_interval(self) -> None:
        clock = ManualClock()
        every = Every(seconds=10)
        every._bind(clock)
        every.on_published()
        for _ in range(5):
            clock.t += 1
            assert every.should_publish(PAYLOAD, PAYLOAD) is False
        clock.t += 5
        assert every.should_publish(PAYLOAD, PAYLOAD) is True


class TestValidation:
    @pytest.mark.parametrize(
        "kwargs",
        [
            {},
            {"seconds": 1, "n": 1},
            {"seconds": 0},
            {"seconds": -1.5},
            {"seconds": float("inf")},
            {"seconds": float("nan")},
            {"n": 0},
            {"n": -3},
        ],
    )
    def test_rejects_invalid_arguments(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(ValueError):
            Every(**kwargs)  # type: ignore[arg-type]

    @pytest.mark.parametrize("kwargs", [{"n": 2.5}, {"n": True}, {"seconds": "5"}])
    def test_rejects_wrong_types(self, kwargs: dict[str, object]) -> None:
        with pytest.raises(TypeError):
            Every(**kwargs)  # type: ignore[arg-type]

    def test_keyword_only(self) -> None:
        with pytest.raises(TypeError):
            Every(5)  # type: ignore[call-arg]

    def test_accepts_fractional_seconds(self) -> None:
        assert repr(Every(seconds=0.25)) == "Every(seconds=0.25)"
        assert repr(Every(n=4)) == "Every(n=4)"
