"""Settings errors name the file, line and key (or the environment variable)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError, field_validator
from pydantic_settings import SettingsConfigDict

from cosalette._settings import (
    Settings,
    SettingsError,
    format_validation_error,
    load_settings,
)


class Gas2MqttErrSettings(Settings):
    model_config = SettingsConfigDict(env_prefix="GAS2MQTT_")

    poll_interval: float = 60.0


class NeedsInterval(Settings):
    model_config = SettingsConfigDict(env_prefix="NEEDS_")

    interval: float


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path / "settings.toml", "[mqtt]\nhost = 'a'\n\nport = = 3\n")
    with pytest.raises(SettingsError) as info:
        load_settings(Gas2MqttErrSettings)
    assert str(info.value).startswith("settings.toml:4: invalid TOML: ")
    assert isinstance(info.value, ValueError)


def test_toml_syntax_error_from_plain_instantiation(tmp_path: Path) -> None:
    _write(tmp_path / "settings.toml", "[mqtt\n")
    with pytest.raises(SettingsError, match=r"^settings\.toml:1: invalid TOML"):
        Gas2MqttErrSettings()


def test_toml_syntax_error_in_explicit_file_names_that_file(tmp_path: Path) -> None:
    bad = _write(tmp_path / "site.toml", 'a = "x"\nb = \n')
    with pytest.raises(SettingsError, match=rf"^{bad}:2: invalid TOML"):
        load_settings(Gas2MqttErrSettings, settings_file=bad)


def test_wrong_type_names_file_line_and_dotted_key(tmp_path: Path) -> None:
    _write(
        tmp_path / "settings.toml",
        '# site config\n[app]\nport = "fine here"\n\n[mqtt]\nhost = "h"\nport = "abc"\n',
    )
    with pytest.raises(SettingsError) as info:
        load_settings(Gas2MqttErrSettings)
    message = str(info.value)
    assert message.startswith("settings.toml:7: mqtt.port: ")
    assert "valid integer" in message
    [problem] = info.value.problems
    assert str(problem) == message
    assert (problem.file, problem.line, problem.key) == (Path("settings.toml"), 7, "mqtt.port")


def test_constraint_violation_in_dotted_key_form(tmp_path: Path) -> None:
    _write(tmp_path / "settings.toml", "poll_interval = 5\nmqtt.keepalive = 0\n")
    with pytest.raises(SettingsError, match=r"^settings\.toml:2: mqtt\.keepalive: .*greater"):
        load_settings(Gas2MqttErrSettings)


def test_top_level_key_error(tmp_path: Path) -> None:
    _write(tmp_path / "settings.toml", '\n\npoll_interval = "soon"\n')
    with pytest.raises(SettingsError, match=r"^settings\.toml:3: poll_interval: "):
        load_settings(Gas2MqttErrSettings)


def test_several_problems_one_per_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "settings.toml", '[logging]\nlevel = "LOUD"\n')
    monkeypatch.setenv("GAS2MQTT_MQTT__PORT", "0")
    with pytest.raises(SettingsError) as info:
        load_settings(Gas2MqttErrSettings)
    assert len(info.value.problems) == 2
    assert str(info.value).count("\n") == 1
    assert any(str(p).startswith("settings.toml:2: logging.level: ") for p in info.value.problems)
    env = next(p for p in info.value.problems if p.source == "environment")
    assert (env.variable, env.key, env.file) == ("GAS2MQTT_MQTT__PORT", "mqtt.port", None)


def test_env_error_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAS2MQTT_MQTT__PORT", "70000")
    with pytest.raises(SettingsError) as info:
        load_settings(Gas2MqttErrSettings)
    message = str(info.value)
    assert "GAS2MQTT_MQTT__PORT" in message
    assert "mqtt.port" in message
    assert "settings.toml" not in message


def test_env_beats_toml_in_error_attribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "settings.toml", '[mqtt]\nport = "bad"\n')
    monkeypatch.setenv("GAS2MQTT_MQTT__PORT", "also-bad")
    with pytest.raises(SettingsError, match=r"^environment variable GAS2MQTT_MQTT__PORT"):
        load_settings(Gas2MqttErrSettings)


def test_dotenv_error_names_file_line_and_variable(tmp_path: Path) -> None:
    _write(tmp_path / ".env", "# comment\nGAS2MQTT_POLL_INTERVAL=often\n")
    with pytest.raises(SettingsError, match=r"^\.env:2: GAS2MQTT_POLL_INTERVAL \(poll_interval\)"):
        load_settings(Gas2MqttErrSettings)


def test_init_argument_error() -> None:
    with pytest.raises(SettingsError, match=r"^argument mqtt\.port: "):
        load_settings(Gas2MqttErrSettings, mqtt={"port": "x"})


def test_missing_required_field_hints_where_to_set_it() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(NeedsInterval)
    assert str(info.value) == (
        "interval: Field required (set interval in settings.toml or NEEDS_INTERVAL)"
    )


def test_missing_explicit_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="settings file not found"):
        load_settings(Gas2MqttErrSettings, settings_file=tmp_path / "nope.toml")
    with pytest.raises(SettingsError, match="env file not found"):
        load_settings(Gas2MqttErrSettings, env_file=tmp_path / "nope.env")


def test_plain_instantiation_keeps_pydantic_validation_error(tmp_path: Path) -> None:
    _write(tmp_path / "settings.toml", "[mqtt]\nport = 0\n")
    with pytest.raises(ValidationError) as info:
        Gas2MqttErrSettings()
    text = format_validation_error(info.value, Gas2MqttErrSettings)
    assert text.startswith("settings.toml:2: mqtt.port: ")


class Validated(Settings):
    model_config = SettingsConfigDict(env_prefix="VAL_")

    api_token: str = "default-token"

    @field_validator("api_token")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if len(value) < 12:
            raise ValueError(f"token {value} is too short")
        return value


def test_secret_never_in_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "settings.toml", "[mqtt]\npassword = 424242\n")
    monkeypatch.setenv("VAL_API_TOKEN", "sup3rs3cr3t")
    with pytest.raises(SettingsError) as info:
        load_settings(Gas2MqttErrSettings)
    assert "424242" not in str(info.value)
    assert str(info.value).startswith("settings.toml:2: mqtt.password: ")
    assert info.value.__cause__ is None

    with pytest.raises(SettingsError) as info2:
        load_settings(Validated)
    message = str(info2.value)
    assert "sup3rs3cr3t" not in message
    assert "VAL_API_TOKEN" in message
    assert "**********" in message


def test_secret_from_env_file_not_in_message(tmp_path: Path) -> None:
    env = _write(tmp_path / "site.env", "VAL_API_TOKEN=hunter2hunt\n")
    with pytest.raises(SettingsError) as info:
        load_settings(Validated, env_file=env)
    assert "hunter2hunt" not in str(info.value)
    assert "hunter2hunt" not in repr(info.value)
    assert f"{env}:1: VAL_API_TOKEN" in str(info.value)


def test_unparsable_complex_env_value_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GAS2MQTT_MQTT", "{not json")
    with pytest.raises(SettingsError, match="mqtt"):
        load_settings(Gas2MqttErrSettings)
