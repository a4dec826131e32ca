"""Save policies decide when a device's store is written, alone or composed with | and &."""

from __future__ import annotations

import pytest

from cosalette.persist import (
    AllSavePolicy,
    AnySavePolicy,
    PersistPolicy,
    SaveOnChange,
    SaveOnPublish,
    SaveOnShutdown,
)
from cosalette.stores import DeviceStore, MemoryStore


def store(dirty: bool) -> DeviceStore:
    s = DeviceStore(MemoryStore(), "dev")
    s.load()
    if dirty:
        s["x"] = 1
    return s


CASES = [(dirty, published) for dirty in (False, True) for published in (False, True)]


class Counting:
    """A hand-written policy (no base class) that records how often it was asked."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.calls = 0

    def should_save(self, store: DeviceStore, published: bool) -> bool:
        self.calls += 1
        return self.answer


@pytest.mark.parametrize(("dirty", "published"), CASES)
def test_simple_policies(dirty: bool, published: bool) -> None:
    s = store(dirty)
    assert SaveOnPublish().should_save(s, published) is published
    assert SaveOnChange().should_save(s, published) is dirty
    assert SaveOnShutdown().should_save(s, published) is False


def test_policies_satisfy_the_protocol() -> None:
    for policy in (SaveOnPublish(), SaveOnChange(), SaveOnShutdown(), Counting(True)):
        assert isinstance(policy, PersistPolicy)


@pytest.mark.parametrize(("dirty", "published"), CASES)
def test_operators_build_and_or_composites(dirty: bool, published: bool) -> None:
    s = store(dirty)
    either = SaveOnPublish() | SaveOnChange()
    both = SaveOnPublish() & SaveOnChange()
    assert isinstance(either, AnySavePolicy)
    assert isinstance(both, AllSavePolicy)
    assert either.should_save(s, published) is (dirty or published)
    assert both.should_save(s, published) is (dirty and published)


def test_nested_composites_of_the_same_kind_flatten() -> None:
    a, b, c = SaveOnPublish(), SaveOnChange(), SaveOnShutdown()
    assert AnySavePolicy(AnySavePolicy(a, b), c)._children == (a, b, c)
    assert AllSavePolicy(AllSavePolicy(a, b), c)._children == (a, b, c)
    assert (a | b | c)._children == (a, b, c)
    mixed = AnySavePolicy(AllSavePolicy(a, b), c)
    assert len(mixed._children) == 2


def test_every_child_is_asked_each_cycle() -> None:
    first, second = Counting(True), Counting(False)
    assert AnySavePolicy(first, second).should_save(store(False), False) is True
    assert AllSavePolicy(second, first).should_save(store(False), False) is False
    assert first.calls == 2 and second.calls == 2


def test_composites_need_children_that_are_policies() -> None:
    with pytest.raises(ValueError, match="at least one"):
        AnySavePolicy()
    with pytest.raises(ValueError, match="at least one"):
        AllSavePolicy()
    with pytest.raises(TypeError):
        AnySavePolicy(object())  # type: ignore[arg-type]


def test_operator_with_a_non_policy_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        SaveOnPublish() | 1  # type: ignore[operator]


def test_repr_shows_the_composition() -> None:
    assert repr(SaveOnPublish() | SaveOnChange()) == "(SaveOnPublish() | SaveOnChange())"
