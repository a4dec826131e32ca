"""Benchmark: fleet figures. Bridge processes with many 1 Hz telemetry devices against one
mosquitto: per-bridge RSS, bridge CPU per published state (µs of process CPU, utime+stime from
``/proc/<pid>/stat``, so the MQTT client's work is included), broker messages/s and broker CPU
per message, and how they grow with the number of devices in one bridge (1, 100, 1000).

Each bridge is a script with N telemetry devices at ``interval=1.0`` run by ``app.run()``
(heartbeat and health checks off, so every message counted is a state). After every device
has published once (the warm-up), CPU is sampled over a measurement window while a raw
aiomqtt subscriber in this process counts the states that arrive. The floor, measured in the
same run, is a raw aiomqtt process publishing the same payloads (retained, QoS 1, one topic
per device) at the same rate, measured the same way.

Targets: at most 50 µs of bridge CPU per state publish; CPU per message flat from 100 to 1000
devices (1000 within 1.5x of 100). With one device the per-message figure is mostly the
process's fixed cost per second, spread over one message, so it is reported, not judged.
Reports; never asserts a target (only that the states arrived).
``COSALETTE_BENCH_SMOKE=1``: 1 and 100 devices and 3 bridges x 20 devices, 3 s windows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _report.py sits beside this file
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))  # mosquitto helper
from _bench_broker import module_broker
from _broker import Collector, MosquittoBroker
from _report import report

SMOKE = os.environ.get("COSALETTE_BENCH_SMOKE", "") not in ("", "0")
DEVICE_COUNTS = (1, 100) if SMOKE else (1, 100, 1000)
FLEET = (3, 20) if SMOKE else (10, 100)  # bridges x devices per bridge
WINDOW = 3.0 if SMOKE else 10.0  # seconds of measurement after the warm-up
WARM_UP_TIMEOUT = 60.0
TARGET_US = 50.0
FLAT_RATIO = 1.5
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

BRIDGE_SCRIPT = """\
import sys

import cosalette

name, count = sys.argv[1], int(sys.argv[2])
app = cosalette.App(name, heartbeat_interval=None, health_check_interval=None)


def make(index):
    readings = [0]

    async def read() -> dict[str, object]:
        readings[0] += 1
        return {"value": index, "n": readings[0]}

    return read


for i in range(count):
    app.add_telemetry(f"d{i}", make(i), interval=1.0)

app.run()
"""

# The floor: the same messages (retained, QoS 1, one topic per device) once a second.
FLOOR_SCRIPT = """\
import asyncio, json, socket, sys

import aiomqtt

name, count, host, port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


async def main():
    async with aiomqtt.Client(host, port, socket_options=NODELAY) as client:
        loop = asyncio.get_running_loop()
        tick = loop.time()
        n = 0
        while True:
            n += 1
            await asyncio.gather(*(
                client.publish(
                    f"{name}/d{i}/state", json.dumps({"value": i, "n": n}), qos=1, retain=True
                )
                for i in range(count)
            ))
            tick += 1.0
            await asyncio.sleep(max(0.0, tick - loop.time()))


