"""`cosactl new`, run as a real subprocess in temporary directories."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from _cli import cosactl, snapshot

TEMPLATE_VERSION = json.loads(
    (Path(__file__).resolve().parents[2] / "project_template" / "cookiecutter.json").read_text()
)["template_version"]
FRESH_FILES = {
    ".cosactl.json",
    ".env.example",
    ".gitignore",
    "README.md",
    "adapters/.gitkeep",
    "devices/.gitkeep",
    "pyproject.toml",
    "routers/.gitkeep",
    "settings.toml",
    "tests/conftest.py",
    "tests/test_project.py",
}


def test_new_creates_the_documented_layout(tmp_path: Path) -> None:
    result = cosactl("new", "gas2mqtt", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    project = tmp_path / "gas2mqtt"
    assert set(snapshot(project)) == FRESH_FILES
    assert not list(project.rglob("__init__.py")), "folders are plain module directories"
    for name in FRESH_FILES:
        assert f"create  gas2mqtt/{name}" in result.stdout
    assert "\x1b[" not in result.stdout, "no colour when stdout is not a terminal"


def test_new_settings_hold_the_app_mqtt_logging_and_commented_defaults(tmp_path: Path) -> None:
    assert cosactl("new", "gas2mqtt", cwd=tmp_path).returncode == 0
    project = tmp_path / "gas2mqtt"
    text = (project / "settings.toml").read_text()
    settings = tomllib.loads(text)

    assert settings["app"] == {
        "name": "gas2mqtt",
        "version": "0.1.0",
        "description": "IoT-to-MQTT bridge",
    }
    assert settings["mqtt"] == {"host": "localhost", "port": 1883}
    assert settings["logging"] == {"level": "INFO", "format": "text"}
    for commented in ("# heartbeat_interval = 60.0", "# username =", "# file ="):
        assert commented in text
    assert "[devices.<name>]" in text and "GAS2MQTT_DEVICES__" in text
    assert not re.search(r"^#?\s*password\s*=", text, re.MULTILINE), "secrets go in .env"
    env_example = (project / ".env.example").read_text()
    assert "GAS2MQTT_MQTT__PASSWORD=" in env_example
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "gas2mqtt"
    assert pyproject["project"]["dependencies"] == ["cosalette"]
    assert pyproject["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]
    assert ".env" in (project / ".gitignore").read_text().splitlines()


def test_new_settings_say_where_device_state_is_kept(tmp_path: Path) -> None:
    assert cosactl("new", "gas2mqtt", cwd=tmp_path).returncode == 0
    project = tmp_path / "gas2mqtt"
    text = (project / "settings.toml").read_text()
    assert tomllib.loads(text)["store"] == {"backend": "json", "path": "state/store.json"}
    comment = text[: text.index("[store]")].rsplit("\n\n", 1)[1]
    for word in ('"sqlite"', '"memory"', '"none"', "GAS2MQTT_STORE_PATH", ".cosactl/dev/"):
        assert word in comment
    ignored = (project / ".gitignore").read_text().splitlines()
    assert "/state/" in ignored and "/.cosactl/" in ignored


def test_new_records_the_template_version_and_its_answers(tmp_path: Path) -> None:
    result = cosactl(
        "new",
        "meter",
        "--no-input",
        "--extra-context",
        "description=Gas meter to MQTT",
        "-x",
        "mqtt_host=broker.local",
        "-x",
        "mqtt_port=8883",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    project = tmp_path / "meter"
    record = json.loads((project / ".cosactl.json").read_text())
    assert record["template_version"] == TEMPLATE_VERSION
    assert record["answers"] == {
        "project_name": "meter",
        "project_slug": "meter",
        "description": "Gas meter to MQTT",
        "version": "0.1.0",
        "mqtt_host": "broker.local",
        "mqtt_port": 8883,
    }
    settings = tomllib.loads((project / "settings.toml").read_text())
    assert settings["app"]["description"] == "Gas meter to MQTT"
    assert settings["mqtt"] == {"host": "broker.local", "port": 8883}


def test_new_puts_the_project_inside_directory(tmp_path: Path) -> None:
    result = cosactl("new", "bridge", "--directory", "work/area", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "work" / "area" / "bridge" / "settings.toml").is_file()


def test_new_accepts_an_existing_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "bridge").mkdir()

    result = cosactl("new", "bridge", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert set(snapshot(tmp_path / "bridge")) == FRESH_FILES


@pytest.mark.parametrize("name", ["Bad-Name", "with/slash", "class", "9lives", "a b", ""])
def test_new_refuses_a_name_that_is_not_a_package_and_mqtt_name(tmp_path: Path, name: str) -> None:
    result = cosactl("new", name, cwd=tmp_path)

    assert result.returncode == 2
    assert "Error:" in result.stderr and "name" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_new_refuses_an_existing_non_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "gas2mqtt"
    folder.mkdir()
    (folder / "notes.txt").write_bytes(b"mine\r\n")
    before = snapshot(tmp_path)

    result = cosactl("new", "gas2mqtt", cwd=tmp_path)

    assert result.returncode == 4
    assert "not empty" in result.stderr
    assert result.stdout == ""
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "pair",
    [
        "colour=blue",
        "mqtt_port=http",
        "description",
        "template_version=9",
        "description=emoji \U0001f600",
        "description={{ oops }}",
    ],
)
def test_new_refuses_a_bad_extra_context(tmp_path: Path, pair: str) -> None:
    result = cosactl("new", "bridge", "-x", pair, cwd=tmp_path)

    assert result.returncode == 2
    assert "Error:" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_new_help_shows_an_example(tmp_path: Path) -> None:
    result = cosactl("new", "--help", cwd=tmp_path)

    assert result.returncode == 0
    assert "Example:" in result.stdout and "cosactl new gas2mqtt" in result.stdout
    for option in ("--directory", "--no-input", "--extra-context"):
        assert option in result.stdout


def test_a_fresh_project_passes_its_own_tests(tmp_path: Path) -> None:
    assert cosactl("new", "fresh", cwd=tmp_path).returncode == 0

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path / "fresh",
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
