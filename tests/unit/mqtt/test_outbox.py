"""The bounded outbox: order, newest retained per topic wins, drop-oldest when full."""

from __future__ import annotations

import pytest

from cosalette._mqtt.outbox import Outbox, OutboxEntry


def plain(topic: str, payload: str) -> OutboxEntry:
    return OutboxEntry(topic, payload, retain=False, qos=1)


def retained(topic: str, payload: str) -> OutboxEntry:
    return OutboxEntry(topic, payload, retain=True, qos=1)


def drain(outbox: Outbox) -> list[tuple[str, str]]:
    out = []
    while outbox:
        entry = outbox.popleft()
        out.append((entry.topic, entry.payload))
    return out


def test_fifo_order() -> None:
    box = Outbox(10)
    for i in range(5):
        assert box.append(plain("t", str(i))) is None
    assert len(box) == 5
    assert drain(box) == [("t", str(i)) for i in range(5)]
    assert not box


def test_pop_from_empty_raises() -> None:
    with pytest.raises(IndexError):
        Outbox(3).popleft()


def test_negative_capacity_rejected() -> None:
    with pytest.raises(ValueError, match="capacity"):
        Outbox(-1)


def test_retained_newest_per_topic_wins_and_takes_the_newest_position() -> None:
    box = Outbox(10)
    box.append(retained("a/state", "1"))
    box.append(plain("a/event", "x"))
    box.append(retained("b/state", "b1"))
    box.append(retained("a/state", "2"))
    box.append(retained("a/state", "3"))
    assert drain(box) == [("a/event", "x"), ("b/state", "b1"), ("a/state", "3")]
    assert box.dropped == 0  # superseding is not dropping


def test_non_retained_messages_on_the_same_topic_are_all_kept() -> None:
    box = Outbox(10)
    for i in range(3):
        box.append(plain("a/event", str(i)))
    assert [p for _, p in drain(box)] == ["0", "1", "2"]


def test_full_drops_oldest_non_retained() -> None:
    box = Outbox(2)
    box.append(retained("r", "keep"))
    box.append(plain("t", "0"))
    box.append(plain("t", "1"))
    dropped = box.append(plain("t", "2"))
    assert dropped == plain("t", "0")
    assert box.dropped == 1
    assert drain(box) == [("r", "keep"), ("t", "1"), ("t", "2")]


def test_retained_messages_do_not_count_and_are_never_dropped() -> None:
    box = Outbox(1)
    box.append(retained("a", "1"))
    box.append(retained("b", "1"))
    assert box.append(plain("c", "1")) is None  # the capacity bounds plain messages only
    assert box.append(plain("d", "1")) == plain("c", "1")
    assert box.append(retained("a", "2")) is None  # the newer state replaces the older
    assert box.dropped == 1
    assert drain(box) == [("b", "1"), ("d", "1"), ("a", "2")]


def test_requeue_keeps_every_retained_message_when_full() -> None:
    box = Outbox(1)
    box.append(plain("p", "new"))
    lost = box.requeue([retained("s1", "x"), plain("p", "old"), retained("s2", "y")])
    assert lost == 1  # only the plain one
    assert drain(box) == [("s1", "x"), ("s2", "y"), ("p", "new")]


def test_retained_replacement_when_full_does_not_drop() -> None:
    box = Outbox(2)
    box.append(retained("a", "1"))
    box.append(plain("t", "x"))
    assert box.append(retained("a", "2")) is None
    assert box.dropped == 0
    assert drain(box) == [("t", "x"), ("a", "2")]


def test_drop_count_accumulates() -> None:
    box = Outbox(2)
    for i in range(10):
        box.append(plain("t", str(i)))
    assert box.dropped == 8
    assert [p for _, p in drain(box)] == ["8", "9"]


def test_zero_capacity_drops_everything() -> None:
    box = Outbox(0)
    entry = plain("t", "x")
    assert box.append(entry) is entry
    assert box.dropped == 1
    assert not box


def test_requeue_puts_entries_back_in_front_in_order() -> None:
    box = Outbox(10)
    box.append(plain("t", "new"))
    lost = box.requeue([plain("t", "old1"), plain("t", "old2")])
    assert lost == 0
    assert [p for _, p in drain(box)] == ["old1", "old2", "new"]


def test_requeue_skips_retained_superseded_by_a_queued_newer_one() -> None:
    box = Outbox(10)
    box.append(retained("a", "newer"))
    assert box.requeue([retained("a", "older"), retained("b", "only")]) == 1
    assert drain(box) == [("b", "only"), ("a", "newer")]


def test_requeue_into_a_full_outbox_drops_the_requeued_oldest() -> None:
    box = Outbox(2)
    box.append(plain("t", "2"))
    assert box.requeue([plain("t", "0"), plain("t", "1")]) == 1
    assert box.dropped == 1
    assert [p for _, p in drain(box)] == ["1", "2"]


def test_requeued_retained_is_replaced_by_a_later_append() -> None:
    box = Outbox(5)
    box.requeue([retained("a", "old")])
    box.append(retained("a", "new"))
    assert drain(box) == [("a", "new")]


def test_discard_retained_and_clear() -> None:
    box = Outbox(5)
    box.append(retained("a", "1"))
    box.append(plain("a", "2"))
    assert box.discard_retained("a") is True
    assert box.discard_retained("a") is False
    assert [e.payload for e in box] == ["2"]
    box.clear()
    assert len(box) == 0
    box.append(retained("a", "3"))  # the retained index was cleared with the entries
    assert drain(box) == [("a", "3")]
