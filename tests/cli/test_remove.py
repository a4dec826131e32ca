"""`cosactl remove`, run as a real subprocess in freshly generated projects: the exact undo of
`cosactl add`, and (with a real mosquitto) the clearing of a device's retained messages."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest
from _cli import copy_project, cosactl, cosactl_ok, new_project, snapshot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from _apps import AppProcess, finish
from _broker import Collector, MosquittoBroker, free_port, require_mosquitto

USER_SETTINGS = """\
# my bridge - notes the user wrote
[app]
name = "demo"
version = "0.1.0"

[mqtt]
host   =   "broker.lan"    # odd spacing, kept
port = 1883

[devices.pump]
speed = 3                  # hand-written device section
# max_speed = 5

# --- about extra: this block belongs to [extra]
[extra]
flag = true
"""


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_project(tmp_path_factory.mktemp("fresh"))


@pytest.fixture
def project(fresh: Path, tmp_path: Path) -> Path:
    return copy_project(fresh, tmp_path)


def ok(project: Path, *args: str) -> str:
    return cosactl_ok(*args, cwd=project).stdout


def test_every_add_removed_gives_back_the_project_byte_for_byte(project: Path) -> None:
    before = snapshot(project)
    adds = [
        ["telemetry", "field", "--adapter", "magnetometer", "--publish", "on-change"],
        ["command", "valve"],
        ["periodic", "cleanup", "--interval", "30"],
        ["stream", "scanner", "--adapter", "ble"],
        ["adapter", "thermometer"],
        ["router", "garden"],
    ]
    for args in adds:
        ok(project, "add", *args)
    again = ok(project, "add", *adds[0])  # again: changes nothing, forgets nothing
    assert "update    .cosactl.json" not in again

    for name in ("valve", "field", "scanner", "garden", "thermometer"):
        out = ok(project, "remove", name)
        assert "update    .cosactl.json (forget" in out
        added = json.loads((project / ".cosactl.json").read_text())["added"]
        assert name not in [e["name"] for e in added]
    out = ok(project, "remove", "cleanup")

    assert "remove    devices/cleanup.py" in out
    assert "update    settings.toml [devices.cleanup] (taken out)" in out
    assert snapshot(project) == before
    assert (project / "devices").is_dir(), "folders stay, even when empty"


def test_sections_come_out_in_any_order_keeping_the_users_bytes(project: Path) -> None:
    settings = project / "settings.toml"
    settings.write_text(USER_SETTINGS)
    for args in (["telemetry", "counter"], ["periodic", "flush"]):
        ok(project, "add", *args)
    (project / "devices/pump.py").write_text("# the user's own device\n")

    ok(project, "remove", "counter")  # the first added, not the last
    text = settings.read_text()
    assert "[devices.counter]" not in text and "[devices.flush]" in text
    ok(project, "remove", "flush")

    assert settings.read_text() == USER_SETTINGS
    assert (project / "devices/pump.py").is_file()


def test_crlf_settings_come_back_byte_for_byte(project: Path) -> None:
    settings = project / "settings.toml"
    original = settings.read_bytes().replace(b"\n", b"\r\n")
    settings.write_bytes(original)

    ok(project, "add", "telemetry", "counter")
    ok(project, "remove", "counter")

    assert settings.read_bytes() == original


def test_a_changed_file_is_refused_with_a_diff_and_removed_with_force(project: Path) -> None:
    ok(project, "add", "command", "valve")
    with (project / "devices/valve.py").open("a") as handle:
        handle.write("# my own change\n")
    before = snapshot(project)

    result = cosactl("remove", "valve", cwd=project)

    assert result.returncode == 4
    assert "+# my own change" in result.stderr and "devices/valve.py (yours)" in result.stderr
    assert "--force" in result.stderr
    assert snapshot(project) == before
    forced = ok(project, "remove", "valve", "--force")
    assert "remove    devices/valve.py" in forced
    assert not (project / "devices/valve.py").exists()


def test_a_changed_settings_section_is_refused(project: Path) -> None:
    ok(project, "add", "telemetry", "counter")
    settings = project / "settings.toml"
    settings.write_text(settings.read_text().replace("interval = 60.0", "interval = 5.0"))
    before = snapshot(project)

    result = cosactl("remove", "counter", cwd=project)

    assert result.returncode == 4
    assert "-interval = 60.0" in result.stderr and "+interval = 5.0" in result.stderr
    assert snapshot(project) == before


def test_pretend_changes_nothing_and_a_file_already_deleted_is_reported(project: Path) -> None:
    ok(project, "add", "telemetry", "counter")
    before = snapshot(project)

    out = ok(project, "remove", "counter", "--pretend")

    assert "remove    devices/counter.py" in out
    assert "update    settings.toml [devices.counter] (taken out)" in out
    assert "--pretend: nothing was changed" in out
    assert snapshot(project) == before
    (project / "tests/test_counter.py").unlink()
    out = ok(project, "remove", "counter")
    assert "gone      tests/test_counter.py (already deleted)" in out
    assert not (project / "devices/counter.py").exists()


def test_an_adapter_in_use_is_refused_naming_its_user(project: Path) -> None:
    ok(project, "add", "adapter", "magnetometer")
    ok(project, "add", "telemetry", "field", "--adapter", "magnetometer")
    ok(project, "add", "telemetry", "gauge", "--adapter", "compass")  # creates compass
    ok(project, "add", "telemetry", "meter", "--adapter", "compass")
    before = snapshot(project)

    adapter = cosactl("remove", "magnetometer", cwd=project)
    created_by_gauge = cosactl("remove", "gauge", cwd=project)

    assert adapter.returncode == 4
    assert "telemetry field (--adapter magnetometer)" in adapter.stderr
    assert created_by_gauge.returncode == 4
    assert "adapters/compass.py is used by telemetry meter (--adapter compass)" in (
        created_by_gauge.stderr
    )
    assert snapshot(project) == before
    assert "remove    adapters/compass.py" in ok(project, "remove", "gauge", "--force")
    ok(project, "remove", "field")
    ok(project, "remove", "magnetometer")
    assert not (project / "adapters/magnetometer.py").exists()


def test_an_unknown_name_lists_what_was_recorded(project: Path) -> None:
    ok(project, "add", "command", "valve")
    ok(project, "add", "adapter", "valve")
    before = snapshot(project)

    unknown = cosactl("remove", "pump", cwd=project)
    both = cosactl("remove", "valve", cwd=project)

    assert unknown.returncode == 2
    assert "valve (command), valve (adapter)" in unknown.stderr
    assert both.returncode == 2 and "--archetype" in both.stderr
    assert snapshot(project) == before
    ok(project, "remove", "valve", "--archetype", "adapter")
    assert (project / "devices/valve.py").is_file() and not (project / "adapters/valve.py").exists()


def test_an_entry_recorded_by_an_older_cosactl_is_undone_by_re_rendering(project: Path) -> None:
    before = snapshot(project)
    ok(project, "add", "command", "valve")
    record = project / ".cosactl.json"
    data = json.loads(record.read_text())
    data["added"] = [{k: e[k] for k in ("archetype", "name", "options")} for e in data["added"]]
    record.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

    ok(project, "remove", "valve")

    assert snapshot(project) == before


def test_clear_retained_with_the_broker_down_removes_nothing(project: Path) -> None:
    ok(project, "add", "telemetry", "counter")
    before = snapshot(project)

    result = cosactl(
        "remove", "counter", "--clear-retained", cwd=project, env=_broker_env(free_port())
    )

    assert result.returncode == 1
    assert "cannot reach the broker at 127.0.0.1:" in result.stderr
    assert "nothing was removed" in result.stderr
    assert snapshot(project) == before


async def test_clear_retained_clears_the_devices_topics_and_discovery_configs(
    project: Path, tmp_path: Path
) -> None:
    broker = MosquittoBroker(require_mosquitto(), tmp_path)
    broker.start()
    try:
        ok(project, "add", "telemetry", "counter", "--interval", "0.2")
        ok(project, "add", "command", "valve")
        env = _broker_env(broker.port)
        counter = "homeassistant/sensor/demo/counter_value/config"
        valve = "homeassistant/switch/demo/valve_state/config"
        async with Collector(broker.host, broker.port) as seen:
            await seen.subscribe("demo/#", "homeassistant/#")
            bridge = AppProcess(
                [sys.executable, "-m", "cosactl", "run", "--dry-run"],
                cwd=project,
                env={**os.environ, **env, "DEMO_HOMEASSISTANT__DISCOVERY": "true"},
            )
            try:
                await seen.wait_for("demo/counter/state", None, 15)
                await seen.wait_for(counter)
                await seen.wait_for(valve)
            finally:
                bridge.send_signal(signal.SIGTERM)
                code, output = finish(bridge)
            assert code == 0, output
            await seen.publish("demo/counter/extra/state", "1", retain=True)
            await seen.publish("demo/counter_two/state", "2", retain=True)

        pretend = cosactl(
            "remove", "counter", "--clear-retained", "--pretend", cwd=project, env=env
        )
        assert f"clear     {counter} (retained)" in pretend.stdout, pretend.stderr
        assert counter in await _retained(broker, "homeassistant/#")

        result = cosactl("remove", "counter", "--clear-retained", cwd=project, env=env)

        assert result.returncode == 0, result.stdout + result.stderr
        for topic in ("demo/counter/state", "demo/counter/availability", counter):
            assert f"clear     {topic} (retained)" in result.stdout
        assert not (project / "devices/counter.py").exists()
        retained = await _retained(broker, "demo/#", "homeassistant/#")
        assert not [t for t in retained if t.startswith("demo/counter/") or t == counter]
        assert {"demo/valve/availability", "demo/counter_two/state", valve} <= set(retained)
    finally:
        broker.stop()


def _broker_env(port: int) -> dict[str, str]:
    return {"DEMO_MQTT__HOST": "127.0.0.1", "DEMO_MQTT__PORT": str(port)}


async def _retained(broker: MosquittoBroker, *filters: str) -> dict[str, str]:
    """The retained messages on *filters*: all delivered once our marker comes back."""
    async with Collector(broker.host, broker.port) as fresh:
        await fresh.subscribe(*filters, "marker/remove-test")
        await fresh.publish("marker/remove-test", "done")
        await fresh.wait_for("marker/remove-test")
        return {m.topic: m.payload for m in fresh.messages if m.retain and m.payload}
