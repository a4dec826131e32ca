"""Benchmark: cosalette against a real mosquitto, each figure next to raw aiomqtt doing the same.

(a) Pipelined state publishes: N retained QoS 1 publishes through ``cosalette.MqttClient``
    (``publish`` never blocks; up to ``PUBLISH_WINDOW`` await their PUBACK) vs the floor,
    raw ``aiomqtt.Client.publish`` of the same N messages fired concurrently with
    ``asyncio.gather`` in chunks of the same window. The clock stops when a raw aiomqtt
    subscriber in a separate process (so it does not compete for this process's event loop)
    has received all N. Each message has its own topic, because the outbox keeps only the
    newest retained message per topic; the outbox is sized to N, because with the default
    (1000) a tight loop of N publishes may overflow it and drop the oldest by design.
(b) Command -> state round trip: a running App with the real client and an
    ``@app.command("valve")`` returning ``{"state": payload}``; a raw aiomqtt prober publishes
    on ``bench/valve/set`` and waits for ``bench/valve/state``. The floor is a raw aiomqtt
    echo client republishing topic A to topic B, measured by the same prober, interleaved.

Reports; never asserts a target (only that every message arrived).
``COSALETTE_BENCH_SMOKE=1`` uses small counts. Needs mosquitto, like the integration tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _report.py sits beside this file
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))  # mosquitto helper
import aiomqtt
from _bench_broker import module_broker
from _broker import MosquittoBroker
from _report import report

import cosalette
from cosalette._mqtt.window import PUBLISH_WINDOW
from cosalette.testing import make_settings

SMOKE = os.environ.get("COSALETTE_BENCH_SMOKE", "") not in ("", "0")
PIPELINE_N = 500 if SMOKE else 5_000  # messages per pipelined round
PIPELINE_ROUNDS = 2 if SMOKE else 5  # rounds per subject, interleaved; the fastest counts
ROUND_TRIPS = 20 if SMOKE else 300  # per subject, in interleaved batches
RT_BATCH = 10 if SMOKE else 50
TIMEOUT = 30.0
HOST = "127.0.0.1"

# Every raw client disables Nagle like cosalette's client does (and the broker, via
# ``set_tcp_nodelay``); otherwise delayed ACKs add ~40 ms to a round trip.
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]

# The broker must not be the one dropping: no limit on queued QoS 1 messages per client.
BROKER_CONFIG = "max_queued_messages 0\n"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    yield from module_broker(tmp_path_factory, BROKER_CONFIG)


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


# --- (a) pipelined publishes ---------------------------------------------------------------

# A raw aiomqtt subscriber in its own process. Protocol on stdin/stdout: it prints "ready"
# once subscribed; each line "<n>" re-arms it (it answers "armed"); once n non-retained
# messages have arrived since arming, it prints "done <n>".
_SUBSCRIBER = r"""
import asyncio, socket, sys
import aiomqtt

