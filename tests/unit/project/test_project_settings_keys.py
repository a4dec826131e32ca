"""A project's settings.toml: typos in [mqtt], [logging] or a table name are located errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from _project_files import write_project

from cosalette._project.root import find_project_root
from cosalette.project import ProjectError, load_project


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # messages show paths relative to the working directory
    monkeypatch.delenv("GAS2MQTT_MQTT__PORT", raising=False)


def _error(root: Path) -> ProjectError:
    with pytest.raises(ProjectError) as info:
        load_project(root)
    return info.value


def _settings(body: str) -> dict[str, str]:
    return {"settings.toml": '[app]\nname = "gas2mqtt"\n\n' + body}


def test_unknown_mqtt_key_names_file_line_and_key(tmp_path: Path) -> None:
    error = _error(write_project(tmp_path, _settings('[mqtt]\nhost = "a"\nhots = "b"\n')))
    assert (error.file, error.line) == (tmp_path / "settings.toml", 6)
    assert "settings.toml:6: mqtt.hots: unknown setting; valid: client_id, host," in str(error)


def test_unknown_logging_key_names_file_line_and_key(tmp_path: Path) -> None:
    error = _error(write_project(tmp_path, _settings('[logging]\nlevle = "DEBUG"\n')))
    assert (error.file, error.line) == (tmp_path / "settings.toml", 5)
    assert "settings.toml:5: logging.levle: unknown setting; valid: backup_count," in str(error)


def test_unknown_top_level_table_names_it_and_the_known_tables(tmp_path: Path) -> None:
    error = _error(write_project(tmp_path, _settings('[mqqt]\nhost = "a"\n')))
    assert (error.file, error.line) == (tmp_path / "settings.toml", 4)
    assert str(error).startswith("settings.toml:4: [mqqt] is not a known table")
    assert (
        "the settings have: [app], [devices], [health], [homeassistant], [logging], [mqtt]"
        in str(error)
    )


def test_unknown_top_level_key_is_an_error_too(tmp_path: Path) -> None:
    error = _error(write_project(tmp_path, {"settings.toml": 'pol = 3\n[app]\nname = "x"\n'}))
    assert error.line == 1
    assert "pol: unknown setting; the settings have: [app]," in str(error)


def test_settings_validation_error_is_located_without_parsing_the_message(
    tmp_path: Path,
) -> None:
    error = _error(write_project(tmp_path, _settings('[mqtt]\nport = "abc"\n')))
    assert (error.file, error.line) == (tmp_path / "settings.toml", 5)
    assert str(error).startswith("settings.toml:5: mqtt.port: ")


def test_dotenv_error_is_located_at_the_dotenv_line(tmp_path: Path) -> None:
    files = {".env": "# local\nGAS2MQTT_MQTT__PORT=abc\n"}
    error = _error(write_project(tmp_path, files))
    assert (error.file, error.line) == (tmp_path / ".env", 2)
    assert "GAS2MQTT_MQTT__PORT (mqtt.port)" in str(error)


def test_invalid_toml_error_carries_its_line(tmp_path: Path) -> None:
    error = _error(write_project(tmp_path, {"settings.toml": '[app]\nname = "x\n'}))
    assert (error.file, error.line) == (tmp_path / "settings.toml", 2)


def test_valid_mqtt_keys_from_toml_and_env_still_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path, _settings('[mqtt]\nhost = "toml"\nport = 1884\n'))
    monkeypatch.setenv("GAS2MQTT_MQTT__PORT", "1999")
    monkeypatch.setenv("GAS2MQTT_LOGGING__LEVEL", "DEBUG")
    settings = load_project(root).settings
    assert (settings.mqtt.host, settings.mqtt.port) == ("toml", 1999)
    assert settings.logging.level == "DEBUG"


def test_find_project_root_walks_up_and_tries_each_start(tmp_path: Path) -> None:
    root = write_project(tmp_path / "proj")
    deep = root / "devices" / "sub"
    deep.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert find_project_root(deep) == root
    assert find_project_root(elsewhere, str(deep)) == root
    assert find_project_root(elsewhere) is None
