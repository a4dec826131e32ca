"""The CLIs never print a secret: a canary password, token and URL credentials set through the
environment, ``.env`` and ``settings.toml`` of a project made by ``cosactl new``.

Searched: ``cosactl manifest`` in every format, its validation errors, ``cosactl run``'s log
lines and error payloads, and an app's ``--show-devices``, ``python -m cosalette manifest``
and a start with a bad TLS path.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from _apps import AppProcess, finish
from _broker import Collector, MosquittoBroker, require_mosquitto

CANARY = "CANARY-9d2e-s3cr3t"
MASK = "**********"

GATE = '''"""A gate whose settings hold a broker URL and an API token."""

import logging

import cosalette
from cosalette.project import DeviceConfig
from pydantic import AnyUrl, SecretStr, field_validator


class GateConfig(DeviceConfig):
    """The [devices.gate] section of settings.toml."""

    url: AnyUrl | None = None
    api_token: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _broker_url(cls, value: AnyUrl | None) -> AnyUrl | None:
        if value is not None and value.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"unsupported broker URL {value}")
        return value


router = cosalette.Router()


@router.command("gate")
async def gate(payload: str, config: GateConfig, logger: logging.Logger) -> dict[str, object]:
    """Log the configuration, then fail the way a careless integration would."""
    logger.warning("gate config %r, url %s", config, config.url)
    token = config.api_token.get_secret_value() if config.api_token else ""
    raise PermissionError(f"the API refused {token} at {config.url}")
'''

APP = """import cosalette
from pydantic import AnyUrl, SecretStr


class LeakySettings(cosalette.Settings):
    url: AnyUrl | None = None
    api_token: SecretStr | None = None


app = cosalette.App(name="leakyapp", settings_class=LeakySettings, store=None)


@app.command("valve")
async def valve(payload: str) -> dict[str, object]:
    return {"state": payload}


if __name__ == "__main__":
    app.cli()
"""


def _clean_env(**extra: str) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("LEAKY_", "MQTT", "URL", "API"))
    }
    return {**keep, **extra}


def _run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=_clean_env(**env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _clean(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert CANARY not in output, output
    return output


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``cosactl new leaky`` with a gate whose secrets come from all three sources."""
    base = tmp_path_factory.mktemp("secrets")
    for args in (("new", "leaky", "--no-input"), ("add", "command", "gate")):
        where = base if args[0] == "new" else base / "leaky"
        result = _run("-m", "cosactl", *args, cwd=where)
        assert result.returncode == 0, result.stdout + result.stderr
    root = base / "leaky"
    (root / "devices" / "gate.py").write_text(GATE)
    settings = root / "settings.toml"
    text = re.sub(
        r"^\[devices\.gate\].*$",
        lambda m: f'{m.group(0)}\nurl = "mqtt://bridge:{CANARY}@broker.local"',
        settings.read_text(),
        count=1,
        flags=re.MULTILINE,
    )
    settings.write_text(text)
    (root / ".env").write_text(f"LEAKY_MQTT__USERNAME=bridge\nLEAKY_MQTT__PASSWORD={CANARY}\n")
    return root


def test_cosactl_manifest_shows_no_secret_in_any_format(project: Path) -> None:
    for fmt in ("table", "json", "yaml", "asyncapi", "ha-discovery", "acl"):
        result = _run(
            "-m",
            "cosactl",
            "manifest",
            "--format",
            fmt,
            cwd=project,
            LEAKY_DEVICES__GATE__API_TOKEN=CANARY,
        )
        assert result.returncode == 0, (fmt, result.stdout, result.stderr)
        assert "gate" in _clean(result), fmt


def test_a_settings_error_names_the_key_but_not_the_credentials(project: Path) -> None:
    settings = project / "settings.toml"
    original = settings.read_text()
    settings.write_text(original.replace("mqtt://bridge:", "https://bridge:"))
    try:
        result = _run("-m", "cosactl", "manifest", cwd=project)
    finally:
        settings.write_text(original)
    assert result.returncode != 0
    output = _clean(result)
    assert "devices.gate.url" in output and f"https://bridge:{MASK}@broker.local" in output


async def test_cosactl_run_logs_and_publishes_no_secret(project: Path, tmp_path: Path) -> None:
    broker = MosquittoBroker(require_mosquitto(), tmp_path)
    broker.start()
    dotenv = project / ".env"
    original = dotenv.read_text()
    dotenv.write_text(f"LEAKY_DEVICES__GATE__API_TOKEN={CANARY}\n")  # no broker password
    try:
        async with Collector(broker.host, broker.port) as seen:
            await seen.subscribe("leaky/#")
            process = AppProcess(
                [sys.executable, "-m", "cosactl", "run", "--dry-run"],
                cwd=project,
                env=_clean_env(
                    LEAKY_MQTT__HOST=broker.host,
                    LEAKY_MQTT__PORT=str(broker.port),
                    LEAKY_LOGGING__LEVEL="DEBUG",
                ),
            )
            try:
                await seen.wait_for("leaky/gate/availability", lambda p: p == "online", 15)
                await seen.publish("leaky/gate/set", "open")
                error = await seen.wait_for("leaky/gate/error", None, 10)
                await process.wait_for_output("the API refused")
            finally:
                process.send_signal(signal.SIGTERM)
                code, output = finish(process)
        assert code == 0, output
        assert "the API refused" in json.loads(error.payload)["message"]
        assert all(CANARY not in m.payload for m in seen.messages), seen.messages
        assert "gate config" in output and CANARY not in output, output
    finally:
        broker.stop()
        dotenv.write_text(original)


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("leakyapp")
    (where / "leaky_app.py").write_text(APP)
    (where / "settings.toml").write_text(f'url = "mqtt://bridge:{CANARY}@broker.local"\n')
    (where / ".env").write_text(f"MQTT__PASSWORD={CANARY}\n")
    return where


def test_show_devices_and_python_m_cosalette_manifest_show_no_secret(app_dir: Path) -> None:
    env = {"API_TOKEN": CANARY}
    shown = _run("leaky_app.py", "--show-devices", cwd=app_dir, **env)
    assert shown.returncode == 0 and "valve" in _clean(shown)
    for extra in ((), ("--table",)):
        result = _run("-m", "cosalette", "manifest", "leaky_app:app", *extra, cwd=app_dir, **env)
        assert result.returncode == 0 and "valve" in _clean(result), result.stderr


def test_a_bad_tls_path_or_bad_setting_shows_no_password(app_dir: Path) -> None:
    tls = _run(
        "leaky_app.py",
        cwd=app_dir,
        MQTT__TLS="true",
        MQTT__TLS_CA_CERT=str(app_dir / "missing-ca.pem"),
        MQTT__PORT="1",
    )
    assert tls.returncode != 0 and _clean(tls)
    output = tls.stdout + tls.stderr
    assert "mqtt.tls_ca_cert: cannot use" in output and "missing-ca.pem" in output
    assert "Traceback" not in output
    bad = _run("leaky_app.py", "--show-devices", cwd=app_dir, URL=f"http://u:{CANARY}@h:0x")
    assert bad.returncode == 0 and "valve" in _clean(bad)
    failed = _run("leaky_app.py", cwd=app_dir, URL=f"mqtt://u:{CANARY}@h:99999")
    assert failed.returncode != 0 and "url" in _clean(failed), failed.stderr
