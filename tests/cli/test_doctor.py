"""`cosactl doctor` on real projects (made by `cosactl new` and `cosactl add`) against real
mosquitto brokers: one line per check, a fix hint under each failure, later steps skipped
(not failed twice), exit code 0 only when everything passed or does not apply."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from _broker import (
    AuthTlsBroker,
    Collector,
    MosquittoBroker,
    create_auth_tls_broker,
    free_port,
    make_certificates,
    require_mosquitto,
)
from _cli import cosactl, cosactl_ok

pytestmark = pytest.mark.integration

BRIDGE_PASSWORD = "bridge-pw-7f3a"
INTRUDER, INTRUDER_PASSWORD = "intruder", "intruder-pw-9c1d"
WRONG_PASSWORD = "wrong-pw-4e2b"
SKIP = "\u2013"  # the en dash of a skipped check


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gas2mqtt with a telemetry device reading a real (and a fake) magnetometer adapter."""
    base = tmp_path_factory.mktemp("doctor")
    cosactl_ok("new", "gas2mqtt", "--no-input", cwd=base)
    root = base / "gas2mqtt"
    cosactl_ok(
        "add", "telemetry", "counter", "--interval", "60", "--adapter", "magnetometer", cwd=root
    )
    return root


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    """A copy of the template this test may change."""
    return Path(shutil.copytree(template, tmp_path / "gas2mqtt"))


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """An anonymous mosquitto."""
    server = MosquittoBroker(require_mosquitto(), tmp_path_factory.mktemp("doctor-mosquitto"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthTlsBroker]:
    """Passwords, TLS and an ACL: gas2mqtt may use its own topics, the intruder none of them."""
    auth = create_auth_tls_broker(
        require_mosquitto(),
        tmp_path_factory.mktemp("doctor-secured"),
        users={"gas2mqtt": BRIDGE_PASSWORD, INTRUDER: INTRUDER_PASSWORD},
        acl_file=(
            "user gas2mqtt\ntopic readwrite gas2mqtt/#\n"
            f"user {INTRUDER}\ntopic readwrite elsewhere/#\n"
        ),
    )
    auth.broker.start()
    yield auth
    auth.broker.stop()


def write_env(project: Path, **values: object) -> None:
    """The deployment's .env: ``GAS2MQTT_MQTT__<KEY>=value`` (and other sections by ``__``)."""
    lines = [f"GAS2MQTT_{key.upper()}={value}" for key, value in values.items()]
    (project / ".env").write_text("\n".join(lines) + "\n")


def doctor(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cosactl("doctor", "--timeout", "2", *args, cwd=project)


def line(result: subprocess.CompletedProcess[str], name: str) -> str:
    """The report's line of check *name* (its mark, name and detail)."""
    for text in result.stdout.splitlines():
        if text[2:].startswith(f"{name}  "):
            return text
    raise AssertionError(f"no line for {name!r} in:\n{result.stdout}{result.stderr}")


def fix(result: subprocess.CompletedProcess[str], name: str) -> str:
    """The indented ``fix:`` line under check *name*."""
    lines = result.stdout.splitlines()
    after = lines[lines.index(line(result, name)) + 1]
    assert after.startswith("    fix: "), f"no fix under {name!r}:\n{result.stdout}"
    return after.removeprefix("    fix: ")


def assert_marks(result: subprocess.CompletedProcess[str], marks: dict[str, str]) -> None:
    got = {name: line(result, name)[0] for name in marks}
    assert got == marks, result.stdout


async def test_a_healthy_deployment_passes_and_touches_no_app_topic(
    project: Path, broker: MosquittoBroker
) -> None:
    write_env(project, mqtt__host=broker.host, mqtt__port=broker.port)
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("#")
        result = await asyncio.to_thread(doctor, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✘" not in result.stdout
    assert_marks(
        result,
        {
            "settings": "✔",
            "modules": "✔",
            "adapters": "✔",
            "wiring": "✔",
            "store": "✔",
            "clock": "✔",
            "broker tcp": "✔",
            "broker tls": SKIP,
            "broker login": "✔",
            "broker round trip": "✔",
            "homeassistant": SKIP,
        },
    )
    assert "MagnetometerPort → adapters.magnetometer:Magnetometer" in line(result, "adapters")
    assert "not applicable: mqtt.tls is off" in line(result, "broker tls")
    assert "not applicable: homeassistant.discovery is off" in line(result, "homeassistant")
    assert result.stdout.rstrip().endswith("all checks passed")
    # the round trip used a topic of its own under the app's root, never retained
    assert seen.messages, "the round trip published nothing"
    assert all(m.topic == "gas2mqtt/_meta/probe" for m in seen.messages), seen.messages
    assert not any(m.retain for m in seen.messages)
    assert not (project / "state").exists()  # the store check leaves nothing behind


def test_json_output_with_an_env_file_elsewhere(
    project: Path, broker: MosquittoBroker, tmp_path: Path
) -> None:
    write_env(project, mqtt__host=broker.host, mqtt__port=free_port())  # not this one
    deploy = tmp_path / "deploy.env"
    deploy.write_text(f"GAS2MQTT_MQTT__HOST={broker.host}\nGAS2MQTT_MQTT__PORT={broker.port}\n")
    result = doctor(project, "--json", "--env-file", str(deploy))
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    by_name = {check["name"]: check for check in document["checks"]}
    assert by_name["broker round trip"]["status"] == "pass"
    assert "deploy.env and the environment are valid" in by_name["settings"]["detail"]
    assert by_name["broker tls"] == {
        "name": "broker tls",
        "status": "skip",
        "detail": "not applicable: mqtt.tls is off",
        "fix": None,
        "blocked": False,
    }


def test_a_broker_that_is_down_fails_tcp_and_skips_the_rest(project: Path) -> None:
    port = free_port()  # nothing listens there
    write_env(project, mqtt__host="127.0.0.1", mqtt__port=port)
    result = doctor(project)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}: Connection refused" in line(result, "broker tcp")
    assert "GAS2MQTT_MQTT__HOST" in fix(result, "broker tcp")
    for name in ("broker tls", "broker login", "broker round trip"):
        assert line(result, name).endswith("not checked: broker tcp failed")
    assert line(result, "settings").startswith("✔")
    assert result.stdout.rstrip().endswith("1 failed, 3 not checked")


def test_a_wrong_password_fails_the_login_with_a_hint(
    project: Path, secured: AuthTlsBroker
) -> None:
    write_env(
        project,
        mqtt__host=secured.host,
        mqtt__port=secured.port,
        mqtt__username="gas2mqtt",
        mqtt__password=WRONG_PASSWORD,
    )
    result = doctor(project)
    assert result.returncode == 1
    assert "the broker refused the login of user 'gas2mqtt'" in line(result, "broker login")
    assert "mqtt.password (GAS2MQTT_MQTT__PASSWORD in .env)" in fix(result, "broker login")
    assert line(result, "broker round trip").endswith("not checked: broker login failed")
    assert WRONG_PASSWORD not in result.stdout + result.stderr


def test_tls_with_the_right_ca_and_password_passes(project: Path, secured: AuthTlsBroker) -> None:
    write_env(
        project,
        mqtt__host="localhost",
        mqtt__port=secured.tls_port,
        mqtt__username="gas2mqtt",
        mqtt__password=BRIDGE_PASSWORD,
        mqtt__tls="true",
        mqtt__tls_ca_cert=secured.ca_cert,
    )
    result = doctor(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "certificate verified" in line(result, "broker tls")
    assert "logged in as user 'gas2mqtt'" in line(result, "broker login")
    assert BRIDGE_PASSWORD not in result.stdout + result.stderr


def test_tls_with_the_wrong_ca_fails_the_handshake(
    project: Path, secured: AuthTlsBroker, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca"
    other.mkdir()
    wrong_ca, _, _ = make_certificates(other)
    write_env(
        project,
        mqtt__host="localhost",
        mqtt__port=secured.tls_port,
        mqtt__username="gas2mqtt",
        mqtt__password=BRIDGE_PASSWORD,
        mqtt__tls="true",
        mqtt__tls_ca_cert=wrong_ca,
    )
    result = doctor(project)
    assert result.returncode == 1
    assert line(result, "broker tcp").startswith("✔")
    assert "not signed by a trusted CA" in line(result, "broker tls")
    assert "mqtt.tls_ca_cert (GAS2MQTT_MQTT__TLS_CA_CERT)" in fix(result, "broker tls")
    assert line(result, "broker login").endswith("not checked: broker tls failed")


def test_an_acl_that_denies_the_apps_topics_fails_the_round_trip(
    project: Path, secured: AuthTlsBroker
) -> None:
    write_env(
        project,
        mqtt__host=secured.host,
        mqtt__port=secured.port,
        mqtt__username=INTRUDER,
        mqtt__password=INTRUDER_PASSWORD,
    )
    result = cosactl("doctor", "--timeout", "1", cwd=project)
    assert result.returncode == 1
    assert line(result, "broker login").startswith("✔")
    assert "did not come back within 1 s" in line(result, "broker round trip")
    hint = fix(result, "broker round trip")
    assert f"the broker's ACL may deny user '{INTRUDER}'" in hint
    assert "gas2mqtt/_meta/probe" in hint


def test_broken_settings_name_the_file_line_and_key(project: Path) -> None:
    settings = project / "settings.toml"
    text = settings.read_text().replace("port = 1883", 'port = "eighteen"')
    settings.write_text(text)
    number = text.splitlines().index('port = "eighteen"') + 1
    result = doctor(project)
    assert result.returncode == 1
    assert line(result, "settings").startswith("✘ settings")
    assert f"settings.toml:{number}: mqtt.port: Input should be a valid integer" in line(
        result, "settings"
    )
    assert f"settings.toml:{number}" in fix(result, "settings")
    for name in ("modules", "adapters", "store", "broker tcp", "homeassistant"):
        assert "not checked: settings failed" in line(result, name), name
    assert line(result, "clock").startswith("✔")


def test_a_real_adapter_whose_module_cannot_be_imported(
    project: Path, broker: MosquittoBroker
) -> None:
    write_env(project, mqtt__host=broker.host, mqtt__port=broker.port)
    (project / "routers" / "pressure.py").write_text(
        "from typing import Protocol\n\n"
        "import cosalette\n\n\n"
        "class PressurePort(Protocol):\n"
        "    def read(self) -> float: ...\n\n\n"
        "class FakePressure:\n"
        "    def read(self) -> float:\n"
        "        return 1.0\n\n\n"
        "router = cosalette.Router(\n"
        "    adapters={PressurePort: ('doctor_missing_bmp280.sensor:Bmp280', FakePressure)}\n"
        ")\n"
    )
    result = doctor(project)
    assert result.returncode == 1
    text = line(result, "adapters")
    assert text.startswith("✘ adapters")
    assert "PressurePort: Cannot import adapter 'doctor_missing_bmp280.sensor:Bmp280'" in text
    assert "No module named 'doctor_missing_bmp280'" in text
    assert "doctor_missing_bmp280" in fix(result, "adapters")
    assert line(result, "wiring").startswith("✔")  # the fake is not what is checked
    assert "2 failed" not in result.stdout  # only the adapter failed


def test_an_adapter_module_importing_a_missing_library(project: Path) -> None:
    module = project / "adapters" / "magnetometer.py"
    module.write_text("import doctor_missing_smbus\n" + module.read_text())
    result = doctor(project)
    assert result.returncode == 1
    text = line(result, "modules")
    assert "adapters/magnetometer.py:1: cannot import adapters.magnetometer" in text
    assert "No module named 'doctor_missing_smbus'" in text
    assert "'doctor_missing_smbus'" in fix(result, "modules")
    assert line(result, "adapters").endswith("not checked: modules failed")


def test_an_unwritable_store_path(project: Path, broker: MosquittoBroker) -> None:
    write_env(project, mqtt__host=broker.host, mqtt__port=broker.port)
    (project / "blocked").write_text("a file where the store's folder should be\n")
    settings = project / "settings.toml"
    settings.write_text(
        settings.read_text().replace('path = "state/store.json"', 'path = "blocked/store.json"')
    )
    result = doctor(project)
    assert result.returncode == 1
    assert "blocked/store.json: blocked is not a directory" in line(result, "store")
    assert "GAS2MQTT_STORE_PATH" in fix(result, "store")
    assert line(result, "broker round trip").startswith("✔")  # independent checks still run


async def test_home_assistant_online_is_seen(project: Path, broker: MosquittoBroker) -> None:
    async with Collector(broker.host, broker.port) as ha:
        await ha.publish("ha-online/status", "online", retain=True)
    write_env(
        project,
        mqtt__host=broker.host,
        mqtt__port=broker.port,
        homeassistant__discovery="true",
        homeassistant__prefix="ha-online",
    )
    result = await asyncio.to_thread(doctor, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ha-online/status is 'online' (retained)" in line(result, "homeassistant")


def test_home_assistant_without_a_retained_status_fails(
    project: Path, broker: MosquittoBroker
) -> None:
    write_env(
        project,
        mqtt__host=broker.host,
        mqtt__port=broker.port,
        homeassistant__discovery="true",
        homeassistant__prefix="ha-silent",
    )
    result = doctor(project)
    assert result.returncode == 1
    assert "nothing on ha-silent/status" in line(result, "homeassistant")
    assert "birth message" in fix(result, "homeassistant")
    assert line(result, "broker round trip").startswith("✔")


def test_outside_a_project(tmp_path: Path) -> None:
    result = cosactl("doctor", cwd=tmp_path)
    assert result.returncode == 5
    assert "not inside a cosalette project" in result.stderr


@pytest.mark.parametrize(
    ("now", "says"),
    [
        (datetime(1970, 1, 1, 0, 5, tzinfo=UTC), "the clock says 1970-01-01 00:05 UTC, before"),
        (datetime(2199, 6, 1, tzinfo=UTC), "the clock says 2199-06-01 00:00 UTC, far in the"),
    ],
)
def test_a_clock_that_was_never_set_fails_with_the_ntp_hint(now: datetime, says: str) -> None:
    # a subprocess cannot be given another wall clock: the check itself, with a given "now"
    from cosactl._doctor.project_checks import clock_check
    from cosactl._doctor.report import Report

    text = Report((clock_check(now),)).text("utf-8")
    assert text.splitlines()[0].startswith(f"✘ clock  {says}")
    assert "NTP" in text and "Raspberry Pi" in text
    assert Report((clock_check(),)).ok
