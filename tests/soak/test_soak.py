"""Soak: 50 telemetry devices at 10 Hz and 10 commands/s while the broker is SIGKILLed and restarted.

The app runs as a real process (default MQTT settings, so default reconnect pacing) against its
own mosquitto (``persistence false``: a killed broker forgets every retained message and
session). Every ``COSALETTE_SOAK_RESTART_EVERY`` seconds the broker is killed with SIGKILL and
started again on the same port one second later. A driver client (an aiomqtt client that
reconnects by itself) sends ``c<n>`` to ``soak/valve/set`` ten times a second while it is
connected and the app is online, and records every ``{"state": "c<n>"}`` answer.

Checked at the end:

* every device's retained ``soak/<device>/state`` on the broker equals the last value the
  device's handler returned (the app writes those at lifespan exit, after its last cycle);
* every command *sent while the broker was up* was answered (by the end + 5 s). That means:
  its PUBACK arrived and the broker was not killed within the next second. A command the
  broker acknowledged just before a kill may not have reached the app yet, or the app's answer
  may not have been sent on: the app and the driver have clean sessions, so a killed broker
  loses what was in flight (MQTT semantics, not the bridge's). Those are counted as
  "lost at kill" and reported. The driver sends only after it saw ``soak/valve/availability``
  "online" in its current connection: the app publishes that after resubscribing, so commands
  are never sent in the window where the broker is back but the app is not subscribed yet;
* the app's RSS grows by less than 2 MiB from the end of the warm-up (the first 20 % of the run,
  at least 5 s) to the end (8 MiB for runs shorter than 600 s, see ``RSS_LIMIT_KB``);
* the number of asyncio tasks in the app is flat after the warm-up (see ``TASKS_SPREAD``).

``COSALETTE_SOAK_SECONDS`` (default 30: the version the plain ``pytest -q`` run and CI get) and
``COSALETTE_SOAK_RESTART_EVERY`` (default: a tenth of the run, between 10 and 60 s) set the
length; ``tox -e soak`` runs the full 600 s with a restart every 60 s. The figures are printed
in one block at the end, even when output is captured.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))  # broker, app helpers
import aiomqtt
from _apps import AppProcess, finish, start_app
from _broker import (
    MosquittoBroker,
    require_mosquitto,
)

pytestmark = pytest.mark.soak

SECONDS = float(os.environ.get("COSALETTE_SOAK_SECONDS", "30"))
RESTART_EVERY = float(
    os.environ.get("COSALETTE_SOAK_RESTART_EVERY", str(min(60.0, max(10.0, SECONDS / 10))))
)
DEVICES = 50
TELEMETRY_INTERVAL = 0.1  # 10 Hz per device
COMMAND_PERIOD = 0.1  # 10 commands/s
OUTAGE = 1.0  # the broker is down this long at each restart
KILL_MARGIN = 1.0  # a command acknowledged this close before a kill is not counted (docstring)
ANSWER_GRACE = 5.0  # after the end, how long the last answers may take
WARMUP = max(5.0, SECONDS * 0.2)
# RSS settles over minutes (measured: +2.7 MB in the first minute, +64 kB in the second, then
# under 60 kB a minute). A 30 s run ends while it still settles, so its bound only catches a
# gross leak (over 340 KiB/s across its last 24 s); the full run's is the 2 MiB of the issue.
RSS_LIMIT_KB = 2048 if SECONDS >= 600 else 8192
# Every QoS 1 publish the bridge has in flight is an asyncio task awaiting its PUBACK (up to
# PUBLISH_WINDOW = 64), and on Python 3.11 aiomqtt's wait_for() wraps that wait in a second
# task (an Event.wait), so the raw count follows the publish load of the sampled instant: 56 to
# over 100. Flat therefore means: the long-lived tasks (all but those two kinds) stay within
# TASKS_SPREAD (measured: 55 in an outage, 59 connected, 60 while a command is handled: the
# session's receiver and sender, aiomqtt's misc loop and message get, the command queue's
# drain), the per-message ones stay within the window, and they drain (their minimum over the
# last fifth of the run is at most PER_MESSAGE_IDLE: the session's stopper or the reconnect
# pause, Event.wait tasks too).
PER_MESSAGE = ("Client.publish", "Event.wait")
TASKS_SPREAD = 5
PUBLISH_WINDOW = 64
PER_MESSAGE_IDLE = 2

PREFIX = "soak"
SET_TOPIC = f"{PREFIX}/valve/set"
ANSWER_TOPIC = f"{PREFIX}/valve/state"
ONLINE_TOPIC = f"{PREFIX}/valve/availability"

APP_SCRIPT = '''\
"""The soak app: DEVICES telemetry devices at 10 Hz, one command, stats every second."""

import asyncio
import collections
import contextlib
import json
import os
import time

import cosalette

STATS = os.environ["SOAK_STATS"]
DEVICES = int(os.environ["SOAK_DEVICES"])
INTERVAL = float(os.environ["SOAK_INTERVAL"])
last: dict[str, dict[str, int]] = {}  # each device's last returned value
handled = bytearray()  # handled[n] == 1: command "c<n>" reached the handler (a byte each)


def rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def name(task: asyncio.Task) -> str:
    return getattr(task.get_coro(), "__qualname__", "?")


async def sample(out) -> None:
    while True:
        tasks = asyncio.all_tasks()
        line = {
            "t": time.monotonic(),
            "rss_kb": rss_kb(),
            "tasks": len(tasks),
            "by": collections.Counter(name(task) for task in tasks),
        }
        out.write(json.dumps(line) + "\\n")
        out.flush()
        await asyncio.sleep(1.0)


@contextlib.asynccontextmanager
async def lifespan(ctx):
    with open(STATS, "a", encoding="utf-8") as out:
        sampler = asyncio.create_task(sample(out))
        try:
            yield
        finally:  # the devices' tasks have ended: what is in `last` is their last return
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            seen = [n for n, flag in enumerate(handled) if flag]
            final = {"t": time.monotonic(), "final": last, "handled": seen}
            out.write(json.dumps(final) + "\\n")


app = cosalette.App(name="soak", lifespan=lifespan)


def reading(name):
    seq = 0

    async def read() -> dict[str, int]:
        nonlocal seq
        value = {"seq": seq}
        seq += 1
        last[name] = value
        return value

    return read


for i in range(DEVICES):
    app.telemetry(f"d{i:02d}", interval=INTERVAL)(reading(f"d{i:02d}"))


@app.command("valve")
async def valve(payload: str) -> dict[str, str]:
    n = int(payload[1:])
    if n >= len(handled):
        handled.extend(bytes(n + 1 - len(handled)))
    handled[n] = 1
    return {"state": payload}


if __name__ == "__main__":
    app.cli()
'''


@pytest.fixture
def soak_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A mosquitto of its own (persistence false), killed and restarted by the test."""
    executable = require_mosquitto()
    workdir = tmp_path / "mosquitto"
    workdir.mkdir()
    broker = MosquittoBroker(executable, workdir)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def kill_broker(broker: MosquittoBroker) -> None:
    """SIGKILL mosquitto: no clean disconnects, no wills, nothing retained kept."""
    process = broker._process
    assert process is not None and process.poll() is None, "the broker is not running"
    process.kill()
    process.wait()


