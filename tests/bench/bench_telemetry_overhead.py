"""Benchmark: framework overhead per telemetry cycle, against a hand-written polling loop.

Both subjects run in one event loop, each on its own ``FakeClock`` and ``MockMqttClient``,
and are driven the same way: advance the clock by one interval, then yield to the loop
the minimal number of times (measured at start-up) until the task is asleep again. The
floor is what a user would write by hand: call the handler, publish its result retained
at QoS 1, sleep on the clock. Overhead = framework time per cycle - floor time per cycle.

A third subject is the framework with ``persist=SaveOnChange()`` on a store the handler leaves
unchanged: what persistence costs a cycle when there is nothing to save (no serialisation).

Every round checks that exactly one state publish and one handler call happened per cycle
and that the task is asleep at the next deadline, so skipped cycles cannot look fast.
Reports; never asserts the target. ``COSALETTE_BENCH_SMOKE=1`` uses small counts.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _report.py sits beside this file
from _report import report

import cosalette
from cosalette.testing import AppHarness, FakeClock, MockMqttClient, make_settings

SMOKE = os.environ.get("COSALETTE_BENCH_SMOKE", "") not in ("", "0")
CYCLES = 500 if SMOKE else 20_000  # cycles per timed round
ROUNDS = 3 if SMOKE else 9  # rounds per subject, interleaved; the fastest round counts
INTERVAL = 1.0
TOPIC = "bench/t/state"
FLOOR_NAME = "hand-written loop"
TARGET = "<=5 us/cycle (other impl ~63)"
PERSIST_TARGET_US = 0.5  # the issues' target for persistence and for retry, each
REACT_TARGET_US = 1.0  # a reactor dispatch with an empty drain
DISCOVERY_TARGET_US = 0.3  # "adds nothing": nothing runs per cycle, so only noise
MAX_YIELDS = 50


class _Subject:
    """One polling loop under test: its clock, its MQTT double and its handler-call count."""

    def __init__(self, name: str, clock: FakeClock, mqtt: MockMqttClient) -> None:
        self.name = name
        self.clock = clock
        self.mqtt = mqtt
        self.calls = 0
        self.yields = 0
        self.handler = self._make_handler()

    def _make_handler(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        """A plain async function (what users register); counts its calls on the subject."""
        subject = self

        async def read_sensor() -> dict[str, Any]:
            subject.calls += 1
            return {"temperature": 21.5, "humidity": 40}

        return read_sensor

    def states(self) -> int:
        return sum(1 for topic, *_ in self.mqtt.published if topic == TOPIC)

    def asleep(self) -> bool:
        """Whether the loop waits on the clock for exactly the next interval."""
        return self.clock.next_deadline() == self.clock.now() + INTERVAL and self.clock.pending == 1

    async def calibrate(self) -> None:
        """Find the minimal number of loop yields after which one full cycle has run."""
        for _ in range(3):
            before_calls, before_states = self.calls, self.states()
            self.clock.advance(INTERVAL)
            yields = 0
            while not (
                self.calls == before_calls + 1
                and self.states() == before_states + 1
                and self.asleep()
            ):
                await asyncio.sleep(0)
                yields += 1
                assert yields < MAX_YIELDS, f"{self.name}: a cycle did not finish"
            self.yields = max(self.yields, yields)

    async def timed_round(self, cycles: int) -> float:
        """Run *cycles* cycles; return microseconds per cycle after checking every one ran."""
        self.mqtt.published.clear()
        calls = self.calls
        advance, sleep, interval, yields = self.clock.advance, asyncio.sleep, INTERVAL, self.yields
        start = time.perf_counter_ns()
        for _ in range(cycles):
            advance(interval)
            for _ in range(yields):
                await sleep(0)
        elapsed = time.perf_counter_ns() - start
        assert self.calls - calls == cycles, f"{self.name}: {self.calls - calls} calls"
        assert self.states() == cycles, f"{self.name}: {self.states()} state publishes"
        assert len(self.mqtt.published) == cycles, f"{self.name}: unexpected publishes"
        assert self.asleep(), f"{self.name}: loop is behind the clock"
        return elapsed / cycles / 1000


async def _floor_loop(subject: _Subject, stop: asyncio.Event) -> None:
    """What a user writes by hand: call, publish retained QoS 1, sleep on the clock."""
    handler, publish, sleep = subject.handler, subject.mqtt.publish, subject.clock.sleep
    while not stop.is_set():
        result = await handler()
        await publish(TOPIC, result, retain=True, qos=1)
        await sleep(INTERVAL)


class _Quiet:
    """Shared state whose drain never has events (the reactor's common case)."""

    def drain_events(self) -> list[object]:
        return []


async def _never_called(events: list[object]) -> None:
    raise AssertionError("an empty drain must not call its reactor")


class _Reading(BaseModel):
    temperature: float
    humidity: int


async def _start_framework(
    name: str, *, persist: bool, retry: int = 0, react: bool = False, discovery: bool = False
) -> tuple[_Subject, AppHarness]:
    store = cosalette.MemoryStore() if persist else None
    app = cosalette.App("bench", heartbeat_interval=None, health_check_interval=None, store=store)
    subject = _Subject(name, FakeClock(), MockMqttClient())

    if react:

        def quiet() -> _Quiet:
            return _Quiet()

        app.state(quiet)
        app.react(_Quiet)(_never_called)
    policy = cosalette.SaveOnChange() if persist else None
    app.telemetry("t", interval=INTERVAL, persist=policy, retry=retry, state_model=_Reading)(
        subject.handler
    )
    settings: cosalette.Settings = make_settings(homeassistant={"discovery": discovery})
    harness = AppHarness(app=app, mqtt=subject.mqtt, clock=subject.clock, settings=settings)
    await harness.start()
    if discovery:  # the announcement at connect; the cycles below must not add to it
        assert any(t.startswith("homeassistant/") for t, *_ in subject.mqtt.published)
        subject.mqtt.published.clear()
        subject.mqtt.published.append((TOPIC, "{}", True, 1))  # the first cycle's state
    assert subject.calls == 1 and subject.states() == 1 and subject.asleep(), "first cycle"
    return subject, harness


async def measure() -> tuple[dict[str, float], int, int]:
    """Interleaved rounds: best us/cycle by subject, loop yields of framework and floor."""
    framework, harness = await _start_framework("framework", persist=False)
    persisting, persisting_harness = await _start_framework("persisting", persist=True)
    retrying, retrying_harness = await _start_framework("retrying", persist=False, retry=3)
    reacting, reacting_harness = await _start_framework("reacting", persist=False, react=True)
    discovering, discovering_harness = await _start_framework(
        "discovering", persist=False, discovery=True
    )
    floor = _Subject("floor", FakeClock(), MockMqttClient())
    stop = asyncio.Event()
    floor_task = asyncio.ensure_future(_floor_loop(floor, stop))
    await asyncio.sleep(0)
    assert floor.calls == 1 and floor.asleep(), "floor: first cycle"
    try:
        await framework.calibrate()
        await persisting.calibrate()
        await retrying.calibrate()
        await reacting.calibrate()
        await discovering.calibrate()
        await floor.calibrate()
        subjects: list[tuple[str, Callable[[int], Awaitable[float]]]] = [
            ("framework", framework.timed_round),
            ("persisting", persisting.timed_round),
            ("retrying", retrying.timed_round),
            ("reacting", reacting.timed_round),
            ("discovering", discovering.timed_round),
            ("floor", floor.timed_round),
        ]
        best = {name: float("inf") for name, _ in subjects}
        for round_no in range(ROUNDS):
            order = subjects if round_no % 2 == 0 else subjects[::-1]
            for name, timed in order:
                best[name] = min(best[name], await timed(CYCLES))
    finally:
        await harness.stop()
        await persisting_harness.stop()
        await retrying_harness.stop()
        await reacting_harness.stop()
        await discovering_harness.stop()
        stop.set()
        floor.clock.advance(INTERVAL)
        await floor_task
    return best, framework.yields, floor.yields


@pytest.mark.bench
def test_bench_telemetry_overhead() -> None:
    best, fw_yields, fl_yields = asyncio.run(measure())
    fw, fl = best["framework"], best["floor"]
    print(
        f"telemetry: {CYCLES} cycles x {ROUNDS} rounds, loop yields per cycle: "
        f"framework {fw_yields}, floor {fl_yields}",
        flush=True,
    )
    report("telemetry floor cycle", fl, "us/cycle", FLOOR_NAME, fl, "1.00x (floor)")
    report("telemetry framework cycle", fw, "us/cycle", FLOOR_NAME, fl, "report only")
    report("telemetry overhead", fw - fl, "us/cycle", FLOOR_NAME, fl, TARGET)
    for subject, label, without, target in (
        ("persisting", "persist=SaveOnChange, unchanged", "persistence", PERSIST_TARGET_US),
        ("retrying", "retry=3, never failing", "retry", PERSIST_TARGET_US),
        ("reacting", "reactor, empty drain", "reactors", REACT_TARGET_US),
        ("discovering", "HA discovery on", "discovery", DISCOVERY_TARGET_US),
    ):
        extra = best[subject] - fw
        met = "met" if extra <= target else "MISSED"
        report(
            label,
            extra,
            "us/cycle",
            "framework cycle",
            fw,
            f"<={target} us more than without {without}: {met}",
        )


if __name__ == "__main__":
    test_bench_telemetry_overhead()
