"""Shutdown of a real app process: stuck handlers are abandoned in time, a second signal ends it.

Each app blocks its handlers on purpose once the test publishes ``stuck/go/set``: in a call
that blocks the event loop, in a worker thread, or in an await that ignores cancellation.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from _apps import AppProcess, finish, purge_retained, start_app
from _broker import Collector, MosquittoBroker

from cosalette._stop_timing import TEARDOWN_GRACE, TEARDOWN_MARGIN

DEADLINE = TEARDOWN_GRACE + TEARDOWN_MARGIN
"""No teardown outlives this many seconds after the first signal."""

APP = """
import asyncio
import contextlib
import time

import cosalette

app = cosalette.App(name="stuck", version="1.0.0", heartbeat_interval=None)
go = asyncio.Event()


async def stuck(name: str) -> None:
    await go.wait()
    print(f"STUCK {{name}}", flush=True)
{block}


@app.command("go")
async def start(payload: str) -> None:
    go.set()


if "telemetry" in {kinds!r}:
    @app.telemetry("meter", interval=1, timeout=None)
    async def meter() -> dict[str, object]:
        await stuck("meter")
        return {{}}

if "command" in {kinds!r}:
    @app.command("valve")
    async def valve(payload: str) -> None:
        await stuck("valve")

if "device" in {kinds!r}:
    @app.device("thing")
    async def thing(ctx: cosalette.DeviceContext) -> None:
        await stuck("thing")

if __name__ == "__main__":
    app.cli()
