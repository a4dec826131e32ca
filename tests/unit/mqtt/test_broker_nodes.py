"""Several brokers: ``mqtt.hosts``, round robin with backoff per cycle, client ids, instances."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from pydantic import ValidationError

from cosalette._health import HealthReporter
from cosalette._mqtt.client import MqttClient
from cosalette._mqtt.connection_log import ConnectionLog
from cosalette._mqtt.doubles import MockMqttClient
from cosalette._mqtt.nodes import BrokerNode, Failover, broker_nodes, default_client_id
from cosalette._mqtt.outbox import Outbox
from cosalette._mqtt.reconnect import ReconnectPolicy
from cosalette._settings import MqttSettings, Settings
from cosalette._topics import topic_root
from cosalette._wiring.runtime import default_mqtt
from cosalette.testing import FakeClock, make_settings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def nodes(**mqtt: Any) -> list[str]:
    return [str(node) for node in broker_nodes(MqttSettings(**mqtt))]


# --- parsing and validation ---------------------------------------------------------------


def test_without_hosts_host_and_port_are_the_only_node() -> None:
    assert nodes(host="broker.lan", port=1884) == ["broker.lan:1884"]


def test_hosts_win_over_host_and_take_the_default_port() -> None:
    got = nodes(host="ignored", port=1884, hosts=["node1:1883", "node2", "[::1]:8883", "[fe80::1]"])
    assert got == ["node1:1883", "node2:1884", "[::1]:8883", "[fe80::1]:1884"]
    assert broker_nodes(MqttSettings(hosts=["[::1]:8883"]))[0] == BrokerNode("::1", 8883)


@pytest.mark.parametrize("bad", ["node1:", "node1:x", "node1:70000", "::1", "[::1", "a b:1", ""])
def test_a_bad_entry_is_named_in_the_error(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        MqttSettings(hosts=["good:1883", bad])
    assert "hosts" in str(info.value)
    assert repr(bad.strip()) in str(info.value) or "broker address" in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('["a:1883","b:1884"]', ["a:1883", "b:1884"]),
        ("a:1883, b:1884", ["a:1883", "b:1884"]),
        ("[::1]:1883,b", ["[::1]:1883", "b:1883"]),
        ("single", ["single:1883"]),
    ],
)
def test_the_environment_form_is_json_or_comma_separated(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    monkeypatch.setenv("MQTT__HOSTS", value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert [str(node) for node in broker_nodes(settings.mqtt)] == expected


def test_a_bad_environment_entry_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQTT__HOSTS", "a:1883,b:nope")
    with pytest.raises(ValidationError, match="'b:nope'"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("bad", ["a/b", "a+", "#", "x\x00"])
def test_instance_is_one_topic_level(bad: str) -> None:
    with pytest.raises(ValidationError, match="one topic level"):
        MqttSettings(instance=bad)


# --- topic root ---------------------------------------------------------------------------


def test_topic_root_is_prefix_or_app_name_then_instance() -> None:
    assert topic_root("gas", None) == "gas"
    assert topic_root("gas", make_settings()) == "gas"
    assert topic_root("gas", make_settings(mqtt={"topic_prefix": "home/gas"})) == "home/gas"
    assert topic_root("gas", make_settings(mqtt={"instance": "cellar"})) == "gas/cellar"
    both: Settings = make_settings(mqtt={"topic_prefix": "home", "instance": "b"})
    assert topic_root("gas", both) == "home/b"


# --- client ids ---------------------------------------------------------------------------


def test_default_client_ids_are_unique_per_process_and_readable() -> None:
    first, second = default_client_id("gas"), default_client_id("gas")
    assert first != second
    assert re.fullmatch(r"gas-[^-].*-[0-9a-f]{8}", first)
    assert re.fullmatch(r"gas-cellar-[0-9a-f]{8}", default_client_id("gas", "cellar"))


def test_default_mqtt_uses_the_instance_and_keeps_a_configured_id() -> None:
    client = default_mqtt("gas", make_settings(mqtt={"instance": "a"}), "gas/a")
    assert isinstance(client, MqttClient)
    assert re.fullmatch(r"gas-a-[0-9a-f]{8}", client.client_id)
    fixed = default_mqtt("gas", make_settings(mqtt={"client_id": "mine"}), "gas")
    assert isinstance(fixed, MqttClient) and fixed.client_id == "mine"
    plain = MqttClient(MqttSettings(hosts=["n1:1", "n2:2"]))
    assert re.fullmatch(r"cosalette-.+-[0-9a-f]{8}", plain.client_id)
    assert plain.broker == "n1:1"


# --- round robin and backoff --------------------------------------------------------------


def failover(count: int, clock: Clock) -> Failover:
    policy = ReconnectPolicy(0.5, 8.0, fast_window=15.0, clock=clock)
    return Failover([BrokerNode(f"n{i}", 1883) for i in range(count)], policy)


def test_a_lost_node_is_followed_at_once_by_the_next() -> None:
    f = failover(2, Clock())
    assert str(f.current) == "n0:1883"
    assert f.failed(had_session=True) == 0.0
    assert str(f.current) == "n1:1883"


def test_a_whole_failed_cycle_is_one_backoff_step() -> None:
    clock = Clock()
    f = failover(3, clock)
    clock.now = 200.0
    steps = []
    for _ in range(9):  # three full cycles, well past the fast window
        pause = f.failed(had_session=False)
        steps.append((str(f.current), pause))
        clock.now += 20.0
    order = [node for node, _ in steps]
    assert order == ["n1:1883", "n2:1883", "n0:1883"] * 3
    pauses = [pause for _, pause in steps]
    assert pauses[0] == pauses[1] == 0.0 and pauses[3] == pauses[4] == 0.0
    # Past the fast window the pause starts at 0.5 s and doubles per cycle, not per node.
    assert 0.4 <= pauses[2] <= 0.6
    assert 0.8 <= pauses[5] <= 1.2
    assert 1.6 <= pauses[8] <= 2.4
    assert f.policy.attempts == 9


def test_a_session_resets_the_cycle_and_the_backoff() -> None:
    clock = Clock()
    f = failover(2, clock)
    f.failed(had_session=False)  # n0 failed -> n1
    f.failed(had_session=False)  # n1 failed -> n0, after a pause
    assert f.failed(had_session=True) == 0.0  # n0 served a session, then dropped -> n1 now
    assert f.policy.attempts == 1
    assert str(f.current) == "n1:1883"


def test_one_node_backs_off_as_before() -> None:
    f = failover(1, Clock())
    pauses = [f.failed(had_session=False) for _ in range(3)]
    assert all(0.4 <= p <= 0.6 for p in pauses)
    assert str(f.current) == "n0:1883"


def test_the_log_line_names_the_lost_node_and_the_next(caplog: pytest.LogCaptureFixture) -> None:
    f = failover(2, Clock())
    log = ConnectionLog(str(f.current), "id", Outbox(10))
    pause = f.failed(had_session=True)
    with caplog.at_level(logging.WARNING):
        log.attempt_failed(
            f.policy,
            refused=False,
            had_session=True,
            problem="connection lost",
            pause=pause,
            next_address=str(f.current),
        )
    assert "Lost connection to MQTT broker n0:1883 as id" in caplog.text
    assert "trying n1:1883 in 0.0 s" in caplog.text


# --- heartbeat ----------------------------------------------------------------------------


async def test_the_heartbeat_names_the_broker_of_a_real_client() -> None:
    class OnNode2(MockMqttClient):
        broker = "n2:1883"

    for mqtt, expected in ((MockMqttClient(), None), (OnNode2(), "n2:1883")):
        reporter = HealthReporter(mqtt, "gas", "1.0", FakeClock())
        await reporter.publish_heartbeat()
        payload = json.loads(mqtt.get_messages_for("gas/status")[-1][0])
        assert payload.get("broker") == expected


def test_the_startup_line_names_every_node() -> None:
    from cosactl._startup import brokers_text

    assert brokers_text(make_settings()) == "broker localhost:1883"
    two: Settings = make_settings(mqtt={"hosts": ["n1:1883", "[::1]:1884"]})
    assert brokers_text(two) == "brokers n1:1883, [::1]:1884"
