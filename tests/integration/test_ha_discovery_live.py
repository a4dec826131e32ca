"""Home Assistant discovery from a real bridge process on a real mosquitto.

Configs are retained at connect and pass the documented option table; Home Assistant's birth
message makes the bridge announce again (configs and states); configs of entities that no longer
exist are cleared at start; after a SIGKILL the broker's last will makes every entity
unavailable through the availability template.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import jinja2
from _apps import finish, purge_retained, start_app
from _broker import Collector, MosquittoBroker
from ha_options import config_problems

APP = """
from typing import Literal
from pydantic import BaseModel, Field
import cosalette
from cosalette.schema import consumer, temperature

class Reading(BaseModel):
    celsius: float = Field(json_schema_extra=temperature("Boiler"))
    pulses: int

class ValveState(BaseModel):
    state: Literal["on", "off"] = Field(json_schema_extra=consumer(display_name="Valve"))

app = cosalette.App(name="hadisc", version="3.1.0", heartbeat_interval=0.5)

@app.telemetry("boiler", interval=0.2, state_model=Reading)
async def boiler() -> dict[str, object]:
    return {"celsius": 21.5, "pulses": 7}

@app.command("valve", state_model=ValveState)
async def valve(payload: str) -> dict[str, object]:
    return {"state": payload}
{extra}
if __name__ == "__main__":
    app.cli()
"""

EXTRA_DEVICE = """
class Spare(BaseModel):
    level: float

@app.telemetry("spare", interval=0.2, state_model=Spare)
async def spare() -> dict[str, float]:
    return {"level": 1.0}