async def main(port, topic):
    nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    async with aiomqtt.Client("127.0.0.1", port, socket_options=nodelay) as client:
        await client.subscribe(topic, qos=1)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        state = {"target": -1, "count": 0}

        async def arm():
            while line := await reader.readline():
                state["count"], state["target"] = 0, int(line)
                print("armed", flush=True)
            raise SystemExit(0)

        armer = asyncio.create_task(arm())
        print("ready", flush=True)
        async for message in client.messages:
            if message.retain:
                continue
            state["count"] += 1
            if state["count"] == state["target"]:
                print("done", state["count"], flush=True)

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"""


class _Subscriber:
    """Drives the subscriber process: ``arm(n)`` then ``wait_done()``."""

    def __init__(self, port: int, topic: str) -> None:
        self.port = port
        self.topic = topic
        self._proc: asyncio.subprocess.Process | None = None

    async def _line(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), TIMEOUT)
        if not line:
            raise AssertionError("subscriber process exited")
        return line.decode().strip()

    async def __aenter__(self) -> _Subscriber:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _SUBSCRIBER,
            str(self.port),
            self.topic,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert await self._line() == "ready"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._proc is not None:
            if self._proc.returncode is None:
                self._proc.kill()
            await self._proc.wait()

    async def arm(self, n: int) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(f"{n}\n".encode())
        await self._proc.stdin.drain()
        assert await self._line() == "armed"

    async def wait_done(self, n: int) -> None:
        line = await self._line()
        assert line == f"done {n}", f"subscriber: {line!r} (expected all {n} messages)"


async def _cosalette_round(client: cosalette.MqttClient, sub: _Subscriber, n: int) -> float:
    await sub.arm(n)
    publish = client.publish
    start = time.perf_counter()
    for i in range(n):
        await publish(f"bench/pipe/cosalette/{i}", {"seq": i}, retain=True, qos=1)
    await sub.wait_done(n)
    elapsed = time.perf_counter() - start
    assert client._outbox.dropped == 0, f"outbox dropped {client._outbox.dropped} messages"
    return n / elapsed


async def _raw_round(client: aiomqtt.Client, sub: _Subscriber, n: int) -> float:
    await sub.arm(n)
    publish = client.publish
    start = time.perf_counter()
    for first in range(0, n, PUBLISH_WINDOW):
        await asyncio.gather(
            *(
                publish(f"bench/pipe/raw/{i}", _compact({"seq": i}), qos=1, retain=True)
                for i in range(first, min(n, first + PUBLISH_WINDOW))
            )
        )
    await sub.wait_done(n)
    return n / (time.perf_counter() - start)


async def measure_pipeline(port: int) -> tuple[float, float]:
    """Best msgs/s of (cosalette, raw aiomqtt) over interleaved rounds."""
    settings = cosalette.MqttSettings(
        host=HOST, port=port, client_id="bench-cosalette", outbox_size=max(PIPELINE_N, 1000)
    )
    client = cosalette.MqttClient(settings)
    await client.start()
    assert await client.wait_connected(TIMEOUT), "cosalette client did not connect"
    best = {"cosalette": 0.0, "raw": 0.0}
    try:
        async with (
            _Subscriber(port, "bench/pipe/#") as sub,
            aiomqtt.Client(
                HOST,
                port,
                identifier="bench-raw",
                max_inflight_messages=PUBLISH_WINDOW,
                socket_options=NODELAY,
            ) as raw,
        ):
            raw.pending_calls_threshold = 10 * PUBLISH_WINDOW  # no "pending publishes" warnings
            await _cosalette_round(client, sub, min(PIPELINE_N, 500))  # warm-up
            await _raw_round(raw, sub, min(PIPELINE_N, 500))
            for round_no in range(PIPELINE_ROUNDS):
                subjects: list[tuple[str, Callable[[], Awaitable[float]]]] = [
                    ("cosalette", lambda: _cosalette_round(client, sub, PIPELINE_N)),
                    ("raw", lambda: _raw_round(raw, sub, PIPELINE_N)),
                ]
                for name, run in subjects if round_no % 2 == 0 else subjects[::-1]:
                    best[name] = max(best[name], await run())
    finally:
        await client.stop()
    return best["cosalette"], best["raw"]


@pytest.mark.bench
def test_bench_pipelined_publishes(broker: MosquittoBroker) -> None:
    ours, raw = asyncio.run(measure_pipeline(broker.port))
    print(
        f"pipelined publishes: {PIPELINE_N} retained QoS 1 msgs x {PIPELINE_ROUNDS} rounds, "
        f"window {PUBLISH_WINDOW}, subscriber in its own process",
        flush=True,
    )
    report("pipeline raw aiomqtt", raw, "msg/s", "raw aiomqtt gather", raw, "1.00x (floor)")
    report("pipeline cosalette MqttClient", ours, "msg/s", "raw aiomqtt gather", raw, ">=0.8x")


# --- (b) command -> state round trip ---------------------------------------------------------


class _Prober:
    """A raw aiomqtt client: publish a request, time until its reply arrives."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.arrivals: dict[tuple[str, str], float] = {}
        self._waiting: tuple[str, str] | None = None
        self._arrived = asyncio.Event()

    async def read(self) -> None:
        async for message in self.client.messages:
            now = time.perf_counter()
            payload = message.payload
            text = payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)
            key = (message.topic.value, text)
            self.arrivals[key] = now
            if key == self._waiting:
                self._arrived.set()

    async def round_trip(self, request: str, payload: str, reply: str, expected: str) -> float:
        key = (reply, expected)
        self._waiting = key
        self._arrived.clear()
        start = time.perf_counter()
        await self.client.publish(request, payload, qos=1)
        if key not in self.arrivals:
            await asyncio.wait_for(self._arrived.wait(), TIMEOUT)
        return (self.arrivals.pop(key) - start) * 1e6


async def _echo(client: aiomqtt.Client, target: str) -> None:
    """The floor responder: republish each request as ``{"state": payload}``, retained QoS 1."""
    pending: set[asyncio.Task[None]] = set()
    async for message in client.messages:
        payload = message.payload
        text = payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)
        task = asyncio.create_task(
            client.publish(target, _compact({"state": text}), qos=1, retain=True)
        )
        pending.add(task)
        task.add_done_callback(pending.discard)


