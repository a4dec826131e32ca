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
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))  # broker, app helpers
import aiomqtt
from _apps import AppProcess, finish, start_app
from _broker import (
    MosquittoBroker,
    require_mosquitto,
)

from soak._soak_load import (
    ANSWER_GRACE,
    APP_SCRIPT,
    COMMAND_PERIOD,
    DEVICES,
    KILL_MARGIN,
    OUTAGE,
    PER_MESSAGE,
    PER_MESSAGE_IDLE,
    PUBLISH_WINDOW,
    RESTART_EVERY,
    RSS_LIMIT_KB,
    SECONDS,
    TASKS_SPREAD,
    TELEMETRY_INTERVAL,
    WARMUP,
    Chaos,
    Driver,
    first_after,
    read_retained_states,
    read_stats,
)

pytestmark = pytest.mark.soak


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
