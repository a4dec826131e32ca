"""``cosactl health`` and ``python -m cosalette health`` as a HEALTHCHECK runs them: real
subprocesses on a project directory and health files written by the runtime's writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _cli import cosactl

from cosalette._health import HealthReporter
from cosalette._mqtt.doubles import MockMqttClient
from cosalette._wiring.health_file import HealthFile
from cosalette.testing import FakeClock

SETTINGS = """\
[app]
name = "gas2mqtt"
version = "1.4.0"

[health]
file = "{file}"
interval = 5
broker_unreachable_limit = 120
"""


class Link:
    def __init__(self, connected: bool = True) -> None:
        self.is_connected = connected
        self.broker = "mqtt.lan:1883"


def write_health(
    path: Path,
    *,
    age: float = 0.0,
    down_for: float | None = None,
    devices: dict[str, str] | None = None,
    stopped: bool = False,
) -> dict[str, Any]:
    """What a running gas2mqtt writes, as if *age* s ago (the broker down for *down_for* s)."""
    now = time.time()
    wall = [now - (down_for or 0.0)]
    reporter = HealthReporter(MockMqttClient(), "gas2mqtt", "1.4.0", FakeClock())
    for name, status in (devices or {"counter": "ok"}).items():
        reporter.set_device_status(name, status)
    writer = HealthFile(
        path,
        app="gas2mqtt",
        version="1.4.0",
        mqtt=Link(connected=down_for is None),
        reporter=reporter,
        interval=5.0,
        stale_after=20.0,
        broker_unreachable_limit=120.0,
        wall=lambda: wall[0],
    )
    writer.observe()  # the outage starts now - down_for
    wall[0] = now - age
    if stopped:
        writer.stop()
    else:
        assert writer.write(writer.snapshot())
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "gas2mqtt"
    root.mkdir()
    (root / "settings.toml").write_text(SETTINGS.format(file=root / "run" / "health.json"))
    (root / "devices").mkdir()  # cosactl health never imports the project's code
    (root / "devices" / "counter.py").write_text("raise SystemExit('imported the project')\n")
    return root


def env(**extra: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GAS2MQTT_")} | extra


def python_m(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cosalette", "health", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run(project: Path, *args: str, **extra: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "cosactl", "health", *args],
        cwd=project,
        env=env(**extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, (result.stdout + result.stderr).strip()


def test_cosactl_health_reads_the_file_and_limits_from_settings(project: Path) -> None:
    health = project / "run" / "health.json"
    code, out = run(project)
    assert code == 1
    assert out.startswith(f"unhealthy: health file {health} is missing")

    write_health(health, devices={"counter": "ok", "temperature": "ok"})
    code, out = run(project)
    assert (code, out.split(", written")[0]) == (
        0,
        f"healthy: gas2mqtt v1.4.0 (pid {os.getpid()}), broker mqtt.lan:1883 connected, "
        "2 devices ok",
    )

    write_health(health, down_for=121)  # [health] broker_unreachable_limit = 120
    code, out = run(project)
    assert code == 1 and out.startswith("unhealthy: broker mqtt.lan:1883 unreachable for 121 s")
    assert run(project, "--broker-limit", "600")[0] == 0  # an option wins over settings

    write_health(health, devices={"counter": "error", "temperature": "ok"})
    assert run(project) == (1, "unhealthy: devices in error: counter")

    write_health(health, age=30)  # settings: interval 5 → stale after 3 * 5 + 5 = 20 s
    code, out = run(project)
    assert code == 1 and "stale: gas2mqtt's health file was last written 30 s ago" in out
    assert "(limit 20 s)" in out
    assert run(project, "--max-age", "60")[0] == 0

    write_health(health, stopped=True)
    code, out = run(project, "--json")
    verdict = json.loads(out)
    assert code == 1 and verdict["healthy"] is False
    assert verdict["reasons"][0].startswith("gas2mqtt stopped")


def test_cosactl_health_follows_the_environment_the_env_file_and_the_default_path(
    project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    write_health(elsewhere)
    assert run(project, GAS2MQTT_HEALTH__FILE=str(elsewhere))[0] == 0
    (project / "other.env").write_text(f"GAS2MQTT_HEALTH__FILE={elsewhere}\n")
    assert run(project, "--env-file", "other.env")[0] == 0
    assert run(project, "--file", str(elsewhere))[0] == 0

    # no [health] file: health.json next to the default store ($GAS2MQTT_STORE_PATH's folder)
    plain = tmp_path / "plain.toml"
    plain.write_text('[app]\nname = "gas2mqtt"\n')
    store_dir = tmp_path / "data"
    write_health(store_dir / "health.json")
    store = str(store_dir / "store.json")
    assert run(project, "--settings", str(plain), GAS2MQTT_STORE_PATH=store)[0] == 0

    # a project's [store] file: health.json next to it, where `cosactl run` writes it
    stored = tmp_path / "stored.toml"
    stored.write_text('[app]\nname = "gas2mqtt"\n\n[store]\npath = "state/store.json"\n')
    assert run(project, "--settings", str(stored))[0] == 1  # nothing there yet
    write_health(project / "state" / "health.json")
    assert run(project, "--settings", str(stored))[0] == 0


def test_cosactl_health_exit_codes_for_a_broken_setup(project: Path, tmp_path: Path) -> None:
    code, out = run(tmp_path)
    assert code == 5 and "not inside a cosalette project" in out
    code, out = run(project, GAS2MQTT_HEALTH__INTERVAL="-1")
    assert code == 3 and "health.interval" in out
    code, out = run(project, "--max-age", "0")
    assert code == 2 and "--max-age" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[app]\nname = "gas2mqtt"\n\n[health]\nstale_after = 2\n')
    code, out = run(project, "--settings", str(bad))
    assert code == 3 and "stale_after (2 s) must be longer than interval (10 s)" in out


def test_cosactl_health_is_listed_with_its_help(project: Path) -> None:
    result = cosactl("health", "--help", cwd=project)
    assert result.returncode == 0
    assert "Exit codes: 0 healthy, 1 unhealthy" in result.stdout
    assert "--max-age SECONDS" in result.stdout


def test_python_m_cosalette_health_needs_no_settings_and_imports_no_pydantic(
    tmp_path: Path,
) -> None:
    health = tmp_path / "health.json"
    write_health(health)
    result = python_m("--file", str(health), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("healthy: gas2mqtt v1.4.0")
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert not {m for m in imported if m.split(".")[0] in {"pydantic", "aiomqtt", "paho"}}

    write_health(health, down_for=100)  # the file's own limit (120 s) unless given
    assert python_m("--file", str(health), cwd=tmp_path).returncode == 0
    result = python_m("--file", str(health), "--broker-limit", "30", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("unhealthy: broker mqtt.lan:1883 unreachable for 100 s")

    health.write_text("{oops")
    result = python_m("--file", str(health), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (
        1,
        f"unhealthy: health file {health} is corrupt: not JSON\n",
    )
    result = python_m(cwd=tmp_path)
    assert result.returncode == 2 and "--file PATH, or --name APP" in result.stderr


def test_python_m_cosalette_health_finds_an_apps_default_file(tmp_path: Path) -> None:
    write_health(tmp_path / "state" / "gas2mqtt" / "health.json")
    result = subprocess.run(
        [sys.executable, "-m", "cosalette", "health", "--name", "gas2mqtt"],
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