@contextlib.asynccontextmanager
async def _running(coro: Any) -> AsyncIterator[asyncio.Task[Any]]:
    task = asyncio.ensure_future(coro)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await task


async def measure_round_trips(port: int) -> tuple[list[float], list[float], list[float]]:
    """Round-trip times in microseconds: (cosalette command, raw echo, cosalette trigger)."""
    app = cosalette.App("bench", heartbeat_interval=None, health_check_interval=None, store=None)

    @app.command("valve")
    async def valve(payload: str) -> dict[str, Any]:
        return {"state": payload}

    @app.telemetry("sensor", interval=3600, triggerable=True)
    async def sensor(trigger: cosalette.TriggerPayload) -> dict[str, Any]:
        return {"state": trigger.raw}

    settings: cosalette.Settings = make_settings(
        mqtt={"host": HOST, "port": port, "client_id": "bench-app"}
    )
    shutdown = asyncio.Event()
    ours: list[float] = []
    floor: list[float] = []
    triggered: list[float] = []
    async with (
        aiomqtt.Client(
            HOST, port, identifier="bench-prober", socket_options=NODELAY
        ) as probe_client,
        aiomqtt.Client(HOST, port, identifier="bench-echo", socket_options=NODELAY) as echo_client,
    ):
        prober = _Prober(probe_client)
        await probe_client.subscribe("bench/valve/state", qos=1)
        await probe_client.subscribe("bench/sensor/state", qos=1)
        await probe_client.subscribe("bench/echo/b", qos=1)
        await echo_client.subscribe("bench/echo/a", qos=1)
        async with (
            _running(prober.read()),
            _running(_echo(echo_client, "bench/echo/b")),
            _running(app._run_async(settings=settings, shutdown_event=shutdown)) as app_task,
        ):
            # The app is serving once a command comes back as state.
            for _ in range(100):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        prober.round_trip(
                            "bench/valve/set", "warm", "bench/valve/state", '{"state":"warm"}'
                        ),
                        0.1,
                    )
                    break
                assert not app_task.done(), "the app stopped during start-up"
            else:
                raise AssertionError("the app never answered a command")
            for i in range(20):  # warm up the echo path too
                await prober.round_trip(
                    "bench/echo/a", f"w{i}", "bench/echo/b", f'{{"state":"w{i}"}}'
                )
            count = 0
            while count < ROUND_TRIPS:
                batch = min(RT_BATCH, ROUND_TRIPS - count)
                subjects = [
                    (ours, "bench/valve/set", "bench/valve/state"),
                    (floor, "bench/echo/a", "bench/echo/b"),
                    (triggered, "bench/sensor/set", "bench/sensor/state"),
                ]
                for samples, request, reply in (
                    subjects if (count // RT_BATCH) % 2 == 0 else subjects[::-1]
                ):
                    for i in range(count, count + batch):
                        payload = f"open-{i}"
                        samples.append(
                            await prober.round_trip(
                                request, payload, reply, f'{{"state":"{payload}"}}'
                            )
                        )
                count += batch
            shutdown.set()
            await asyncio.wait_for(app_task, TIMEOUT)
    return ours, floor, triggered


def _percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


@pytest.mark.bench
def test_bench_command_round_trip(broker: MosquittoBroker) -> None:
    ours, floor, triggered = asyncio.run(measure_round_trips(broker.port))
    assert len(ours) == len(floor) == len(triggered) == ROUND_TRIPS
    print(f"command round trip: {ROUND_TRIPS} trips per subject, one in flight", flush=True)
    fp50, fp95 = statistics.median(floor), _percentile(floor, 95)
    report("round trip raw echo p50", fp50, "us", "raw echo p50", fp50, "1.00x (floor)")
    report("round trip raw echo p95", fp95, "us", "raw echo p95", fp95, "1.00x (floor)")
    report(
        "round trip cosalette p50", statistics.median(ours), "us", "raw echo p50", fp50, "<=1.3x"
    )
    report(
        "round trip cosalette p95", _percentile(ours, 95), "us", "raw echo p95", fp95, "report only"
    )
    p50 = statistics.median(ours)
    trigger_p50 = statistics.median(triggered)
    met = "met" if trigger_p50 <= 1.1 * p50 else "MISSED"
    report("round trip trigger p50", trigger_p50, "us", "command p50", p50, f"<=1.1x: {met}")
