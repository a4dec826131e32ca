"""Least privilege per bridge: a bridge runs under exactly the ACL `cosactl manifest --format acl`
prints for it, on a mosquitto with a password file and that ACL.

Everything the bridge needs arrives at an observer with full read rights (states, availability,
status, the registry, the Home Assistant discovery configs), a command is answered, and a
publish outside the rules is denied by the broker: a device added after the ACL was generated
publishes on a topic the ACL does not list, the broker answers its PUBACK with 0x87 (MQTT 5)
and the observer never sees the message. So is a raw client logged in as the bridge's user.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from _apps import AppProcess, finish
from _broker import (
    AuthTlsBroker,
    Collector,
    create_auth_tls_broker,
    eventually,
    require_mosquitto,
)
from _cli import cosactl as run_cosactl, cosactl_ok

pytestmark = pytest.mark.integration

BRIDGE_PASSWORD = "bridge-pw"
OBSERVER, OBSERVER_PASSWORD = "observer", "observer-pw"
OUTSIDE = "elsewhere/not/granted"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("acl")
    cosactl_ok("new", "gas2mqtt", "--no-input", cwd=base)
    root = base / "gas2mqtt"
    cosactl_ok("add", "telemetry", "counter", "--interval", "1", cwd=root)
    cosactl_ok("add", "command", "valve", cwd=root)
    return root


@pytest.fixture(scope="module")
def acl(project: Path) -> str:
    """The bridge's ACL, generated before the rogue device below exists."""
    return cosactl_ok("manifest", "--format", "acl", "--broker", "mosquitto", cwd=project).stdout


@pytest.fixture(scope="module")
def secured(
    project: Path, acl: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthTlsBroker]:
    mosquitto = require_mosquitto()
    # A device the ACL does not know: its state topic is outside the bridge's rules.
    cosactl_ok("add", "telemetry", "rogue", "--interval", "1", cwd=project)
    auth = create_auth_tls_broker(
        mosquitto,
        tmp_path_factory.mktemp("acl-mosquitto"),
        users={"gas2mqtt": BRIDGE_PASSWORD, OBSERVER: OBSERVER_PASSWORD},
        acl_file=acl + f"\nuser {OBSERVER}\ntopic readwrite #\n",
    )
    auth.broker.start()
    try:
        yield auth
    finally:
        auth.broker.stop()


def test_the_acl_names_only_the_bridge(acl: str) -> None:
    users = [line for line in acl.splitlines() if line.startswith("user ")]
    assert users == ["user gas2mqtt"]
    assert "topic write gas2mqtt/counter/state" in acl.splitlines()
    assert "topic read gas2mqtt/valve/set" in acl.splitlines()
    assert not any("rogue" in line for line in acl.splitlines())


def test_all_principals_adds_deploy_and_monitor(project: Path) -> None:
    text = cosactl_ok("manifest", "--format", "acl", "--all-principals", cwd=project).stdout
    users = [line for line in text.splitlines() if line.startswith("user ")]
    assert users == ["user deploy", "user gas2mqtt", "user monitor"]


def test_rabbitmq_commands_for_the_bridge(project: Path) -> None:
    text = cosactl_ok("manifest", "--format", "acl", "--broker", "rabbitmq", cwd=project).stdout
    commands = [line for line in text.splitlines() if line.startswith("rabbitmqctl")]
    assert [c.split()[1] for c in commands] == ["set_permissions", "set_topic_permissions"]
    assert all(c.split()[4] == "gas2mqtt" for c in commands)
    assert r"gas2mqtt\.counter\.state" in commands[1]


async def test_a_bridge_works_under_its_acl_and_is_denied_outside_it(
    project: Path, secured: AuthTlsBroker
) -> None:
    host, port = secured.broker.host, secured.broker.port
    async with Collector(host, port, username=OBSERVER, password=OBSERVER_PASSWORD) as seen:
        await seen.subscribe("#")
        process = AppProcess(
            [sys.executable, "-m", "cosactl", "run", "--dry-run"],
            cwd=project,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("GAS2MQTT_")},
                "GAS2MQTT_MQTT__HOST": host,
                "GAS2MQTT_MQTT__PORT": str(port),
                "GAS2MQTT_MQTT__USERNAME": "gas2mqtt",
                "GAS2MQTT_MQTT__PASSWORD": BRIDGE_PASSWORD,
                "GAS2MQTT_MQTT__PROTOCOL": "5",
                "GAS2MQTT_HOMEASSISTANT__DISCOVERY": "true",
                "GAS2MQTT_LOGGING__FORMAT": "text",
            },
        )
        try:
            assert json.loads((await seen.wait_for("gas2mqtt/counter/state", None, 15)).payload)
            await seen.wait_for("gas2mqtt/counter/availability", lambda p: p == "online")
            await seen.wait_for("gas2mqtt/valve/availability", lambda p: p == "online")
            await seen.wait_for("gas2mqtt/status", lambda p: p != "offline")
            registry = json.loads((await seen.wait_for("gas2mqtt/_meta/registry")).payload)
            assert registry["asyncapi"] == "3.0.0"
            valve = "homeassistant/switch/gas2mqtt/valve_state/config"
            assert json.loads((await seen.wait_for(valve)).payload)["payload_on"] == "on"
            configs = "homeassistant/+/gas2mqtt/+/config"
            await eventually(
                lambda: any("/counter_" in m.topic for m in seen.received(configs)),
                what="a discovery config of the counter",
            )
            # a command is delivered to the bridge (read) and answered (write)
            await seen.publish("gas2mqtt/valve/set", "on")
            reply = await seen.wait_for("gas2mqtt/valve/state", None, 10)
            assert json.loads(reply.payload) == {"state": "on"}
            # outside the rules: the broker denies the rogue device's state (0x87, reported)
            await process.wait_for_output("denied publish to gas2mqtt/rogue/state", 15)
            # and a raw client logged in as the bridge's user cannot publish elsewhere
            async with Collector(
                host,
                port,
                username="gas2mqtt",
                password=BRIDGE_PASSWORD,
                client_kwargs={"identifier": "acl-test-raw"},
            ) as raw:
                await raw.publish(OUTSIDE, "should be denied")
            # A marker through the broker after both denials: whatever they could have
            # delivered to the observer has arrived before it.
            await seen.publish("acl-test/marker", "done")
            await seen.wait_for("acl-test/marker")
            assert seen.received("gas2mqtt/rogue/state") == []
            assert seen.received(OUTSIDE) == []
        finally:
            process.send_signal(signal.SIGTERM)
            code, output = finish(process)
        assert code == 0, output
        denied = [line for line in output.splitlines() if "denied publish to" in line]
        assert denied and all("gas2mqtt/rogue/state" in line for line in denied), output
        assert "refused subscription" not in output


def test_doctor_passes_under_the_bridges_acl(project: Path, secured: AuthTlsBroker) -> None:
    """The generated ACL grants what `cosactl doctor`'s round trip needs (the probe topic)."""
    env = {
        "GAS2MQTT_MQTT__HOST": secured.broker.host,
        "GAS2MQTT_MQTT__PORT": str(secured.broker.port),
        "GAS2MQTT_MQTT__USERNAME": "gas2mqtt",
        "GAS2MQTT_MQTT__PASSWORD": BRIDGE_PASSWORD,
    }
    result = run_cosactl("doctor", cwd=project, env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "gas2mqtt/_meta/probe" in result.stdout
    assert BRIDGE_PASSWORD not in result.stdout + result.stderr
