"""What the fuzz tests share: one app started once per test, nasty payloads, and the checks.

Hypothesis runs examples synchronously, so :class:`Driver` keeps its own event loop: the
app starts once, every example is delivered on that loop, and the loop's exception handler
records whatever would otherwise go unnoticed (a task that died with nobody awaiting it).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings, strategies as st

from cosalette.testing import AppHarness, settle

T = TypeVar("T")

LIMIT = 16384
"""``mqtt.max_payload_bytes`` of the fuzzed apps: room for JSON nested thousands deep."""

DEPTH = 64
"""The nesting the runtime accepts in a JSON payload (``cosalette._json.MAX_DEPTH``)."""


def fuzz_settings(examples: int) -> settings:
    """A fixed, reproducible example budget (no database, no deadline)."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,  # a fixture used per example is rewritten
        ],
    )


def decode(raw: bytes) -> str:
    """Bytes as the MQTT client hands them to the runtime (invalid UTF-8 replaced)."""
    return raw.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- payloads


def _deep(n: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * n + b"]" * n
    if kind == "object":
        return b'{"a":' * n + b"1" + b"}" * n
    return b'{"command":' * n + b'"on"' + b"}" * n  # deep, but the key is there


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


_DEPTHS = st.integers(0, 2 * DEPTH) | st.integers(2 * DEPTH, 2500)
"""Around the nesting limit, and past any recursion limit (hypothesis raises it by 2000)."""


def nasty_payloads() -> st.SearchStrategy[bytes]:
    """Binary, invalid UTF-8, empty, huge, deeply nested, and merely odd JSON."""
    return st.one_of(
        st.just(b""),
        st.binary(max_size=64),
        st.binary(min_size=1, max_size=32).map(lambda b: b"\xff\xfe" + b),  # never UTF-8
        st.text(max_size=64).map(lambda t: t.encode("utf-8", "surrogatepass")),
        _JSON.map(lambda v: json.dumps(v).encode()),
        st.builds(_deep, _DEPTHS, st.sampled_from(["array", "object", "key"])),
        st.integers(LIMIT - 4, LIMIT + 64).map(lambda n: b'{"x":"' + b"y" * n + b'"}'),
        st.integers(1, 3 * LIMIT).map(lambda n: b"\x00" * n),
    )


# --------------------------------------------------------------------------- oracles


def too_deep(text: str) -> bool:
    """Whether *text* is JSON nested deeper than DEPTH (an oracle independent of the runtime)."""
    try:
        data = json.loads(text)
    except RecursionError:
        return True
    except ValueError:
        return False
    level, frontier = 0, [data]
    while frontier:
        nodes = [n for n in frontier if isinstance(n, dict | list)]
        if nodes:
            level += 1
        frontier = []
        for node in nodes:
            frontier += node.values() if isinstance(node, dict) else node
    return level > DEPTH


def json_object(text: str) -> dict[str, Any] | None:
    """*text* as a JSON object nested at most DEPTH deep, else None."""
    if too_deep(text):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def too_large(text: str) -> bool:
    """Whether the runtime rejects *text* by size (it measures the decoded text's UTF-8)."""
    return len(text.encode("utf-8", "surrogatepass")) > LIMIT


# --------------------------------------------------------------------------- driving


@dataclass
class Outcome:
    """What one delivery published, by kind."""

    topic: str
    states: list[str] = field(default_factory=list)
    device_errors: list[dict[str, Any]] = field(default_factory=list)
    app_errors: list[dict[str, Any]] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)

    def handled(self) -> None:
        """Assert the message reached its handler: a state, and no error anywhere."""
        assert self.states, f"{self.topic}: nothing published: {self}"
        assert not self.device_errors and not self.app_errors, f"{self.topic}: {self}"

    def rejected(self, error_type: str) -> None:
        """Assert exactly one error of *error_type* on the device's and the app's error topic."""
        assert not self.states, f"{self.topic}: a rejected message published state: {self}"
        assert len(self.device_errors) == 1 and len(self.app_errors) == 1, self
        assert self.device_errors[0] == self.app_errors[0], self
        got = self.app_errors[0]
        assert got["error_type"] == error_type, f"{self.topic}: {got}"
        assert got["message"], got

    def ignored(self) -> None:
        """Assert nothing at all was published."""
        assert not (self.states or self.device_errors or self.app_errors or self.other), self


class Driver:
    """An AppHarness started once on a private loop; each example is delivered to it."""

    def __init__(self, harness: AppHarness) -> None:
        self.harness = harness
        self.prefix = harness.prefix
        self.loop = asyncio.new_event_loop()
        self.loop_errors: list[dict[str, Any]] = []
        self.loop.set_exception_handler(lambda _loop, context: self.loop_errors.append(context))
        self.unhandled: list[logging.LogRecord] = []

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run *coro* to completion on the driver's loop."""
        return self.loop.run_until_complete(coro)

    def send(self, topic: str, raw: bytes | str, *, device: str) -> Outcome:
        """Deliver *raw* on *topic* as the MQTT client would; what it published."""
        text = raw if isinstance(raw, str) else decode(raw)
        before = len(self.harness.mqtt.published)
        self.run(self._deliver(topic, text))
        return self.outcome(topic, device, before)

    async def _deliver(self, topic: str, text: str) -> None:
        await self.harness.mqtt.deliver(topic, text)
        await settle()

    def outcome(self, topic: str, device: str, since: int) -> Outcome:
        """Sort what was published since index *since*."""
        out = Outcome(topic)
        base = f"{self.prefix}/{device}"
        for t, payload, _retain, _qos in self.harness.mqtt.published[since:]:
            if t.startswith(f"{base}/") and t.endswith("/state"):  # its own or a sub-entity's
                out.states.append(payload)
            elif t == f"{base}/error":
                out.device_errors.append(json.loads(payload))
            elif t == f"{self.prefix}/error":
                out.app_errors.append(json.loads(payload))
            else:
                out.other.append((t, payload))
        return out

    def assert_alive(self, *, collect: bool = True) -> None:
        """No crash: the app still runs, no task died unseen, no message error went unhandled.

        With *collect*, garbage is collected first: a task that died with nobody awaiting it
        is reported only then.
        """
        task = self.harness._task
        assert task is not None and not task.done(), "the app stopped"
        if collect:
            gc.collect()
        assert not self.loop_errors, self.loop_errors
        assert not self.unhandled, [r.getMessage() for r in self.unhandled]


class _Recorder(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


@contextmanager
def driving(harness: AppHarness) -> Iterator[Driver]:
    """Start *harness* on a Driver's loop; stop it and close the loop on the way out.

    The runtime's own log lines are silenced (hundreds of rejected messages), except the
    "unhandled error" ones of the per-entity queues, which the Driver records.
    """
    driver = Driver(harness)
    quiet = logging.getLogger("cosalette")
    queues = logging.getLogger("cosalette._runners.fifo")
    levels = quiet.level, queues.level
    recorder = _Recorder(driver.unhandled)
    quiet.setLevel(logging.CRITICAL)
    queues.setLevel(logging.ERROR)
    queues.addHandler(recorder)
    try:
        driver.run(harness.start())
        yield driver
        driver.assert_alive()
        driver.run(harness.stop())
    finally:
        queues.removeHandler(recorder)
        quiet.setLevel(levels[0])
        queues.setLevel(levels[1])
        if harness._task is not None:
            harness.trigger_shutdown()
            driver.run(harness.stop())
        driver.loop.run_until_complete(driver.loop.shutdown_asyncgens())
        driver.loop.close()