@dataclass
class Driver:
    """The command sender: reconnects whenever the broker is back, sends only to an online app."""

    host: str
    port: int
    broker_up: asyncio.Event = field(default_factory=asyncio.Event)
    stop_sending: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    app_online: asyncio.Event = field(default_factory=asyncio.Event)  # in this connection
    answer_seen: asyncio.Event = field(default_factory=asyncio.Event)
    sent: dict[int, float] = field(default_factory=dict)  # command n -> when it was published
    acked: dict[int, float] = field(default_factory=dict)  # command n -> its PUBACK
    answered: dict[int, float] = field(default_factory=dict)  # command n -> first answer seen
    onlines: list[float] = field(default_factory=list)  # first "online" of each connection
    connections: int = 0
    failures: list[str] = field(default_factory=list)  # connections lost with the broker up
    _next_n: int = 0
    _next_tick: float = 0.0

    async def run(self) -> None:
        """Connect while the broker is up, until ``finished``; a dropped connection reconnects."""
        while not self.finished.is_set():
            await self.broker_up.wait()
            try:
                async with aiomqtt.Client(
                    self.host, self.port, identifier="soak-driver", timeout=5
                ) as client:
                    self.connections += 1
                    await self._session(client)
            except aiomqtt.MqttError as exc:
                # Killed (the chaos clears broker_up first): wait above until it is back.
                if self.broker_up.is_set() and not self.finished.is_set():
                    self.failures.append(repr(exc))  # a failure with the broker up: reported
                    if len(self.failures) > 20:
                        raise
            finally:
                self.app_online.clear()

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.subscribe([(ANSWER_TOPIC, 1), (ONLINE_TOPIC, 1)])
        reader = asyncio.create_task(self._read(client))
        sender = asyncio.create_task(self._send(client))
        finished = asyncio.create_task(self.finished.wait())
        tasks = (reader, sender, finished)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):  # the reader's MqttError when the broker dies
                raise result

    async def _read(self, client: aiomqtt.Client) -> None:
        loop = asyncio.get_running_loop()
        async for message in client.messages:
            now = loop.time()
            payload = message.payload
            text = bytes(payload).decode() if isinstance(payload, bytes | bytearray) else ""
            if message.topic.value == ONLINE_TOPIC:
                if text == "online" and not self.app_online.is_set():
                    self.onlines.append(now)
                    self.app_online.set()
                continue
            state = json.loads(text).get("state") if text else None
            if isinstance(state, str) and state.startswith("c"):
                self.answered.setdefault(int(state[1:]), now)
                self.answer_seen.set()

    async def _send(self, client: aiomqtt.Client) -> None:
        loop = asyncio.get_running_loop()
        await self.app_online.wait()
        self._next_tick = loop.time()
        while not self.stop_sending.is_set():
            delay = self._next_tick - loop.time()
            if delay > 0:  # the pacing: ten commands a second
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop_sending.wait(), delay)
                continue
            self._next_tick += COMMAND_PERIOD
            n = self._next_n
            self._next_n += 1
            self.sent[n] = loop.time()
            await client.publish(SET_TOPIC, f"c{n}", qos=1)
            self.acked[n] = loop.time()
        await self.finished.wait()