asyncio.run(main())
"""


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    yield from module_broker(tmp_path_factory, "max_queued_messages 0\n")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of *pid* in seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def _env(cwd: Path, broker: MosquittoBroker) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MQTT__", "LOGGING__"))}
    env.update(
        MQTT__HOST=broker.host,
        MQTT__PORT=str(broker.port),
        PYTHONPYCACHEPREFIX=str(cwd / "pycache"),
        LOGGING__LEVEL="WARNING",
    )
    return env


@dataclass(frozen=True)
class Measured:
    """One measurement window over a group of publisher processes."""

    messages: int  # states counted by the subscriber in the window
    seconds: float
    cpu_us_per_message: float  # the publishers' CPU, summed, per message
    rss_mib: list[float]  # per process, at the end of the window
    broker_cpu_us_per_message: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL: the figures are taken, and a graceful teardown would only slow the run."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


async def _measure(
    broker: MosquittoBroker, cwd: Path, script: str, bridges: int, devices: int, tag: str
) -> Measured:
    """Start *bridges* processes of *script* with *devices* each, wait until every device has
    published, then measure over ``WINDOW`` seconds."""
    path = cwd / f"{tag}.py"
    path.write_text(script)
    names = [f"{tag}{b}" for b in range(bridges)]
    assert broker._process is not None
    broker_pid = broker._process.pid
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe(*(f"{name}/+/state" for name in names))
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for name in names:
                extra = [broker.host, str(broker.port)] if script is FLOOR_SCRIPT else []
                with (cwd / f"{name}.log").open("wb") as log:
                    procs.append(
                        subprocess.Popen(  # noqa: ASYNC220 (started once, not awaited)
                            [sys.executable, str(path), name, str(devices), *extra],
                            cwd=cwd,
                            env=_env(cwd, broker),
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=log,
                        )
                    )
            await _warm_up(seen, procs, bridges * devices, cwd)
            print(f"fleet: {tag}: {bridges * devices} devices publishing", flush=True)
            seen.clear()
            cpu0 = sum(_cpu_seconds(p.pid) for p in procs)
            broker0 = _cpu_seconds(broker_pid)
            start = time.monotonic()
            await asyncio.sleep(WINDOW)  # the measurement window itself, not a synchronisation
            cpu1 = sum(_cpu_seconds(p.pid) for p in procs)
            broker1 = _cpu_seconds(broker_pid)
            seconds = time.monotonic() - start
            messages = len(seen.messages)
            rss = [_rss_mib(p.pid) for p in procs]
            assert all(p.poll() is None for p in procs), "a publisher exited early"
        finally:
            for proc in procs:
                _stop(proc)
        print(f"fleet: {tag}: publishers stopped", flush=True)
    expected = bridges * devices * WINDOW
    assert messages > 0, f"{tag}: no state in {seconds:.1f} s"
    if messages < 0.9 * (expected - bridges * devices):  # a tick may fall outside an edge
        print(
            f"fleet: {tag}: only {messages} of {expected:.0f} states arrived in the window "
            "(the publishers or the subscriber fell behind)",
            flush=True,
        )
    return Measured(
        messages,
        seconds,
        (cpu1 - cpu0) * 1e6 / messages,
        rss,
        (broker1 - broker0) * 1e6 / messages,
    )


async def _warm_up(
    seen: Collector, procs: list[subprocess.Popen[bytes]], topics: int, cwd: Path
) -> None:
    """Return once every device's state topic has carried a message."""
    deadline = time.monotonic() + WARM_UP_TIMEOUT
    while True:
        seen._arrived.clear()  # set by the collector's reader on every message
        if len({m.topic for m in seen.messages}) >= topics:
            return
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            logs = _logs(cwd)
            raise AssertionError(
                f"only {len({m.topic for m in seen.messages})} of {topics} devices published; "
                f"logs:\n" + "\n".join(logs)
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(seen._arrived.wait(), 0.5)  # also notices an exited process


def _logs(cwd: Path) -> list[str]:
    """The end of every publisher's log (for a failure message)."""
    return [log.read_text(errors="replace")[-1500:] for log in sorted(cwd.glob("*.log"))]


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


@pytest.mark.bench
def test_bench_fleet(broker: MosquittoBroker, tmp_path: Path) -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("CPU and RSS are read from /proc (Linux only)")

    async def run() -> tuple[dict[int, Measured], dict[int, Measured], Measured, Measured]:
        bridges: dict[int, Measured] = {}
        floors: dict[int, Measured] = {}
        for n in DEVICE_COUNTS:
            bridges[n] = await _measure(broker, tmp_path, BRIDGE_SCRIPT, 1, n, f"b{n}x")
            floors[n] = await _measure(broker, tmp_path, FLOOR_SCRIPT, 1, n, f"f{n}x")
        count, devices = FLEET
        fleet = await _measure(broker, tmp_path, BRIDGE_SCRIPT, count, devices, "fleet")
        fleet_floor = await _measure(broker, tmp_path, FLOOR_SCRIPT, count, devices, "ffleet")
        return bridges, floors, fleet, fleet_floor

    bridges, floors, fleet, fleet_floor = asyncio.run(run())
    print(
        f"fleet: {WINDOW:.0f} s windows, 1 Hz devices, {os.cpu_count()} CPUs, "
        f"CPU tick {1e6 / CLK_TCK:.0f} µs",
        flush=True,
    )
    for n in DEVICE_COUNTS:
        b, f = bridges[n], floors[n]
        report(
            f"fleet: bridge CPU/msg, {n} dev",
            b.cpu_us_per_message,
            "µs",
            "raw aiomqtt publisher",
            f.cpu_us_per_message,
            f"<={TARGET_US:.0f} µs" if n > 1 else "report only",
        )
        if n > 1:
            print(f"  {_verdict(b.cpu_us_per_message <= TARGET_US)}", flush=True)
        report(
            f"fleet: bridge RSS, {n} dev",
            b.rss_mib[0],
            "MiB",
            "raw aiomqtt publisher",
            f.rss_mib[0],
            "report only",
        )
        report(
            f"fleet: broker msgs/s, {n} dev",
            b.rate,
            "msg/s",
            "raw aiomqtt publisher",
            f.rate,
            f"~{n} (1 Hz each)",
        )
        report(
            f"fleet: broker CPU/msg, {n} dev",
            b.broker_cpu_us_per_message,
            "µs",
            "raw aiomqtt publisher",
            f.broker_cpu_us_per_message,
            "report only",
        )
    if 1000 in bridges:
        flat = bridges[1000].cpu_us_per_message / bridges[100].cpu_us_per_message
        print(
            f"fleet: CPU/msg at 1000 devices is {flat:.2f}x that at 100 "
            f"(target <= {FLAT_RATIO}x: flat): {_verdict(flat <= FLAT_RATIO)}",
            flush=True,
        )
    count, devices = FLEET
    label = f"{count}x{devices}"
    report(
        f"fleet: {label} CPU/msg",
        fleet.cpu_us_per_message,
        "µs",
        "raw aiomqtt publishers",
        fleet_floor.cpu_us_per_message,
        f"<={TARGET_US:.0f} µs",
    )
    print(f"  {_verdict(fleet.cpu_us_per_message <= TARGET_US)}", flush=True)
    report(
        f"fleet: {label} RSS per bridge",
        max(fleet.rss_mib),
        "MiB",
        "raw aiomqtt publisher",
        max(fleet_floor.rss_mib),
        "report only (max)",
    )
    report(
        f"fleet: {label} broker msgs/s",
        fleet.rate,
        "msg/s",
        "raw aiomqtt publishers",
        fleet_floor.rate,
        f"~{count * devices}",
    )
    report(
        f"fleet: {label} broker CPU/msg",
        fleet.broker_cpu_us_per_message,
        "µs",
        "raw aiomqtt publishers",
        fleet_floor.broker_cpu_us_per_message,
        "report only",
    )