"""

CONFIGS = "homeassistant/+/hadisc/+/config"
ENV = {"HOMEASSISTANT__DISCOVERY": "true"}


def _write(tmp_path: Path, extra: str = "") -> Path:
    script = tmp_path / "hadisc_app.py"
    script.write_text(APP.replace("{extra}", extra))
    return script


def _configs(seen: Collector) -> dict[str, dict[str, object]]:
    """The latest non-empty config per topic."""
    latest: dict[str, dict[str, object]] = {}
    for message in seen.received(CONFIGS):
        if message.payload:
            latest[message.topic] = json.loads(message.payload)
        else:
            latest.pop(message.topic, None)
    return latest


async def _clean(broker: MosquittoBroker) -> None:
    await purge_retained(broker.host, broker.port, "hadisc/#")
    await purge_retained(broker.host, broker.port, "homeassistant/#")


async def test_configs_are_retained_at_connect_and_valid(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    await _clean(broker)
    process = start_app(_write(tmp_path), broker.port, extra=ENV)
    try:
        async with Collector(broker.host, broker.port) as live:
            await live.subscribe(CONFIGS, "hadisc/#")
            await live.wait_for("homeassistant/switch/hadisc/valve_state/config", timeout=10)
            await live.wait_for("hadisc/boiler/state")

        # A client connecting later (Home Assistant after a restart) finds them retained.
        async with Collector(broker.host, broker.port) as later:
            await later.subscribe(CONFIGS, "hadisc/_meta/registry")
            registry = await later.wait_for("hadisc/_meta/registry")
            await later.wait_for("homeassistant/sensor/hadisc/boiler_pulses/config")
            configs = {m.topic: m for m in later.received(CONFIGS)}
        assert registry.retain
        document = json.loads(registry.payload)
        assert document["info"]["title"] == "hadisc"
        assert sorted(document["channels"]) == ["boilerState", "valveState"]  # no /set
    finally:
        code, output = finish(process)
    assert code == 0, output
    assert sorted(configs) == [
        "homeassistant/sensor/hadisc/boiler_celsius/config",
        "homeassistant/sensor/hadisc/boiler_pulses/config",
        "homeassistant/switch/hadisc/valve_state/config",
    ]
    for topic, message in configs.items():
        assert message.retain
        component = topic.split("/")[1]
        config = json.loads(message.payload)
        assert config_problems(component, config) == [], topic
        assert config["device"]["sw_version"] == "3.1.0"
        assert config["availability_mode"] == "all"
        assert [a["topic"] for a in config["availability"]] == [
            "hadisc/status",
            f"hadisc/{topic.split('/')[3].split('_')[0]}/availability",
        ]
    valve = json.loads(configs["homeassistant/switch/hadisc/valve_state/config"].payload)
    assert valve["command_topic"] == "hadisc/valve/set"
    assert (valve["payload_on"], valve["state_off"]) == ("on", "off")
    celsius = json.loads(configs["homeassistant/sensor/hadisc/boiler_celsius/config"].payload)
    assert celsius["unit_of_measurement"] == "°C"
    assert celsius["unique_id"] == "cosalette_hadisc_boiler_celsius"


async def test_birth_message_reannounces_configs_and_states_within_a_second(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    await _clean(broker)
    process = start_app(_write(tmp_path), broker.port, extra=ENV)
    try:
        async with Collector(broker.host, broker.port) as live:
            await live.subscribe(CONFIGS, "hadisc/+/state", "hadisc/+/availability")
            await live.wait_for("hadisc/valve/availability", lambda p: p == "online", 10)
            await live.publish("hadisc/valve/set", "on")
            await live.wait_for("hadisc/valve/state", lambda p: json.loads(p)["state"] == "on")
            live.clear()
            sent = time.monotonic()
            await live.publish("homeassistant/status", "online")
            await live.wait_for("homeassistant/switch/hadisc/valve_state/config")
            await live.wait_for("homeassistant/sensor/hadisc/boiler_pulses/config")
            elapsed = time.monotonic() - sent
            # the command device's state comes again although it was not commanded again
            state = await live.wait_for("hadisc/valve/state")
            assert json.loads(state.payload) == {"state": "on"}
            assert len(_configs(live)) == 3
            live.clear()
            await live.publish("homeassistant/status", "offline")  # not a birth: no announce
            await live.publish("hadisc/valve/set", "off")
            await live.wait_for("hadisc/valve/state", lambda p: json.loads(p)["state"] == "off")
            assert _configs(live) == {}
    finally:
        code, output = finish(process)
    assert code == 0, output
    assert elapsed < 1.0
    assert "re-published 3 discovery config(s)" in output


async def test_configs_of_entities_that_no_longer_exist_are_cleared(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    await _clean(broker)
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe(CONFIGS)
        first = start_app(_write(tmp_path, EXTRA_DEVICE), broker.port, extra=ENV)
        try:
            await seen.wait_for("homeassistant/sensor/hadisc/spare_level/config", timeout=10)
        finally:
            code, output = finish(first)
        assert code == 0, output
        # someone else's entity under another node is not ours to clear
        await seen.publish("homeassistant/sensor/other/x/config", '{"name": "x"}', retain=True)
        seen.clear()
        second = start_app(_write(tmp_path), broker.port, extra=ENV)  # spare removed
        try:
            cleared = await seen.wait_for(
                "homeassistant/sensor/hadisc/spare_level/config", lambda p: p == "", timeout=10
            )
            assert cleared.payload == ""
        finally:
            code, output = finish(second)
        assert code == 0, output
        assert "Cleared 1 Home Assistant discovery config(s)" in output

    async with Collector(broker.host, broker.port) as later:
        await later.subscribe("homeassistant/#")
        await later.wait_for("homeassistant/switch/hadisc/valve_state/config")
        await later.wait_for("homeassistant/sensor/other/x/config")
        assert later.received("homeassistant/sensor/hadisc/spare_level/config") == []
    await purge_retained(broker.host, broker.port, "homeassistant/#")


def _available(config: dict[str, object], retained: dict[str, str]) -> bool:
    """Home Assistant's rule for ``availability_mode: all``, templates rendered with Jinja."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    entries = config["availability"]
    assert isinstance(entries, list)
    for entry in entries:
        value = retained[entry["topic"]]
        template = entry.get("value_template")
        rendered = env.from_string(template).render(value=value) if template else value
        if rendered != entry.get("payload_available", "online"):
            return False
    return True


async def test_sigkill_makes_every_entity_unavailable(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    await _clean(broker)
    process = start_app(_write(tmp_path), broker.port, extra=ENV)
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe(CONFIGS, "hadisc/#")
        config_msg = await seen.wait_for(
            "homeassistant/switch/hadisc/valve_state/config", timeout=10
        )
        beat = await seen.wait_for("hadisc/status", lambda p: p.startswith("{"))
        config = json.loads(config_msg.payload)
        running = {"hadisc/status": beat.payload, "hadisc/valve/availability": "online"}
        assert _available(config, running)  # a JSON heartbeat reads as online

        process.send_signal(signal.SIGKILL)
        await seen.wait_for("hadisc/status", lambda p: p == "offline", timeout=10)
    # the device topic still says online (one will per connection); the status decides
    killed = {"hadisc/status": "offline", "hadisc/valve/availability": "online"}
    assert not _available(config, killed)
    finish(process)
