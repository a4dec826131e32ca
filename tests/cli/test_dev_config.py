"""``cosactl dev`` reads the broker address as the project's children do: env > .env > TOML."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from cosactl.devserver.config import DevOptions, ProjectConfig, read_config

SETTINGS = """\
[app]
name = "{name}"

[mqtt]
host = "toml-host"
port = 1884
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in os.environ:
        if key.upper().startswith(("GAS2MQTT_", "MY_APP_", "GR")):
            monkeypatch.delenv(key)


def _project(tmp_path: Path, name: str = "gas2mqtt", settings: str = SETTINGS) -> Path:
    (tmp_path / "settings.toml").write_text(settings.format(name=name), encoding="utf-8")
    return tmp_path


def test_toml_alone(tmp_path: Path) -> None:
    config = read_config(DevOptions(root=_project(tmp_path)))
    assert config == ProjectConfig(app="gas2mqtt", prefix="gas2mqtt", host="toml-host", port=1884)


def test_dotenv_beats_toml_and_environment_beats_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    (root / ".env").write_text(
        "GAS2MQTT_MQTT__HOST=dotenv-host\nGAS2MQTT_MQTT__PORT=1885\n"
        "GAS2MQTT_MQTT__PASSWORD='s3cret'\n",
        encoding="utf-8",
    )
    config = read_config(DevOptions(root=root))
    assert (config.host, config.port, config.password) == ("dotenv-host", 1885, "s3cret")
    monkeypatch.setenv("GAS2MQTT_MQTT__PORT", "1886")
    monkeypatch.setenv("GAS2MQTT_MQTT__TOPIC_PREFIX", "home/gas")
    config = read_config(DevOptions(root=root))
    assert (config.host, config.port, config.prefix) == ("dotenv-host", 1886, "home/gas")


def test_app_name_with_a_dash_uses_the_projects_env_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, name="my-app")
    monkeypatch.setenv("MY_APP_MQTT__HOST", "env-host")
    monkeypatch.setenv("MY-APP_MQTT__PORT", "1999")  # not the prefix children use
    config = read_config(DevOptions(root=root))
    assert (config.app, config.host, config.port) == ("my-app", "env-host", 1884)


def test_explicit_settings_and_env_files_are_the_ones_read(tmp_path: Path) -> None:
    root = _project(tmp_path)
    other = tmp_path / "prod.toml"
    other.write_text('[app]\nname = "gas2mqtt"\n[mqtt]\nhost = "prod"\n', encoding="utf-8")
    (root / ".env").write_text("GAS2MQTT_MQTT__PORT=1001\n", encoding="utf-8")
    env = tmp_path / "prod.env"
    env.write_text("GAS2MQTT_MQTT__USERNAME=bridge\n", encoding="utf-8")
    config = read_config(DevOptions(root=root, settings_file=other, env_file=env))
    assert (config.host, config.port, config.username) == ("prod", 1883, "bridge")


def test_non_ascii_app_name_uses_the_same_prefix_as_the_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, name="gr\u00fcn")
    monkeypatch.setenv("GR\u00dcN_MQTT__HOST", "isalnum-host")
    assert read_config(DevOptions(root=root)).host == "toml-host"
    monkeypatch.setenv("GR_N_MQTT__HOST", "env-host")
    assert read_config(DevOptions(root=root)).host == "env-host"


@pytest.mark.parametrize(
    ("settings", "app"),
    [
        ('[app]\nname = "gas2mqtt"\n[mqtt]\nhost = "a"\nhots = "b"\n', "gas2mqtt"),
        ('[app]\nname = "gas2mqtt"\n[mqtt]\nport = "many"\n', "gas2mqtt"),
        ('[app]\nname = "gas2mqtt"\n[mqtt\n', None),
    ],
)
def test_broken_settings_fall_back_to_defaults(
    tmp_path: Path, settings: str, app: str | None
) -> None:
    (tmp_path / "settings.toml").write_text(settings, encoding="utf-8")
    config = read_config(DevOptions(root=tmp_path))
    assert (config.host, config.port) == ("localhost", 1883)
    assert config.app == (app or tmp_path.name)


def test_project_code_is_not_imported(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "devices").mkdir()
    (root / "devices" / "boom.py").write_text("raise RuntimeError('imported')\n")
    settings = SETTINGS.format(name="gas2mqtt") + "\n[devices.boom]\nwhatever = 1\n"
    (root / "settings.toml").write_text(settings, encoding="utf-8")
    assert read_config(DevOptions(root=root)).host == "toml-host"
    assert "devices.boom" not in sys.modules
