"""From an empty directory to a tested, running bridge: cosactl new, add, test, manifest, run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from _apps import AppProcess, finish
from _broker import Collector, MosquittoBroker, require_mosquitto

USER_COMMENT = "# my own note: the meter is in the cellar\n"
ASYNCAPI_SCHEMA = (
    Path(__file__).resolve().parents[1] / "unit" / "contract" / "asyncapi-3.0.0.schema.json"
)


def cosactl(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "cosactl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"cosactl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gas2mqtt with one device of each archetype, and a comment the user wrote."""
    base = tmp_path_factory.mktemp("e2e")
    cosactl("new", "gas2mqtt", "--no-input", cwd=base)
    root = base / "gas2mqtt"
    settings = root / "settings.toml"
    settings.write_text(settings.read_text() + "\n" + USER_COMMENT)
    cosactl("add", "adapter", "magnetometer", cwd=root)
    cosactl(
        "add", "telemetry", "counter", "--interval", "60", "--adapter", "magnetometer", cwd=root
    )
    cosactl(
        "add", "telemetry", "temperature", "--interval", "1", "--publish", "on-change", cwd=root
    )
    cosactl("add", "command", "valve", cwd=root)
    cosactl("add", "device", "blind", cwd=root)
    cosactl("add", "periodic", "flush", cwd=root)
    cosactl("add", "router", "garden", cwd=root)
    return root


def test_settings_toml_keeps_the_users_comment(project: Path) -> None:
    text = (project / "settings.toml").read_text()
    assert USER_COMMENT in text
    for name in ("counter", "temperature", "valve", "blind", "flush"):
        assert f"[devices.{name}]" in text