@dataclass
class Chaos:
    """Kills the broker every ``RESTART_EVERY`` s and starts it again ``OUTAGE`` s later."""

    broker: MosquittoBroker
    driver: Driver
    kills: list[float] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)  # the broker accepts connections again

    async def run(self, start: float, end: float) -> None:
        loop = asyncio.get_running_loop()
        at = start + RESTART_EVERY
        while at < end - OUTAGE:
            await asyncio.sleep(max(0.0, at - loop.time()))  # the schedule, not a wait for state
            self.driver.broker_up.clear()
            kill_broker(self.broker)
            self.kills.append(loop.time())
            await asyncio.sleep(OUTAGE)  # the outage itself
            await asyncio.to_thread(self.broker.start)  # returns once it accepts connections
            self.restarts.append(loop.time())
            self.driver.broker_up.set()
            at += RESTART_EVERY
        await asyncio.sleep(max(0.0, end - loop.time()))


async def read_retained_states(host: str, port: int) -> dict[str, dict[str, Any]]:
    """Every retained ``soak/<device>/state`` on the broker, by device."""
    marker = f"soak-check/{time.monotonic_ns()}"
    states: dict[str, dict[str, Any]] = {}
    async with aiomqtt.Client(host, port, identifier="soak-check") as client:
        await client.subscribe(f"{PREFIX}/+/state", qos=1)
        await client.subscribe(marker, qos=1)
        await client.publish(marker, "done", qos=1)  # delivered after the retained messages
        async with asyncio.timeout(10):
            async for message in client.messages:
                if message.topic.value == marker:
                    break
                if message.retain and isinstance(message.payload, bytes | bytearray):
                    device = message.topic.value.split("/")[1]
                    states[device] = json.loads(bytes(message.payload))
    return states


