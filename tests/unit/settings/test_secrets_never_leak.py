"""A secret (a ``SecretStr``, a password, a URL's credentials) shows in no output.

The canary is set through the environment, ``settings.toml`` and ``.env``; every output a
process makes is searched for it: validation errors, the settings' repr, log lines, error
payloads, the manifest (JSON, YAML, table), the AsyncAPI document and ``--show-devices``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import AnyUrl, BaseModel, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from cosalette import App
from cosalette._contract.manifest import build_manifest, format_manifest_table, manifest_to_yaml
from cosalette._errors import ErrorPublisher
from cosalette._logging import (
    _secrets as registered,
    configure_logging,
    redact_secrets,
    register_secret,
)
from cosalette._mqtt.tls import build_ssl_context
from cosalette._settings import LoggingSettings, Settings, SettingsError, load_settings
from cosalette.testing import AppHarness, MockMqttClient

CANARY = "CANARY-7f3a-s3cr3t"
MASK = "**********"


class Leaky(Settings):
    """An app's settings with every kind of secret, and validators that quote their input."""

    model_config = SettingsConfigDict(env_prefix="LEAKY_")

    url: AnyUrl | None = None
    api_token: SecretStr | None = None
    webhook: str = ""

    @field_validator("url")
    @classmethod
    def _mqtt_only(cls, value: AnyUrl | None) -> AnyUrl | None:
        if value is not None and value.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"unsupported broker URL {value}")
        return value

    @field_validator("api_token", mode="before")
    @classmethod
    def _token_shape(cls, value: Any) -> Any:
        if isinstance(value, list):
            raise ValueError(f"one token, not {len(value)}: {', '.join(map(str, value))}")
        if isinstance(value, str) and value.startswith("CANARY") and value.endswith("!"):
            raise ValueError(f"token {value} ends with '!'")
        return value