def test_cosactl_test_passes_on_the_generated_project(project: Path) -> None:
    result = cosactl("test", "-q", cwd=project, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout
    assert not (project / "state").exists(), "tests keep state in a memory store"


def test_manifest_json_lists_every_devices_topics(project: Path) -> None:
    manifest = json.loads(cosactl("manifest", "--format", "json", cwd=project).stdout)
    by_name = {d["name"]: d for d in manifest["devices"]}
    assert {"counter", "temperature", "valve", "blind", "flush"} <= set(by_name)
    for name in ("counter", "temperature", "valve", "blind"):
        topics = by_name[name]["topics"]
        assert topics["state"] == f"gas2mqtt/{name}/state"
        assert topics["availability"] == f"gas2mqtt/{name}/availability"
        assert topics["error"] == f"gas2mqtt/{name}/error"
    assert by_name["valve"]["topics"]["set"] == "gas2mqtt/valve/set"
    assert by_name["counter"]["interval"] == 60.0
    assert "MagnetometerPort" in by_name["counter"]["adapters"]


def test_manifest_shows_the_store_relative_to_the_project(project: Path) -> None:
    manifest = json.loads(cosactl("manifest", "--format", "json", cwd=project).stdout)
    assert manifest["store"] == {
        "backend": "JsonFileStore",
        "path": "state/store.json",
        "default": False,
    }
    table = cosactl("manifest", cwd=project).stdout
    assert "Store: JsonFileStore at state/store.json" in table
    assert str(project) not in table
    assert not (project / "state").exists(), "describing the project writes nothing"


def test_manifest_asyncapi_is_a_valid_asyncapi_3_document(project: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = json.loads(cosactl("manifest", "--format", "asyncapi", cwd=project).stdout)
    assert document["asyncapi"] == "3.0.0"
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(document)
    addresses = {c["address"] for c in document["channels"].values()}
    assert {"gas2mqtt/counter/state", "gas2mqtt/valve/set", "gas2mqtt/valve/state"} <= addresses
    assert document["channels"]["valveCommand"]["x-cosalette-archetype"] == "command"


def test_manifest_ha_discovery_shows_the_counter_and_a_valve_switch(project: Path) -> None:
    from ha_options import config_problems

    result = cosactl("manifest", "--format", "ha-discovery", cwd=project)
    assert "discovery is off" in result.stderr  # the template leaves it commented out
    entities = {e["topic"]: e["config"] for e in json.loads(result.stdout)}
    counter = entities["homeassistant/sensor/gas2mqtt/counter_value/config"]
    assert counter["name"] == "Counter"  # from the snippet's consumer(...) metadata
    assert counter["state_class"] == "measurement"
    valve = entities["homeassistant/switch/gas2mqtt/valve_state/config"]
    assert valve["command_topic"] == "gas2mqtt/valve/set"
    assert valve["state_topic"] == "gas2mqtt/valve/state"
    for topic, config in entities.items():
        assert config_problems(topic.split("/")[1], config) == [], topic


def test_manifest_acl_grants_the_bridge_its_own_topics(project: Path) -> None:
    acl = cosactl("manifest", "--format", "acl", cwd=project).stdout
    assert acl.startswith("# Generated by cosalette schema acl")
    for line in (
        "topic write gas2mqtt/counter/state",
        "topic write gas2mqtt/status",
        "topic read gas2mqtt/valve/set",
        "topic read homeassistant/status",
    ):
        assert line in acl.splitlines(), line
    emqx = cosactl("manifest", "--format", "acl", "--broker", "emqx", cwd=project).stdout
    assert emqx.rstrip().endswith("{deny, all}.")


def test_manifest_check_is_a_ci_gate(project: Path, tmp_path: Path) -> None:
    contract = tmp_path / "contract.json"
    cosactl("manifest", "--format", "json", "-o", str(contract), cwd=project)
    assert cosactl("manifest", "--check", str(contract), cwd=project, check=False).returncode == 0
    data = json.loads(contract.read_text())
    data["devices"] = [d for d in data["devices"] if d["name"] != "valve"]
    contract.write_text(json.dumps(data, indent=2))
    result = cosactl("manifest", "--check", str(contract), cwd=project, check=False)
    assert result.returncode == 1
    assert "valve" in result.stderr and "+" in result.stderr


async def test_run_dry_run_publishes_telemetry_answers_commands_and_announces(
    project: Path, tmp_path: Path
) -> None:
    broker = MosquittoBroker(require_mosquitto(), tmp_path)
    broker.start()
    try:
        async with Collector(broker.host, broker.port) as seen:
            await seen.subscribe("gas2mqtt/#", "homeassistant/#")
            process = AppProcess(
                [sys.executable, "-m", "cosactl", "run", "--dry-run"],
                cwd=project,
                env={
                    **_clean_env(),
                    "GAS2MQTT_MQTT__HOST": broker.host,
                    "GAS2MQTT_MQTT__PORT": str(broker.port),
                    "GAS2MQTT_HOMEASSISTANT__DISCOVERY": "true",
                },
            )
            try:
                for name in ("counter", "temperature"):
                    state = await seen.wait_for(f"gas2mqtt/{name}/state", None, 15)
                    assert json.loads(state.payload)
                await seen.wait_for("gas2mqtt/valve/availability", lambda p: p == "online")
                await seen.publish("gas2mqtt/valve/set", "on")
                reply = await seen.wait_for("gas2mqtt/valve/state", None, 10)
                assert json.loads(reply.payload) == {"state": "on"}
                # Home Assistant is told about the counter and the valve with no config
                counter = "homeassistant/sensor/gas2mqtt/counter_value/config"
                valve = "homeassistant/switch/gas2mqtt/valve_state/config"
                assert json.loads((await seen.wait_for(counter)).payload)["name"] == "Counter"
                assert json.loads((await seen.wait_for(valve)).payload)["payload_on"] == "on"
            finally:
                process.send_signal(signal.SIGTERM)
                code, output = finish(process)
            assert code == 0, output
            assert not (project / "state").exists(), "a dry run never writes production state"
            assert "MemoryStore" in output
    finally:
        broker.stop()


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("GAS2MQTT_")}
