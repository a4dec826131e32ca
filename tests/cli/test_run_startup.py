"""``cosactl run`` says what it starts and, once, what to do while no broker answers (issue 13,
item 13). The real cosactl on a project made by ``cosactl new``; every wait has a deadline and
waits for an output line."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _cli import cosactl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from _apps import AppProcess, finish
from _broker import free_port

from cosactl._startup import hint_while_unreachable

ATTEMPT = re.compile(r"(Cannot connect to|Still no connection .* to) MQTT broker")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gas2mqtt with two telemetry devices."""
    base = tmp_path_factory.mktemp("run")
    for args, cwd in (
        (("new", "gas2mqtt", "--no-input"), base),
        (("add", "telemetry", "counter"), base / "gas2mqtt"),
        (("add", "telemetry", "temperature"), base / "gas2mqtt"),
    ):
        result = cosactl(*args, cwd=cwd)
        assert result.returncode == 0, result.stdout + result.stderr
    return base / "gas2mqtt"


def _env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAS2MQTT_")}
    env.update(
        GAS2MQTT_MQTT__HOST="127.0.0.1",
        GAS2MQTT_MQTT__PORT=str(port),
        GAS2MQTT_MQTT__RECONNECT_INTERVAL="0.05",  # many attempts while the test watches
    )
    return env


async def until(condition: Callable[[], bool], process: AppProcess, timeout: float = 15) -> None:  # noqa: ASYNC109
    """Return once *condition* holds; fail with the output after *timeout* s or at exit."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"condition not met; output:\n{process.output()}")
        await asyncio.sleep(0.02)


def test_run_prints_a_start_up_line_and_the_broker_hint_once(project: Path) -> None:
    port = free_port()  # nothing listens there
    process = AppProcess(
        [sys.executable, "-m", "cosactl", "run", "--dry-run", "--log-level", "DEBUG"],
        cwd=project,
        env=_env(port),
    )

    async def scenario() -> None:
        await process.wait_for_output("gas2mqtt 0.1.0 starting: ")
        await process.wait_for_output("no MQTT broker answers at ", timeout=15)
        after_hint = len(process.lines)
        await until(  # the client keeps trying after the hint
            lambda: sum(bool(ATTEMPT.search(line)) for line in process.lines[after_hint:]) >= 3,
            process,
        )

    try:
        asyncio.run(scenario())
    finally:
        process.send_signal(signal.SIGINT)
        _code, output = finish(process)
    start = next(line for line in output.splitlines() if "starting: " in line)
    assert start.endswith(
        f"gas2mqtt 0.1.0 starting: 2 devices, dry run (fake adapters, state in memory), "
        f"broker 127.0.0.1:{port}"
    ), start
    hints = [line for line in output.splitlines() if "no MQTT broker answers" in line]
    assert len(hints) == 1, output  # once, though the client kept retrying
    assert "`cosactl dev` starts a local one" in hints[0]
    assert "GAS2MQTT_MQTT__HOST" in hints[0] and "settings.toml" in hints[0]


def test_run_without_dry_run_says_real_adapters(project: Path) -> None:
    port = free_port()
    process = AppProcess([sys.executable, "-m", "cosactl", "run"], cwd=project, env=_env(port))
    try:
        asyncio.run(process.wait_for_output("starting: "))
    finally:
        process.send_signal(signal.SIGINT)
        _code, output = finish(process)
    assert f"starting: 2 devices, real adapters, broker 127.0.0.1:{port}" in output, output


# --- the hint's callback, without processes ---------------------------------------------------


class _Client:
    """What the callback reads of the MQTT client: ``wait_connected(timeout)``."""

    def __init__(self, connects: bool) -> None:
        self.connects = connects
        self.waited: list[float] = []

    async def wait_connected(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        self.waited.append(timeout or 0.0)
        return self.connects


class _Runtime:
    def __init__(self, mqtt: object) -> None:
        self.mqtt = mqtt


@pytest.mark.parametrize("connects", [True, False])
def test_the_hint_is_logged_only_when_the_client_did_not_connect_in_time(
    connects: bool, caplog: pytest.LogCaptureFixture
) -> None:
    client = _Client(connects)

    async def scenario() -> None:
        hint_while_unreachable("HINT", after=2.5)(_Runtime(client))  # type: ignore[arg-type]
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        await asyncio.gather(*pending)

    with caplog.at_level(logging.WARNING, logger="cosactl"):
        asyncio.run(scenario())
    assert client.waited == [2.5]
    assert [r.getMessage() for r in caplog.records] == ([] if connects else ["HINT"])
