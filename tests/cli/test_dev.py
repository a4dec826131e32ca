"""``cosactl dev`` end to end: real subprocesses, a real mosquitto (and the built-in broker).

The project comes from ``cosactl new`` + ``cosactl add telemetry counter``. Every wait has a
deadline and waits on a broker message or an output line, never on a fixed sleep.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _devsession import (
    Collector,
    DevProcess,
    free_port,
    make_project,
    port_open,
    require_mosquitto,
    set_interval,
    set_payload,
)

from cosactl.devserver.config import ChangeFilter
from cosactl.devserver.pybroker import PyBroker, topic_matches

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="cosactl dev needs fork()")
STATE = "demo/counter/state"


def _version(payload: str) -> object:
    try:
        return json.loads(payload).get("version")
    except (ValueError, AttributeError):
        return None


@pytest.fixture
def session_port() -> int:
    """A free port for the broker cosactl dev starts."""
    return free_port()


@pytest.fixture
def project(tmp_path: Path, session_port: int) -> Path:
    """A fresh project whose counter publishes every 0.5 s to *session_port*."""
    return make_project(tmp_path, session_port, interval=0.5)


@pytest.fixture
def cleanup() -> Iterator[list[DevProcess]]:
    """Kill whatever a failed test left behind."""
    started: list[DevProcess] = []
    yield started
    for dev in started:
        dev.kill()


async def _gaps(collector: Collector, count: int, timeout: float) -> list[float]:  # noqa: ASYNC109
    """Seconds between *count* consecutive state messages arriving from now on."""
    loop = asyncio.get_running_loop()
    collector.clear()
    stamps: list[float] = []
    for _ in range(count):
        await collector.wait_for(STATE, timeout=timeout)
        stamps.append(loop.time())
        collector.clear()
    return [b - a for a, b in itertools.pairwise(stamps)]


def test_dev_reloads_keeps_the_old_version_on_errors_and_leaves_nothing(
    project: Path, session_port: int, cleanup: list[DevProcess]
) -> None:
    require_mosquitto()
    set_payload(project, '{"value": 0, "version": 1}')
    dev = DevProcess(project, env={"COSACTL_DEV_BROKER": "mosquitto"})
    cleanup.append(dev)

    async def scenario() -> None:
        await dev.wait_line(lambda s: "started mosquitto" in s)
        async with Collector("127.0.0.1", session_port) as collector:
            await collector.subscribe(STATE)
            await collector.wait_for(STATE, lambda p: _version(p) == 1, timeout=15)
            dev.record()

            # 1. a new payload arrives from the new code
            mark = len(dev.lines)
            set_payload(project, '{"value": 0, "version": 2}')
            await collector.wait_for(STATE, lambda p: _version(p) == 2, timeout=10)
            await dev.wait_line(lambda s: "reload #1 (devices/counter.py): ready" in s, 5, mark)
            dev.record()

            # 2. a syntax error: the error names file and line, the old version keeps publishing
            mark = len(dev.lines)
            line = set_payload(project, '{"value": 0, "version": 3')
            at = await dev.wait_line(lambda s: "failed" in s and "SyntaxError" in s, 10, mark)
            assert f"devices/counter.py:{line}:" in dev.lines[at], dev.output
            assert "keeps running" in dev.lines[at]
            collector.clear()
            for _ in range(2):
                message = await collector.wait_for(STATE, timeout=5)
                assert _version(message.payload) == 2
                collector.clear()

            # 3. the fix runs
            set_payload(project, '{"value": 0, "version": 4}')
            await collector.wait_for(STATE, lambda p: _version(p) == 4, timeout=10)
            dev.record()
            before = statistics.median(await _gaps(collector, 4, timeout=5))

            # 4. a faster interval in settings.toml: the rate changes
            mark = len(dev.lines)
            set_interval(project, 0.1)
            await dev.wait_line(lambda s: "(settings.toml): ready" in s, 10, mark)
            dev.record()
            after = statistics.median(await _gaps(collector, 8, timeout=5))
            assert before > 0.35, (before, dev.output)
            assert after < 0.3, (after, dev.output)

    asyncio.run(scenario())
    dev.record()
    assert len(dev.seen) >= 3, dev.seen  # cosactl dev, its fork server, a child, mosquitto

    # 5. Ctrl-C: everything of the session goes, the broker too
    assert dev.interrupt() == 0, dev.output
    assert dev.leftovers() == [], dev.output
    assert not port_open("127.0.0.1", session_port)
    assert "Traceback" not in dev.output.split("devices/counter.py:")[0], dev.output


def test_dev_with_the_builtin_python_broker(
    project: Path, session_port: int, cleanup: list[DevProcess]
) -> None:
    set_payload(project, '{"value": 0, "version": 1}')
    dev = DevProcess(project, env={"COSACTL_DEV_BROKER": "python"})
    cleanup.append(dev)

    async def scenario() -> None:
        await dev.wait_line(lambda s: "started the built-in Python broker" in s)
        async with Collector("127.0.0.1", session_port) as collector:
            await collector.subscribe(STATE)
            first = await collector.wait_for(STATE, lambda p: _version(p) == 1, timeout=15)
            assert first.payload == '{"value":0,"version":1}'
            dev.record()
            set_payload(project, '{"value": 0, "version": 2}')
            await collector.wait_for(STATE, lambda p: _version(p) == 2, timeout=10)
            dev.record()
        # retained state survives reloads: a new subscriber gets the last state at once
        async with Collector("127.0.0.1", session_port) as late:
            await late.subscribe(STATE)
            retained = await late.wait_for(STATE, timeout=5)
            assert retained.retain

    asyncio.run(scenario())
    assert dev.interrupt() == 0, dev.output
    assert dev.leftovers() == [], dev.output
    assert not port_open("127.0.0.1", session_port)


def test_dev_uses_an_existing_broker_given_by_url(
    tmp_path: Path, cleanup: list[DevProcess]
) -> None:
    async def scenario() -> None:
        broker = PyBroker("127.0.0.1", 0)
        await broker.start()
        try:
            root = make_project(tmp_path, free_port(), interval=0.5)  # nothing listens there
            dev = DevProcess(root, "--broker", f"mqtt://127.0.0.1:{broker.port}")
            cleanup.append(dev)
            await dev.wait_line(
                lambda s: f"using the broker at mqtt://127.0.0.1:{broker.port}" in s
            )
            async with Collector("127.0.0.1", broker.port) as collector:
                await collector.subscribe(STATE)
                await collector.wait_for(STATE, timeout=15)
            dev.record()
            assert await asyncio.to_thread(dev.signal, signal.SIGTERM) == 0, dev.output
            assert dev.leftovers() == [], dev.output
        finally:
            await broker.stop()

    asyncio.run(scenario())


def test_a_killed_dev_leaves_no_child_and_no_broker(
    project: Path, session_port: int, cleanup: list[DevProcess], tmp_path: Path
) -> None:
    require_mosquitto()
    temp = tmp_path / "temp"
    temp.mkdir()
    dev = DevProcess(project, env={"COSACTL_DEV_BROKER": "mosquitto", "TMPDIR": str(temp)})
    cleanup.append(dev)

    async def scenario() -> None:
        await dev.wait_line(lambda s: "start: ready" in s)

    asyncio.run(scenario())
    dev.record()
    assert len(dev.seen) >= 4, dev.seen  # cosactl dev, fork server, child, mosquitto
    assert dev.signal(signal.SIGKILL) == -signal.SIGKILL
    dev.sessions.discard(dev.process.pid)  # only what it started must go by itself
    assert dev.leftovers(timeout=10) == [], dev.output
    assert not port_open("127.0.0.1", session_port)
    assert list(temp.iterdir()) == []  # not even the broker's config folder


def test_first_start_error_does_not_end_the_session(
    project: Path, cleanup: list[DevProcess]
) -> None:
    line = set_payload(project, "{1: (")
    dev = DevProcess(project, env={"COSACTL_DEV_BROKER": "python"})
    cleanup.append(dev)

    async def scenario() -> None:
        at = await dev.wait_line(lambda s: "start failed" in s)
        assert f"devices/counter.py:{line}:" in dev.lines[at]
        set_payload(project, '{"value": 0, "version": 1}')
        await dev.wait_line(lambda s: "(devices/counter.py): ready" in s, 10, at)

    asyncio.run(scenario())
    dev.record()
    assert dev.interrupt() == 0, dev.output
    assert dev.leftovers() == [], dev.output


# --- pieces, without processes --------------------------------------------------------------


def test_change_filter_takes_sources_and_settings_only(tmp_path: Path) -> None:
    (tmp_path / ".venv").mkdir()
    (tmp_path / "myenv").mkdir()
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("")
    accept = ChangeFilter(tmp_path, [tmp_path / "settings.toml", tmp_path / ".env"])
    yes = ["devices/counter.py", "adapters/x.py", "settings.toml", ".env", "routers/a/b.py"]
    no = [
        "tests/test_counter.py",
        "devices/__pycache__/counter.cpython-311.pyc",
        ".git/index",
        ".venv/lib/site.py",
        "myenv/lib/site.py",
        "devices/.#counter.py",
        "devices/counter.py~",
        "devices/.counter.py.swp",
        "store.json",
        "demo.log",
        "devices/notes.txt",
    ]
    assert [p for p in yes if not accept(None, str(tmp_path / p))] == []
    assert [p for p in no if accept(None, str(tmp_path / p))] == []


def test_topic_matching_of_the_builtin_broker() -> None:
    assert topic_matches("a/#", "a") and topic_matches("a/#", "a/b/c")
    assert topic_matches("a/+/c", "a/b/c") and not topic_matches("a/+", "a/b/c")
    assert topic_matches("#", "a/b") and not topic_matches("#", "$SYS/x")
    assert not topic_matches("a/b", "a/b/c")


def _mqtt_string(text: str) -> bytes:
    return len(text).to_bytes(2, "big") + text.encode()


def test_builtin_broker_retains_delivers_qos1_and_sends_wills() -> None:
    async def scenario() -> None:
        broker = PyBroker("127.0.0.1", 0)
        await broker.start()
        try:
            async with Collector("127.0.0.1", broker.port) as watcher:
                await watcher.subscribe("t/#")
                # a raw client with a retained QoS 1 will, dropped without DISCONNECT
                reader, writer = await asyncio.open_connection("127.0.0.1", broker.port)
                flags = 0x02 | 0x04 | 0x08 | 0x20  # clean session, will, will QoS 1, will retain
                body = _mqtt_string("MQTT") + bytes([4, flags, 0, 60])
                body += _mqtt_string("raw") + _mqtt_string("t/will") + _mqtt_string("gone")
                writer.write(bytes([0x10, len(body)]) + body)
                assert await reader.readexactly(4) == b"\x20\x02\x00\x00"
                publish = _mqtt_string("t/a") + b"\x00\x07" + b"1"
                writer.write(bytes([0x33, len(publish)]) + publish)  # QoS 1, retained
                assert await reader.readexactly(4) == b"\x40\x02\x00\x07"
                await watcher.wait_for("t/a", lambda p: p == "1")
                writer.transport.abort()
                await watcher.wait_for("t/will", lambda p: p == "gone")
                await watcher.publish("t/a", "", retain=True)  # clears the retained message
            async with Collector("127.0.0.1", broker.port) as late:
                await late.subscribe("t/+", "t/will")
                message = await late.wait_for("t/will")
                assert message.retain
                assert "t/a" not in [m.topic for m in late.messages]
        finally:
            await broker.stop()

    asyncio.run(scenario())