@dataclass
class AppStats:
    """What the app wrote: a sample a second, and at lifespan exit what its handlers saw."""

    samples: list[dict[str, Any]]
    final: dict[str, dict[str, Any]]  # device -> the last value its handler returned
    handled: set[int]  # the commands (n of "c<n>") that reached the valve handler


def read_stats(path: Path) -> AppStats:
    """Parse the app's stats file (JSON lines; the last one has the final values)."""
    samples: list[dict[str, Any]] = []
    end: dict[str, Any] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if "final" in record:
            end = record
        else:
            samples.append(record)
    assert end is not None, "the app wrote no final values (its lifespan did not exit)"
    return AppStats(samples, end["final"], set(end["handled"]))


def first_after(times: list[float], moment: float) -> float | None:
    return next((t for t in times if t >= moment), None)


async def test_soak(
    soak_broker: MosquittoBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broker = soak_broker
    script = tmp_path / "soak_app.py"
    script.write_text(APP_SCRIPT, encoding="utf-8")
    stats_path = tmp_path / "stats.jsonl"
    loop = asyncio.get_running_loop()
    driver = Driver(broker.host, broker.port)
    driver.broker_up.set()
    chaos = Chaos(broker, driver)
    settings = {
        "SOAK_STATS": str(stats_path),
        "SOAK_DEVICES": str(DEVICES),
        "SOAK_INTERVAL": str(TELEMETRY_INTERVAL),
    }
    app: AppProcess = start_app(script, broker.port, extra=settings)
    driving = asyncio.create_task(driver.run())
    try:
        async with asyncio.timeout(30):
            await driver.app_online.wait()
        start = loop.time()
        end = start + SECONDS
        await chaos.run(start, end)
        if driving.done():
            driving.result()  # the driver failed: say why
        driver.stop_sending.set()
        stopped = loop.time()
        async with asyncio.timeout(30):  # the app is connected again after the last restart
            await driver.app_online.wait()

        def eligible(n: int) -> bool:
            acked = driver.acked.get(n)
            if acked is None:
                return False
            return not any(acked <= kill < acked + KILL_MARGIN for kill in chaos.kills)

        counted = [n for n in driver.sent if eligible(n)]
        answer_deadline = loop.time() + ANSWER_GRACE
        while any(n not in driver.answered for n in counted):
            remaining = answer_deadline - loop.time()
            if remaining <= 0:
                break
            driver.answer_seen.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(driver.answer_seen.wait(), remaining)
        terminated = loop.time()
        code, output = await asyncio.to_thread(finish, app, 20.0)
    finally:
        driver.finished.set()
        driver.broker_up.set()
        with contextlib.suppress(aiomqtt.MqttError):
            await asyncio.wait_for(driving, 10)
        if app.poll() is None:
            await asyncio.to_thread(finish, app, 20.0)
    assert code == 0, f"the app exited with {code}:\n{output[-4000:]}"
    retained = await read_retained_states(broker.host, broker.port)
    (tmp_path / "app.log").write_text(output, encoding="utf-8")
    stats = read_stats(stats_path)
    samples, final = stats.samples, stats.final

    # --- figures ----------------------------------------------------------------------------
    warm = start + WARMUP
    steady = [s for s in samples if warm <= s["t"] <= terminated]
    assert steady, f"no samples after the warm-up: {samples}"
    rss_warm, rss_end = steady[0]["rss_kb"], steady[-1]["rss_kb"]
    growth = rss_end - rss_warm
    tasks = [s["tasks"] for s in steady]
    per_message = [sum(s["by"].get(kind, 0) for kind in PER_MESSAGE) for s in steady]
    long_lived = [s["tasks"] - n for s, n in zip(steady, per_message, strict=True)]
    tail = per_message[-max(1, len(per_message) // 5) :]
    fewest = steady[long_lived.index(min(long_lived))]["by"]
    most = steady[long_lived.index(max(long_lived))]["by"]
    come_and_go = sorted(
        k
        for k in most.keys() | fewest.keys()
        if k not in PER_MESSAGE and most.get(k) != fewest.get(k)
    )
    unanswered = sorted(n for n in counted if n not in driver.answered)
    not_counted = [n for n in driver.sent if n not in counted]
    lost_at_kill = [n for n in not_counted if n not in driver.answered]
    gaps: list[float] = []
    for restart in chaos.restarts:
        online = first_after(driver.onlines, restart)
        if online is not None:
            gaps.append(online - restart)
    states_published = sum(value["seq"] + 1 for value in final.values())
    mismatched = {
        device: (retained.get(device), value)
        for device, value in final.items()
        if retained.get(device) != value
    }
    lines = [
        f"soak: {DEVICES} devices at {1 / TELEMETRY_INTERVAL:.0f} Hz, "
        f"{1 / COMMAND_PERIOD:.0f} commands/s, broker SIGKILLed every {RESTART_EVERY:.0f} s "
        f"for {OUTAGE:.0f} s",
        f"  duration            {stopped - start:8.1f} s (warm-up {WARMUP:.0f} s)",
        f"  restarts            {len(chaos.kills):8d}",
        f"  states published    {states_published:8d} (handler returns; "
        f"{states_published / (terminated - start):.0f}/s)",
        f"  retained = last     {len(final) - len(mismatched):8d} / {len(final)}",
        f"  commands sent       {len(driver.sent):8d} (acked {len(driver.acked)}, "
        f"driver connections {driver.connections}, lost with the broker up "
        f"{len(driver.failures)})",
        f"  commands counted    {len(counted):8d} answered {len(counted) - len(unanswered)} "
        f"(handled by the app: {len(stats.handled)} of all sent)",
        f"  lost at kill        {len(lost_at_kill):8d} (not counted: {len(not_counted)}, "
        f"answered anyway {len(not_counted) - len(lost_at_kill)})",
        f"  RSS warm-up / end   {rss_warm:8d} / {rss_end} kB, growth {growth:+d} kB "
        f"(limit {RSS_LIMIT_KB}), max {max(s['rss_kb'] for s in steady)} kB",
        f"  tasks min / max     {min(tasks):8d} / {max(tasks)} (long-lived {min(long_lived)} / "
        f"{max(long_lived)}, per-message {min(per_message)} / {max(per_message)}, "
        f"last fifth min {min(tail)})",
        f"  tasks that come and go: {', '.join(come_and_go) or 'none'}",
    ]
    if gaps:
        lines.append(
            f"  reconnect gaps      {statistics.median(gaps):8.2f} s median, "
            f"{min(gaps):.2f}-{max(gaps):.2f} s (broker accepting -> app online seen)"
        )
    with capsys.disabled():
        print("\n" + "\n".join(lines), flush=True)

    # --- checks -----------------------------------------------------------------------------
    assert len(final) == DEVICES, f"final values for {len(final)} devices"
    assert not mismatched, f"retained state != last returned (retained, last): {mismatched}"
    assert len(chaos.kills) == len(chaos.restarts) == len(gaps), (chaos.kills, driver.onlines)
    assert len(counted) >= SECONDS / COMMAND_PERIOD / 2, "too few commands to judge"
    if unanswered:
        details = [
            f"c{n}: sent {driver.sent[n] - start:.3f} s, acked {driver.acked[n] - start:.3f} s, "
            f"{'handled' if n in stats.handled else 'never handled'} by the app"
            for n in unanswered[:20]
        ]
        problems = [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line]
        raise AssertionError(
            f"{len(unanswered)} commands never answered (kills at "
            f"{[round(k - start, 3) for k in chaos.kills]} s):\n"
            + "\n".join(details)
            + "\napp warnings and errors:\n"
            + "\n".join(problems[-40:])
        )
    assert growth < RSS_LIMIT_KB, f"RSS grew by {growth} kB after the warm-up"
    assert max(long_lived) - min(long_lived) <= TASKS_SPREAD, f"tasks not flat: {long_lived}"
    assert max(per_message) <= 2 * PUBLISH_WINDOW + PER_MESSAGE_IDLE, per_message
    assert min(tail) <= PER_MESSAGE_IDLE, f"per-message tasks do not drain: {per_message}"
