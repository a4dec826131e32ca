"""FIFO of outgoing messages: the newest retained message per topic is always kept (one per
topic, so it is bounded by the topics a bridge owns); non-retained ones are bounded by the
capacity, and the oldest go first when it is full."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One message waiting to be handed to the broker."""

    topic: str
    payload: str
    retain: bool = False
    qos: int = 1


class Outbox:
    """A synchronous message queue; ``dropped`` counts the non-retained messages overflow
    discarded."""

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            msg = f"outbox capacity must be >= 0, got {capacity}"
            raise ValueError(msg)
        self.capacity = capacity
        self.dropped = 0
        self._entries: OrderedDict[int, OutboxEntry] = OrderedDict()
        self._retained: dict[str, int] = {}
        self._keys = itertools.count()

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __iter__(self) -> Iterator[OutboxEntry]:
        return iter(list(self._entries.values()))

    @property
    def plain(self) -> int:
        """How many non-retained messages are queued (what the capacity bounds)."""
        return len(self._entries) - len(self._retained)

    def append(self, entry: OutboxEntry) -> OutboxEntry | None:
        """Queue *entry* at the back; return the entry dropped to make room, if any."""
        if entry.retain:
            self.discard_retained(entry.topic)
            self._insert(entry, front=False)
            return None
        if self.capacity == 0:
            self.dropped += 1
            return entry
        dropped = self._evict() if self.plain >= self.capacity else None
        self._insert(entry, front=False)
        return dropped

    def popleft(self) -> OutboxEntry:
        """Remove and return the oldest entry; ``IndexError`` when empty."""
        if not self._entries:
            raise IndexError("pop from an empty outbox")
        key, entry = self._entries.popitem(last=False)
        if entry.retain and self._retained.get(entry.topic) == key:
            del self._retained[entry.topic]
        return entry

    def requeue(self, entries: Iterable[OutboxEntry]) -> int:
        """Put *entries* (oldest first) back at the front, e.g. after a lost connection.

        A retained entry already superseded by a queued newer one is skipped; when the outbox
        is full, the excess oldest non-retained entries are dropped. Returns how many were
        dropped or skipped.
        """
        lost = 0
        for entry in reversed(list(entries)):
            if entry.retain:
                if entry.topic in self._retained:
                    lost += 1
                else:
                    self._insert(entry, front=True)
                continue
            if self.capacity == 0 or self.plain >= self.capacity:
                # The requeued entry is older than anything queued, so it is the one to go.
                self.dropped += 1
                lost += 1
                continue
            self._insert(entry, front=True)
        return lost

    def discard_retained(self, topic: str) -> bool:
        """Remove the queued retained entry for *topic*; return whether there was one."""
        key = self._retained.pop(topic, None)
        if key is None:
            return False
        del self._entries[key]
        return True

    def clear(self) -> None:
        """Remove every entry (the drop counter is kept)."""
        self._entries.clear()
        self._retained.clear()

    def _insert(self, entry: OutboxEntry, *, front: bool) -> None:
        key = next(self._keys)
        self._entries[key] = entry
        if front:
            self._entries.move_to_end(key, last=False)
        if entry.retain:
            self._retained[entry.topic] = key

    def _evict(self) -> OutboxEntry:
        """Drop the oldest non-retained entry (called only when there is one)."""
        victim = next(k for k, e in self._entries.items() if not e.retain)
        entry = self._entries.pop(victim)
        self.dropped += 1
        return entry