"""

BLOCKS = {
    "loop": "    time.sleep(60)",
    "thread": "    await asyncio.get_running_loop().run_in_executor(None, time.sleep, 60)",
    "deaf": (
        "    while True:\n"
        "        with contextlib.suppress(asyncio.CancelledError):\n"
        "            await asyncio.sleep(3600)"
    ),
}

LABELS = {
    "telemetry": ("meter", "telemetry 'meter' (__main__.meter)"),
    "command": ("valve", "command 'valve' (__main__.valve)"),
    "device": ("thing", "device 'thing' (__main__.thing)"),
}


async def _start_stuck(
    tmp_path: Path, seen: Collector, port: int, block: str, kinds: tuple[str, ...]
) -> AppProcess:
    """Start the app, wait until it is online, then make every handler of *kinds* get stuck."""
    script = tmp_path / "stuck_app.py"
    script.write_text(APP.format(block=BLOCKS[block], kinds=kinds))
    process = start_app(script, port)
    await seen.wait_for("stuck/go/availability", lambda p: p == "online", 15)
    if "command" in kinds:
        await seen.publish("stuck/valve/set", "open")
    await seen.publish("stuck/go/set", "go")
    for kind in kinds:
        await process.wait_for_output(f"STUCK {LABELS[kind][0]}")
    return process


async def _stop(process: AppProcess, sig: signal.Signals) -> tuple[int, str, float]:
    """Send *sig*; the exit code, the output and the seconds until the process ended."""
    started = time.monotonic()
    process.send_signal(sig)
    code, output = await asyncio.to_thread(finish, process, DEADLINE + 10)
    return code, output, time.monotonic() - started


async def _assert_offline_retained(broker: MosquittoBroker) -> None:
    async with Collector(broker.host, broker.port) as later:
        await later.subscribe("stuck/status")
        status = await later.wait_for("stuck/status")
        assert status.payload == "offline" and status.retain


@pytest.mark.parametrize("kind", ["telemetry", "command", "device"])
async def test_a_handler_blocking_the_event_loop_is_abandoned_by_the_watchdog(
    tmp_path: Path, broker: MosquittoBroker, kind: str
) -> None:
    await purge_retained(broker.host, broker.port, "stuck/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("stuck/#")
        process = await _start_stuck(tmp_path, seen, broker.port, "loop", (kind,))
        code, output, took = await _stop(process, signal.SIGTERM)
        assert code == 0, output
        assert TEARDOWN_GRACE <= took < DEADLINE, output
        label = LABELS[kind][1]
        assert f"{label} blocks the event loop and did not stop within 5 s; abandoned" in output
        assert "the broker publishes the app's last will, stuck/status = offline" in output
        assert "Traceback" not in output, output
        await seen.wait_for("stuck/status", lambda p: p == "offline")
    await _assert_offline_retained(broker)


@pytest.mark.parametrize(
    ("block", "says"),
    [
        ("thread", "left time.sleep running in a worker thread; abandoned"),
        ("deaf", "did not stop within 5 s and ignores cancellation; abandoned"),
    ],
    ids=["thread", "deaf"],
)
async def test_handlers_that_do_not_stop_are_abandoned_after_a_clean_offline(
    tmp_path: Path, broker: MosquittoBroker, block: str, says: str
) -> None:
    kinds = ("telemetry", "command", "device")
    await purge_retained(broker.host, broker.port, "stuck/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("stuck/#")
        process = await _start_stuck(tmp_path, seen, broker.port, block, kinds)
        code, output, took = await _stop(process, signal.SIGTERM)
        assert code == 0, output
        assert TEARDOWN_GRACE <= took < DEADLINE, output
        for kind in kinds:
            assert f"{LABELS[kind][1]} {says}" in output, output
        assert "exiting now (code 0) without waiting for what was abandoned" in output
        assert "Traceback" not in output, output
        for name in ("meter", "valve", "thing"):  # teardown went on: a clean offline
            await seen.wait_for(f"stuck/{name}/availability", lambda p: p == "offline")
        await seen.wait_for("stuck/status", lambda p: p == "offline")
    await _assert_offline_retained(broker)


@pytest.mark.parametrize(
    ("block", "first", "second"),
    [
        ("deaf", signal.SIGTERM, signal.SIGTERM),
        ("deaf", signal.SIGTERM, signal.SIGINT),
        ("deaf", signal.SIGINT, signal.SIGTERM),
        ("loop", signal.SIGTERM, signal.SIGTERM),
        ("loop", signal.SIGTERM, signal.SIGINT),
    ],
    ids=lambda value: value.name if isinstance(value, signal.Signals) else value,
)
async def test_a_second_signal_during_teardown_ends_the_process_at_once(
    tmp_path: Path,
    broker: MosquittoBroker,
    block: str,
    first: signal.Signals,
    second: signal.Signals,
) -> None:
    await purge_retained(broker.host, broker.port, "stuck/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("stuck/#")
        process = await _start_stuck(tmp_path, seen, broker.port, block, ("telemetry",))
        process.send_signal(first)
        await process.wait_for_output(f"{first.name} received: stopping")
        code, output, took = await _stop(process, second)
        assert code == 0, output
        assert took < 2.0, output
        assert f"second {second.name} during shutdown" in output
        assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
        await seen.wait_for("stuck/status", lambda p: p == "offline")
    await _assert_offline_retained(broker)


QUICK_APP = """
import cosalette

app = cosalette.App(name="stuck", version="1.0.0", heartbeat_interval=None)

@app.telemetry("meter", interval=0.1)
async def meter() -> dict[str, object]:
    return {"reading": 1}

@app.device("thing")
async def thing(ctx: cosalette.DeviceContext) -> None:
    await ctx.sleep(3600)

if __name__ == "__main__":
    app.cli()
"""


async def test_an_app_that_stops_in_time_exits_cleanly(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    script = tmp_path / "quick_app.py"
    script.write_text(QUICK_APP)
    await purge_retained(broker.host, broker.port, "stuck/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("stuck/#")
        process = start_app(script, broker.port)
        await seen.wait_for("stuck/meter/state", None, 15)
        code, output, took = await _stop(process, signal.SIGTERM)
        assert code == 0, output
        assert took < TEARDOWN_GRACE, output  # nothing waits out the grace period
        assert "abandoned" not in output and "exiting now" not in output, output
        await seen.wait_for("stuck/thing/availability", lambda p: p == "offline")
        await seen.wait_for("stuck/status", lambda p: p == "offline")
