"""``app.cli()``: the options every cosalette daemon gets, run as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

APP = """
import cosalette

app = cosalette.App(name="clidemo", version="3.1.4", description="Demo bridge")

@app.telemetry("counter", interval=cosalette.setting_ref("mqtt.keepalive"))
async def counter() -> dict[str, object]:
    return {"impulses": 1}

@app.command("valve")
async def valve(payload: str) -> dict[str, object]:
    return {"state": payload}

class Missing:
    pass

if __name__ == "__main__":
    import sys
    if "--broken" in sys.argv:
        sys.argv.remove("--broken")

        @app.periodic("needs", interval=5)
        async def needs(thing: Missing) -> None:
            pass

    app.cli()
"""


def _run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "clidemo.py"
    script.write_text(APP)
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_version_and_help(tmp_path: Path) -> None:
    version = _run(tmp_path, "--version")
    assert version.returncode == 0
    assert "3.1.4" in version.stdout
    helptext = _run(tmp_path, "--help").stdout
    for option in (
        "--dry-run",
        "--log-level",
        "--log-format",
        "--env-file",
        "--settings-file",
        "--show-devices",
        "--version",
    ):
        assert option in helptext
    assert "Demo bridge" in helptext


def test_show_devices_lists_every_registration_without_connecting(tmp_path: Path) -> None:
    result = _run(tmp_path, "--show-devices")
    assert result.returncode == 0, result.stderr
    assert "telemetry" in result.stdout and "counter" in result.stdout
    assert "command" in result.stdout and "valve" in result.stdout


def test_broken_settings_file_names_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('[mqtt]\nhost = "broker"\nport = "not-a-port"\n')
    result = _run(tmp_path, "--settings-file", "bad.toml")
    assert result.returncode != 0
    assert "bad.toml:3" in result.stderr
    assert "mqtt.port" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_settings_file_is_a_clear_error(tmp_path: Path) -> None:
    result = _run(tmp_path, "--settings-file", "nope.toml")
    assert result.returncode != 0
    assert "nope.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwirable_handler_fails_before_connecting_and_names_it(tmp_path: Path) -> None:
    result = _run(tmp_path, "--broken")
    assert result.returncode == 3
    assert "needs" in result.stderr and "thing: Missing" in result.stderr
    assert "Traceback" not in result.stderr