@pytest.fixture(autouse=True)
def _clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project directory as cwd; logging and the registered secrets restored afterwards."""
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level, secrets = root.handlers[:], root.level, set(registered)
    yield tmp_path
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    registered.clear()
    registered.update(secrets)


def _load(**files: str) -> Leaky:
    for name, text in files.items():
        Path(name.replace("_", ".")).write_text(text, encoding="utf-8")
    return load_settings(Leaky, settings_file="settings.toml")


def _fails(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], toml: str = "") -> SettingsError:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    Path("settings.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(Leaky, settings_file="settings.toml")
    return info.value


@pytest.mark.parametrize(
    ("env", "toml", "key"),
    [
        ({}, f'url = "http://user:{CANARY}@host"\n', "url"),  # a validator quotes the URL
        ({"LEAKY_URL": f"https://bridge:{CANARY}@broker"}, "", "url"),
        ({}, f'url = "mqtt://user:{CANARY}@ho st"\n', "url"),  # not a URL at all
        ({}, f'[mqtt]\npassword = ["{CANARY}"]\n', "mqtt.password"),  # a bad password type
        ({"LEAKY_MQTT": json.dumps({"password": {"x": CANARY}})}, "", "mqtt.password"),
        ({}, f'api_token = ["{CANARY}", "two"]\n', "api_token"),
        ({"LEAKY_API_TOKEN": CANARY + "!"}, "", "api_token"),
        ({}, f'[mqtt]\npassword = "{CANARY}"\ntls_ca_cert = 5\n', "mqtt.tls_ca_cert"),
    ],
)
def test_no_validation_error_shows_a_secret_or_a_urls_credentials(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], toml: str, key: str
) -> None:
    error = _fails(monkeypatch, env, toml)
    assert [p.key for p in error.problems] == [key], error
    assert CANARY not in str(error) and CANARY not in repr(error.problems)


def test_the_settings_repr_masks_secrets_and_url_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEAKY_API_TOKEN", CANARY)
    monkeypatch.setenv("LEAKY_WEBHOOK", f"https://hook:{CANARY}@example.org/x")
    settings = _load(
        settings_toml=f'url = "mqtt://bridge:{CANARY}@broker:1883"\n',
        _env=f"LEAKY_MQTT__PASSWORD={CANARY}\n",
    )
    assert settings.url is not None and settings.url.password == CANARY  # it was loaded
    assert settings.mqtt.password is not None
    for shown in (repr(settings), str(settings), repr(settings.mqtt)):
        assert CANARY not in shown, shown
        assert f"bridge:{MASK}@broker" in repr(settings)


def test_no_log_line_shows_a_loaded_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEAKY_API_TOKEN", CANARY)
    settings = _load(
        settings_toml=f'url = "mqtt://bridge:{CANARY}-url@broker"\n',
        _env=f"LEAKY_MQTT__PASSWORD={CANARY}-pw\n",
    )
    configure_logging(LoggingSettings(file="app.log", format="text"), service="leaky")
    log = logging.getLogger("leaky")
    assert settings.api_token is not None and settings.mqtt.password is not None
    token = settings.api_token.get_secret_value()
    log.info("settings %r", settings)
    log.warning("calling the API with %s", token)
    log.warning("connecting to %s (password %s)", settings.url, settings.mqtt.password)
    log.warning("plain password %s", settings.mqtt.password.get_secret_value())
    try:
        raise ConnectionError(f"refused: token {token} for {settings.url}")
    except ConnectionError:
        log.exception("login failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    written = Path("app.log").read_text(encoding="utf-8") + capsys.readouterr().err
    assert "login failed" in written and "ConnectionError" in written
    assert CANARY not in written, written
    assert written.count(MASK) >= 6


async def test_no_error_payload_shows_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKY_API_TOKEN", CANARY)
    settings = _load(settings_toml="")
    app = App("leaky", settings_class=Leaky, heartbeat_interval=None, store=None)

    @app.command("valve")
    async def valve(payload: str, config: Leaky) -> dict[str, object]:
        assert config.api_token is not None
        raise PermissionError(f"the API refused token {config.api_token.get_secret_value()}")

    harness = AppHarness(app=app, settings=settings)
    async with harness:
        await harness.inject_command("valve", "open")
    errors = harness.messages_for("leaky/valve/error") + harness.messages_for("leaky/error")
    assert len(errors) == 2 and all("the API refused token" in p for p, _, _ in errors)
    assert all(CANARY not in p for p, _, _ in errors), errors

    mqtt = MockMqttClient()
    publisher = ErrorPublisher(mqtt, "leaky")
    register_secret("{}")  # a secret that looks like JSON must not break the payload
    url = f"mqtt://u:{CANARY}-unregistered@host"
    await publisher.publish(RuntimeError(f"cannot reach {url}"), details={"url": url})
    [(_, payload, _, _)] = mqtt.published
    data = json.loads(payload)
    assert CANARY not in payload and data["details"] == {"url": f"mqtt://u:{MASK}@host"}


class Target(BaseModel):
    """A payload model whose defaults carry credentials (a developer's example)."""

    broker: AnyUrl = AnyUrl(f"mqtt://demo:{CANARY}@broker")
    api_token: str = CANARY
    level: int = 0


def _app() -> App:
    app = App("leaky", settings_class=Leaky, heartbeat_interval=None, store=None)

    @app.command("target", payload_model=Target)
    async def target(payload: Target) -> dict[str, object]:
        return {"level": payload.level}

    @app.telemetry("probe", interval=60)
    async def probe(settings: Leaky) -> dict[str, object]:
        return {"ok": settings.api_token is not None}

    return app


def test_no_manifest_asyncapi_document_or_device_list_shows_a_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEAKY_API_TOKEN", CANARY)
    monkeypatch.setenv("LEAKY_MQTT__PASSWORD", CANARY)
    settings = _load(settings_toml=f'url = "mqtt://bridge:{CANARY}@broker"\n')
    app = _app()
    manifest = build_manifest(app, settings)
    outputs = [
        json.dumps(manifest),
        manifest_to_yaml(manifest),
        format_manifest_table(manifest),
        json.dumps(app.asyncapi()),
        json.dumps(build_manifest(app)),
    ]
    with pytest.raises(SystemExit) as done:  # click ends the process when the command is done
        app.cli(["--show-devices"])
    assert done.value.code == 0
    outputs.append(capsys.readouterr().out)
    assert "leaky/target/set" in outputs[0] and "target" in outputs[-1]
    for text in outputs:
        assert CANARY not in text, text
    assert f"demo:{MASK}@broker" in outputs[0] and f"demo:{MASK}@broker" in outputs[3]


def test_a_bad_tls_path_error_does_not_show_the_password() -> None:
    settings = load_settings(
        Leaky,
        mqtt={"password": CANARY, "tls": True, "tls_ca_cert": "/nonexistent/ca.pem"},
    )
    with pytest.raises(
        ValueError, match=r"mqtt\.tls_ca_cert: cannot use '/nonexistent/ca\.pem'"
    ) as info:
        build_ssl_context(settings.mqtt)
    assert CANARY not in str(info.value) and CANARY not in repr(info.value)


@pytest.mark.parametrize(
    "line",
    [
        f"connecting to mqtt://bridge:{CANARY}@broker:1883/x",
        f"redis://:{CANARY}@cache and https://u:{CANARY}@h",
    ],
)
def test_url_credentials_are_redacted_even_when_not_registered(line: str) -> None:
    assert CANARY not in redact_secrets(line) and MASK in redact_secrets(line)
