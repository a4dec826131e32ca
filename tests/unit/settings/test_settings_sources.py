"""Settings sources: init kwargs > env > .env > settings.toml > defaults."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydantic_settings import SettingsConfigDict

from cosalette._settings import (
    Settings,
    load_settings,
    settings_file_for,
    settings_file_override,
)


class Gas2MqttSettings(Settings):
    model_config = SettingsConfigDict(env_prefix="GAS2MQTT_")

    poll_interval: float = 60.0
    meter_name: str = "gas"


class StrictSettings(Settings):
    model_config = SettingsConfigDict(env_prefix="STRICT_", extra="forbid")

    poll_interval: float = 1.0


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


TOML = """
poll_interval = 30
meter_name = "from-toml"

[app]
name = "gas2mqtt"

[mqtt]
host = "toml-host"
port = 1884
keepalive = 10

[devices.kitchen]
interval = 5
"""


def test_defaults_without_any_source() -> None:
    s = Gas2MqttSettings()
    assert s.mqtt.host == "localhost"
    assert s.poll_interval == 60.0


def test_plain_instantiation_reads_settings_toml_in_cwd(tmp_path: Path) -> None:
    _write(tmp_path / "settings.toml", TOML)
    s = Gas2MqttSettings()
    assert s.mqtt.host == "toml-host"
    assert s.mqtt.port == 1884
    assert s.poll_interval == 30.0
    assert s.meter_name == "from-toml"
    assert s.mqtt.reconnect_interval == 0.5  # untouched default


def test_base_settings_ignores_app_and_devices_tables(tmp_path: Path) -> None:
    _write(tmp_path / "settings.toml", TOML)
    s = Settings()
    assert s.mqtt.host == "toml-host"


def test_extra_forbid_subclass_is_not_broken_by_foreign_tables(tmp_path: Path) -> None:
    _write(tmp_path / "settings.toml", TOML)
    assert StrictSettings().poll_interval == 30.0


def test_dotenv_beats_toml(tmp_path: Path) -> None:
    _write(tmp_path / "settings.toml", TOML)
    _write(tmp_path / ".env", "GAS2MQTT_MQTT__HOST=dotenv-host\nGAS2MQTT_POLL_INTERVAL=20\n")
    s = Gas2MqttSettings()
    assert s.mqtt.host == "dotenv-host"
    assert s.poll_interval == 20.0
    assert s.mqtt.port == 1884  # nested keys merge across layers


def test_env_beats_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "settings.toml", TOML)
    _write(tmp_path / ".env", "GAS2MQTT_MQTT__HOST=dotenv-host\n")
    monkeypatch.setenv("GAS2MQTT_MQTT__HOST", "env-host")
    s = Gas2MqttSettings()
    assert s.mqtt.host == "env-host"
    assert s.mqtt.port == 1884


def test_init_kwargs_beat_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "settings.toml", TOML)
    monkeypatch.setenv("GAS2MQTT_POLL_INTERVAL", "10")
    assert Gas2MqttSettings(poll_interval=2.5).poll_interval == 2.5
    assert load_settings(Gas2MqttSettings, poll_interval=3.5).poll_interval == 3.5


def test_unprefixed_env_is_ignored_by_prefixed_subclass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQTT__HOST", "unprefixed")
    assert Gas2MqttSettings().mqtt.host == "localhost"


def test_load_settings_uses_explicit_files(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    toml = _write(conf / "site.toml", '[mqtt]\nhost = "site-host"\n')
    env = _write(conf / "site.env", "GAS2MQTT_MQTT__PORT=2000\n")
    _write(tmp_path / "settings.toml", '[mqtt]\nhost = "cwd-host"\n')
    s = load_settings(Gas2MqttSettings, settings_file=toml, env_file=env)
    assert (s.mqtt.host, s.mqtt.port) == ("site-host", 2000)


def test_load_settings_twice_with_different_files(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.toml", "poll_interval = 1\n")
    b = _write(tmp_path / "b.toml", "poll_interval = 2\n")
    assert load_settings(Gas2MqttSettings, settings_file=a).poll_interval == 1.0
    assert load_settings(Gas2MqttSettings, settings_file=str(b)).poll_interval == 2.0
    # The override does not leak into later plain instantiations.
    assert Gas2MqttSettings().poll_interval == 60.0
    assert settings_file_for(Gas2MqttSettings) == Path("settings.toml")


def test_load_settings_override_is_per_thread(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.toml", "poll_interval = 1\n")
    b = _write(tmp_path / "b.toml", "poll_interval = 2\n")
    results: dict[str, float] = {}

    def load(name: str, path: Path) -> None:
        results[name] = load_settings(Gas2MqttSettings, settings_file=path).poll_interval

    threads = [threading.Thread(target=load, args=(n, p)) for n, p in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"a": 1.0, "b": 2.0}


def test_model_config_toml_file(tmp_path: Path) -> None:
    _write(tmp_path / "custom.toml", "poll_interval = 7\n")
    _write(tmp_path / "settings.toml", "poll_interval = 8\n")

    class Custom(Gas2MqttSettings):
        model_config = SettingsConfigDict(toml_file="custom.toml")

    assert Custom().poll_interval == 7.0
    other = _write(tmp_path / "other.toml", "poll_interval = 9\n")
    assert load_settings(Custom, settings_file=other).poll_interval == 9.0


def test_settings_file_override_none_disables_toml(tmp_path: Path) -> None:
    _write(tmp_path / "settings.toml", "poll_interval = 8\n")
    with settings_file_override(None):
        assert Gas2MqttSettings().poll_interval == 60.0
    assert Gas2MqttSettings().poll_interval == 8.0


def test_secret_from_toml_is_loaded_but_masked_in_repr(tmp_path: Path) -> None:
    _write(tmp_path / "settings.toml", '[mqtt]\npassword = "hunter2"\n')
    s = Gas2MqttSettings()
    assert s.mqtt.password is not None
    assert s.mqtt.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(s)
    assert "hunter2" not in str(s)


def test_secret_named_fields_are_masked_in_repr() -> None:
    class WithToken(Gas2MqttSettings):
        api_token: str = "tok-123"
        client_secret: str | None = "shh-456"

    text = repr(WithToken())
    assert "tok-123" not in text
    assert "shh-456" not in text
    assert "api_token='**********'" in text
