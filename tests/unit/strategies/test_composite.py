"""Composing strategies with | and &: flattening, eager evaluation, forwarding."""

from __future__ import annotations

import pytest

from cosalette.strategies import AllStrategy, AnyStrategy, Every, OnChange, PublishStrategy


class ManualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


def drive(strategy: PublishStrategy, payloads: list[dict[str, object]]) -> list[bool]:
    """Run the device loop's protocol: the first payload is published by the framework."""
    previous = payloads[0]
    strategy.on_published()
    decisions = [True]
    for payload in payloads[1:]:
        publish = strategy.should_publish(payload, previous)
        if publish:
            strategy.on_published()
            previous = payload
        decisions.append(publish)
    return decisions


def test_operators_build_composites() -> None:
    a, b = OnChange(), Every(n=2)
    assert isinstance(a | b, AnyStrategy)
    assert isinstance(a & b, AllStrategy)
    assert isinstance(a | b, PublishStrategy)


def test_nested_same_kind_composites_flatten() -> None:
    a, b, c = OnChange(), Every(n=2), Every(n=3)
    assert (a | b | c).children == (a, b, c)
    assert (a & (b & c)).children == (a, b, c)
    assert AnyStrategy(AnyStrategy(a, b), c).children == (a, b, c)


def test_mixed_composites_do_not_flatten() -> None:
    a, b, c = OnChange(), Every(n=2), Every(n=3)
    mixed = (a & b) | c
    assert len(mixed.children) == 2
    assert isinstance(mixed.children[0], AllStrategy)


def test_change_or_heartbeat() -> None:
    strategy = OnChange() | Every(n=3)
    same: dict[str, object] = {"t": 1}
    changed: dict[str, object] = {"t": 2}
    readings = [same, same, same, same, changed, changed, changed, changed]
    assert drive(strategy, readings) == [
        True,  # first result: published by the framework
        False,
        False,
        True,  # heartbeat: third reading since the last publish
        True,  # change
        False,
        False,
        True,  # heartbeat again
    ]


def test_any_evaluates_every_child() -> None:
    # OnChange says yes each time; Every(n=2) must still count each reading.
    every = Every(n=2)
    strategy = OnChange() | every
    assert strategy.should_publish({"t": 2}, {"t": 1}) is True
    assert every.should_publish({}, None) is True  # its counter saw the first reading


def test_all_evaluates_every_child() -> None:
    every = Every(n=2)
    strategy = OnChange() & every
    assert strategy.should_publish({"t": 1}, {"t": 1}) is False  # no change, counter at 1
    assert strategy.should_publish({"t": 2}, {"t": 1}) is True  # change and counter at 2


def test_debounce_with_and() -> None:
    clock = ManualClock()
    strategy = OnChange() & Every(seconds=30)
    strategy._bind(clock)
    strategy.on_published()
    clock.t = 10
    assert strategy.should_publish({"t": 2}, {"t": 1}) is False  # changed, too soon
    clock.t = 31
    assert strategy.should_publish({"t": 1}, {"t": 1}) is False  # due, unchanged
    assert strategy.should_publish({"t": 2}, {"t": 1}) is True


def test_bind_reaches_nested_children() -> None:
    clock = ManualClock()
    timed = Every(seconds=5)
    strategy = OnChange() & (Every(n=1) | timed)
    strategy._bind(clock)
    strategy.on_published()
    assert timed.should_publish({}, {}) is False  # bound: 0 s since the publish
    clock.t = 5
    assert timed.should_publish({}, {}) is True


def test_on_published_reaches_every_child() -> None:
    a, b = Every(n=2), Every(n=2)
    strategy = a | b
    strategy.should_publish({}, {})
    strategy.on_published()
    assert a.should_publish({}, {}) is False
    assert b.should_publish({}, {}) is False


@pytest.mark.parametrize("composite", [AllStrategy, AnyStrategy])
def test_requires_a_child(composite: type[AllStrategy] | type[AnyStrategy]) -> None:
    with pytest.raises(ValueError):
        composite()


@pytest.mark.parametrize("composite", [AllStrategy, AnyStrategy])
def test_rejects_non_strategies(composite: type[AllStrategy] | type[AnyStrategy]) -> None:
    with pytest.raises(TypeError):
        composite(OnChange(), "often")  # type: ignore[arg-type]


def test_operator_with_non_strategy_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        OnChange() | 5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Every(n=1) & None  # type: ignore[operator]


def test_repr_shows_the_composition() -> None:
    assert repr(OnChange() | Every(n=3)) == "(OnChange() | Every(n=3))"
