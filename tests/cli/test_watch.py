"""``cosactl watch`` end to end: the real cosactl on a project made by ``cosactl new`` and
``cosactl add``, the bridge run by ``cosactl run --dry-run``, a real mosquitto.

The broker logs every packet (``log_type all``), so "watch never publishes" is read from what
the broker received from watch's client id. Every wait has a deadline and waits for a broker
message or an output line; ``--for`` ends the one-shot runs.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _cli import cosactl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from _apps import AppProcess, finish
from _broker import (
    Collector,
    MosquittoBroker,
    create_dynsec_broker,
    find_dynsec_plugin,
    free_port,
    require_mosquitto,
)

from cosactl._watch import JSON_KEYS, Target, WatchLiveView
from cosalette._settings import MqttSettings

pytestmark = pytest.mark.integration

APP = "gas2mqtt"
SECRET = "hunter2-never-printed"
WATCH_FOR = "2"  # seconds each one-shot watch runs (retained messages arrive in milliseconds)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gas2mqtt with a telemetry device publishing every second and one every minute."""
    base = tmp_path_factory.mktemp("watch")
    for args, cwd in (
        (("new", APP, "--no-input"), base),
        (("add", "telemetry", "counter", "--interval", "60"), base / APP),
        (("add", "telemetry", "temperature", "--interval", "1"), base / APP),
    ):
        result = cosactl(*args, cwd=cwd)
        assert result.returncode == 0, result.stdout + result.stderr
    return base / APP


def env_for(port: int, **extra: str) -> dict[str, str]:
    """The environment pointing the project at 127.0.0.1:*port* (nothing else of GAS2MQTT_)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAS2MQTT_")}
    env.update(GAS2MQTT_MQTT__HOST="127.0.0.1", GAS2MQTT_MQTT__PORT=str(port), **extra)
    return env


def watch_env(port: int) -> dict[str, str]:
    """What watch runs with: credentials whose password must never be printed."""
    return env_for(
        port,
        GAS2MQTT_MQTT__USERNAME="watcher",
        GAS2MQTT_MQTT__PASSWORD=SECRET,
        GAS2MQTT_MQTT__RECONNECT_INTERVAL="0.05",
    )


def start_watch(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cosactl", "watch", *args],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass
class Run:
    """One finished ``cosactl watch``."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def records(self) -> list[dict[str, object]]:
        """Every stdout line as JSON (fails when one is not)."""
        return [json.loads(line) for line in self.stdout.splitlines()]

    def __str__(self) -> str:
        return f"cosactl watch {' '.join(self.args)} -> {self.code}\n{self.stdout}\n{self.stderr}"


@dataclass
class Session:
    """The broker, the bridge's own output and the one-shot watch runs against them."""

    broker: MosquittoBroker
    bridge_output: str
    runs: dict[str, Run]


ONE_SHOTS = {
    "json": ("--json", "--for", WATCH_FOR),
    "device": ("--json", "--device", "counter", "--for", WATCH_FOR),
    "unknown": ("--json", "--device", "nosuch", "--for", WATCH_FOR),
    "plain": ("--for", WATCH_FOR),
}


