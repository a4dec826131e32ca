"""settings.toml: unknown keys inside model tables are errors located by file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from cosalette import SettingsError
from cosalette._settings import Settings, load_settings
from cosalette._settings_file import SettingsProblem, read_settings_file


class Sensor(BaseModel):
    pin: int = 4
    label: str = "s"


class Calibration(BaseModel):
    offset: float = 0.0
    probe: Sensor = Field(default_factory=Sensor)


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")

    known: int = 1


class AppSettings(Settings):
    model_config = SettingsConfigDict(env_prefix="UNK_")

    poll_interval: float = 60.0
    calibration: Calibration = Field(default_factory=Calibration)
    sensors: dict[str, Sensor] = Field(default_factory=dict)
    probes: list[Sensor] = Field(default_factory=list)
    loose: Loose = Field(default_factory=Loose)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("UNK_MQTT__HOST", "UNK_MQTT__PORT", "UNK_MQTT__HOTS", "MQTT__HOST"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path, cls: type[Settings] = AppSettings) -> tuple[SettingsProblem, ...]:
    with pytest.raises(SettingsError) as info:
        load_settings(cls, settings_file=path)
    return info.value.problems


def test_unknown_mqtt_key_carries_file_line_and_key(tmp_path: Path) -> None:
    path = _toml(tmp_path, '# site\n[app]\nname = "x"\n\n[mqtt]\nport = 1884\nhots = "broker"\n')
    [problem] = _problems(path)
    assert (problem.file, problem.line, problem.key) == (path, 7, "mqtt.hots")
    assert problem.message.startswith(
        "unknown setting; valid: client_id, host, hosts, instance, keepalive, "
    )
    assert str(problem) == f"{path}:7: mqtt.hots: {problem.message}"


def test_plain_settings_class_rejects_unknown_logging_key(tmp_path: Path) -> None:
    _toml(tmp_path, '[logging]\nlevel = "DEBUG"\nformt = "text"\n')
    with pytest.raises(SettingsError) as info:
        Settings()
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.key) == (Path("settings.toml"), 3, "logging.formt")
    assert "valid: backup_count, file, format, level, max_file_size_mb" in str(info.value)


def test_several_unknown_keys_are_one_problem_per_line(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[mqtt]\nhots = "a"\npasword = "secret"\n\n[logging]\nlevle = "INFO"\n')
    with pytest.raises(SettingsError) as info:
        load_settings(AppSettings, settings_file=path)
    assert [(p.key, p.line) for p in info.value.problems] == [
        ("mqtt.hots", 2),
        ("mqtt.pasword", 3),
        ("logging.levle", 6),
    ]
    assert str(info.value).splitlines() == [str(p) for p in info.value.problems]


def test_unknown_keys_in_user_sub_models_at_any_depth(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        "[calibration]\noffset = 1.5\n\n[calibration.probe]\npni = 3\n\n"
        '[sensors.kitchen]\npin = 5\nlabl = "k"\n\n[[probes]]\npin = 1\n\n[[probes]]\nping = 2\n',
    )
    problems = _problems(path)
    assert [(p.key, p.line) for p in problems] == [
        ("calibration.probe.pni", 5),
        ("sensors.kitchen.labl", 9),
        ("probes.1.ping", 15),
    ]
    assert problems[0].message == "unknown setting; valid: label, pin"


def test_dotted_and_inline_keys_are_located(tmp_path: Path) -> None:
    path = _toml(tmp_path, 'poll_interval = 5\nmqtt.hots = "a"\ncalibration = { ofset = 1 }\n')
    assert [(p.key, p.line) for p in _problems(path)] == [
        ("mqtt.hots", 2),
        ("calibration.ofset", 3),
    ]


def test_models_that_allow_extra_keys_and_foreign_top_level_tables_are_accepted(
    tmp_path: Path,
) -> None:
    path = _toml(
        tmp_path, '[app]\nname = "x"\n[loose]\nknown = 2\nanything = 3\n[devices.a]\nb = 1\n'
    )
    settings = load_settings(AppSettings, settings_file=path)
    assert settings.loose.known == 2
    assert settings.loose.model_extra == {"anything": 3}


def test_valid_toml_and_env_vars_still_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _toml(
        tmp_path, '[mqtt]\nhost = "toml-host"\nport = 1884\n[calibration.probe]\npin = 7\n'
    )
    monkeypatch.setenv("UNK_MQTT__PORT", "1999")
    settings = load_settings(AppSettings, settings_file=path)
    assert (settings.mqtt.host, settings.mqtt.port) == ("toml-host", 1999)
    assert settings.calibration.probe.pin == 7


def test_unknown_env_var_keys_keep_being_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _toml(tmp_path, '[mqtt]\nhost = "toml-host"\n')
    monkeypatch.setenv("UNK_MQTT__HOTS", "typo")
    monkeypatch.setenv("UNK_MQTT__HOST", "env-host")
    assert load_settings(AppSettings, settings_file=path).mqtt.host == "env-host"


def test_syntax_error_problem_is_located_as_data(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[mqtt]\nhost = "a"\nport = \n')
    with pytest.raises(SettingsError) as info:
        read_settings_file(path)
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.key) == (path, 3, None)
    assert problem.message.startswith("invalid TOML: ")
    assert "(at line" not in str(info.value)


def test_problem_text_for_each_source() -> None:
    where = Path("x/.env")
    assert str(SettingsProblem("bad", key="mqtt.port", source="argument")) == (
        "argument mqtt.port: bad"
    )
    env = SettingsProblem("bad", key="mqtt.port", variable="A_MQTT__PORT", source="environment")
    assert str(env) == "environment variable A_MQTT__PORT (mqtt.port): bad"
    dotenv = SettingsProblem("bad", file=where, line=2, key="mqtt.port", variable="A_MQTT__PORT")
    assert str(dotenv) == "x/.env:2: A_MQTT__PORT (mqtt.port): bad"
    assert str(SettingsProblem("settings file not found", file=where)) == (
        "x/.env: settings file not found"
    )
    assert str(SettingsError("plain text")) == "plain text"