@pytest.fixture(scope="module")
def session(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """The bridge runs (``cosactl run --dry-run``) until its states are retained; then every
    one-shot watch runs at once against the same broker."""
    broker = MosquittoBroker(
        require_mosquitto(), tmp_path_factory.mktemp("broker"), extra_config="log_type all\n"
    )
    broker.start()
    bridge = AppProcess(
        [sys.executable, "-m", "cosactl", "run", "--dry-run"], cwd=project, env=env_for(broker.port)
    )
    try:

        async def bridge_ready() -> None:
            async with Collector(broker.host, broker.port) as seen:
                await seen.subscribe(f"{APP}/#")
                for topic in ("counter/state", "counter/availability", "temperature/state"):
                    await seen.wait_for(f"{APP}/{topic}", timeout=20)
                await seen.wait_for(f"{APP}/status", lambda p: p.startswith("{"), timeout=20)

        asyncio.run(bridge_ready())
        # the broker's address only in an --env-file: it reads it as `cosactl run` does
        env_file = tmp_path_factory.mktemp("env") / "prod.env"
        env_file.write_text(f"GAS2MQTT_MQTT__HOST=127.0.0.1\nGAS2MQTT_MQTT__PORT={broker.port}\n")
        without_address = {
            k: v for k, v in watch_env(broker.port).items() if not k.endswith(("__HOST", "__PORT"))
        }
        one_shots = {
            **{name: (args, watch_env(broker.port)) for name, args in ONE_SHOTS.items()},
            "env_file": (
                ("--json", "--env-file", str(env_file), "--for", WATCH_FOR),
                without_address,
            ),
        }
        started = {
            name: start_watch(project, env, *args) for name, (args, env) in one_shots.items()
        }
        runs = {}
        for name, process in started.items():
            stdout, stderr = process.communicate(timeout=30)
            runs[name] = Run(one_shots[name][0], process.returncode, stdout, stderr)
        _, bridge_output = finish(bridge)
        yield Session(broker, bridge_output, runs)
    finally:
        if bridge.poll() is None:
            finish(bridge)
        broker.stop()


def test_json_shows_each_devices_retained_state_availability_and_the_heartbeat(
    session: Session,
) -> None:
    run = session.runs["json"]
    assert run.code == 0, run
    records = run.records()
    assert records and all(tuple(r) == JSON_KEYS for r in records), run
    by = {(r["device"], r["kind"]): r for r in records}
    counter = by[("counter", "state")]
    assert counter["topic"] == f"{APP}/counter/state" and counter["retained"] is True
    assert isinstance(counter["payload"], dict), "a JSON state is shown as JSON, not as text"
    assert by[("counter", "availability")]["payload"] == "online"
    assert ("temperature", "state") in by
    heartbeat = by[(None, "heartbeat")]
    assert isinstance(heartbeat["payload"], dict) and "counter" in heartbeat["payload"]["devices"]
    assert str(heartbeat["at"]).endswith("+00:00")
    assert f"connected to 127.0.0.1:{session.broker.port}" in run.stderr


def test_json_shows_new_states_as_the_bridge_publishes_them(session: Session) -> None:
    # temperature publishes every second: during two seconds at least one arrives live
    live = [
        r
        for r in session.runs["json"].records()
        if r["device"] == "temperature" and r["kind"] == "state" and r["retained"] is False
    ]
    assert live, session.runs["json"]


def test_device_follows_one_device_and_the_heartbeat(session: Session) -> None:
    run = session.runs["device"]
    assert run.code == 0, run
    records = run.records()
    assert {r["device"] for r in records} == {"counter", None}, run
    assert {r["kind"] for r in records if r["device"] is None} == {"heartbeat"}
    assert {"state", "availability"} <= {r["kind"] for r in records if r["device"] == "counter"}


def test_an_unknown_device_is_waited_for_and_named(session: Session) -> None:
    run = session.runs["unknown"]
    assert run.code == 0, run
    assert {r["kind"] for r in run.records()} == {"heartbeat"}, run
    assert "waiting for nosuch (nosuch is not a device of gas2mqtt: " in run.stderr
    assert "counter" in run.stderr.split("waiting for nosuch")[1]


def test_without_a_terminal_each_message_is_one_plain_line(session: Session) -> None:
    run = session.runs["plain"]
    assert run.code == 0, run
    assert f"{APP}/counter/state (retained) {{" in run.stdout
    assert f"{APP}/counter/availability (retained) online" in run.stdout
    assert "\x1b[" not in run.stdout, "no terminal: no live table"
    assert "connected to" not in run.stdout, "notices go to stderr"


def test_env_file_gives_the_broker_as_it_does_for_run(session: Session) -> None:
    run = session.runs["env_file"]
    assert run.code == 0, run
    assert ("counter", "state") in {(r["device"], r["kind"]) for r in run.records()}, run


def test_watch_never_publishes(session: Session) -> None:
    log = session.broker.log()
    # the log records watch's packets (its subscriptions) and every publish (the bridge's) ...
    assert log.count("Received SUBSCRIBE from cosactl-watch-") >= len(session.runs), log[-3000:]
    assert f"Received PUBLISH from {APP}-" in log
    # ... and not one publish from any of watch's clients
    assert "Received PUBLISH from cosactl-watch-" not in log


def test_the_password_is_never_printed(session: Session) -> None:
    for run in session.runs.values():
        assert SECRET not in run.stdout + run.stderr


def test_an_invalid_device_name_is_a_usage_error(project: Path) -> None:
    result = cosactl("watch", "--device", "a/b", "--for", "1", cwd=project, env=watch_env(1))
    assert result.returncode == 2
    assert "device name 'a/b' contains characters not allowed in MQTT topics" in result.stderr


def test_an_unreachable_broker_is_named_with_the_setting_and_fails_after_for(
    project: Path,
) -> None:
    port = free_port()  # nothing listens there
    result = cosactl("watch", "--json", "--for", "1", cwd=project, env=watch_env(port))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    where = f"127.0.0.1:{port}"
    assert f"cannot reach the MQTT broker at {where}" in result.stderr
    assert "GAS2MQTT_MQTT__HOST" in result.stderr and "retrying" in result.stderr
    assert result.stderr.count("cannot reach") == 1, "one notice per outage, not per retry"
    assert f"no MQTT broker answered at {where} within 1 s" in result.stderr
    assert SECRET not in result.stdout + result.stderr


async def lines_with(process: AppProcess, text: str, count: int, timeout: float = 10) -> None:  # noqa: ASYNC109
    """Wait until *count* lines containing *text* were printed; fail with the output."""

    def enough() -> bool:
        deadline = time.monotonic() + timeout
        with process._changed:
            while sum(text in line for line in process.lines) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not process._reader.is_alive():
                    return False
                process._changed.wait(remaining)
            return True

    if not await asyncio.to_thread(enough):
        raise AssertionError(f"not {count} lines with {text!r}; output:\n{process.output()}")


def test_watch_reconnects_with_a_notice_and_stops_on_ctrl_c(project: Path, tmp_path: Path) -> None:
    broker = MosquittoBroker(require_mosquitto(), tmp_path)
    broker.start()
    watch = AppProcess(
        [sys.executable, "-m", "cosactl", "watch", "--json", "--device", "counter"],
        cwd=project,
        env=watch_env(broker.port),
    )

    async def publish(payload: str) -> None:
        async with Collector(broker.host, broker.port) as client:
            await client.publish(f"{APP}/counter/state", payload)

    async def scenario() -> None:
        await watch.wait_for_output("connected to ", timeout=15)
        await publish('{"value": 1}')
        await watch.wait_for_output('"payload": {"value": 1}')
        broker.stop()
        await watch.wait_for_output(f"lost the connection to 127.0.0.1:{broker.port}")
        broker.start()
        await lines_with(watch, "connected to ", 2)
        await publish('{"value": 2}')
        await watch.wait_for_output('"payload": {"value": 2}')
        watch.send_signal(signal.SIGINT)

    try:
        asyncio.run(scenario())
        code, output = finish(watch)
    finally:
        if watch.poll() is None:
            finish(watch)
        broker.stop()
    assert code == 0, output
    assert output.count("lost the connection") == 1, output
    assert "lost the connection" in output.split('"value": 1')[1].split('"value": 2')[0]


def test_the_live_table_shows_the_connection_and_waits_for_the_device() -> None:
    target = Target(APP, APP, MqttSettings(), "GAS2MQTT_", "settings.toml", ("counter",))
    view = WatchLiveView(target.root, "cosactl watch · gas2mqtt", only="nosuch")
    view.stream = io.StringIO()
    view.connection = ("connected to localhost:1883; reading gas2mqtt/#", False)
    view.message(f"{APP}/counter/state", '{"value": 3}', True)
    lines = view.frame(100)
    assert "(waiting for nosuch)" in lines
    assert any("connected to localhost:1883" in line for line in lines)
    assert not any("reload" in line or "starting" in line for line in lines)
    assert "app -" in lines[0]
    view.message(f"{APP}/status", json.dumps({"status": "online", "devices": {}}), False)
    assert "app online, heartbeat 0.0s ago" in view.frame(100)[0]
    view.board.only = None
    view.message(f"{APP}/counter/state", '{"value": 3}', True)
    assert any(line.startswith("counter") and '{"value": 3}' in line for line in view.frame(100))


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_subscription_the_acl_refuses_is_named_and_not_retried(
    project: Path, tmp_path: Path, protocol: str
) -> None:
    plugin = find_dynsec_plugin()
    if plugin is None:  # mosquitto's acl_file never refuses a SUBSCRIBE; this plugin can
        pytest.skip("mosquitto's dynamic-security plugin is not installed")
    broker = create_dynsec_broker(
        require_mosquitto(), tmp_path, plugin, {"watcher": (SECRET, ["subscribePattern other/#"])}
    )
    broker.start()
    try:
        env = watch_env(broker.port)
        env["GAS2MQTT_MQTT__PROTOCOL"] = protocol
        result = cosactl("watch", "--json", "--for", "10", cwd=project, env=env)
    finally:
        broker.stop()

    assert result.returncode == 1, result.stdout + result.stderr
    assert "refused the subscription to gas2mqtt/#" in result.stderr
    assert "the broker's ACL must let user 'watcher' read gas2mqtt/#" in result.stderr
    assert "reconnecting" not in result.stderr and "retrying" not in result.stderr
    assert SECRET not in result.stdout + result.stderr
