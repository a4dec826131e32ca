"""Errors a newcomer can act on: the real cosactl on a project made by ``cosactl new``, broken
the way a newcomer breaks it, answers with one located line (issue 13, items 9-12)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _cli import cosactl

BROKEN_HANDLER = "async def read_counter(port: Thermometer) -> dict[str, object]:"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gas2mqtt with a telemetry device ``counter`` and an adapter ``magnetometer``."""
    base = tmp_path_factory.mktemp("newcomer")
    for args, cwd in (
        (("new", "gas2mqtt", "--no-input"), base),
        (("add", "telemetry", "counter", "--interval", "60"), base / "gas2mqtt"),
        (("add", "adapter", "magnetometer"), base / "gas2mqtt"),
    ):
        result = cosactl(*args, cwd=cwd)
        assert result.returncode == 0, result.stdout + result.stderr
    return base / "gas2mqtt"


@pytest.fixture
def project(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the pristine project to break."""
    return Path(shutil.copytree(pristine, tmp_path / "gas2mqtt"))


def line_of(path: Path, pattern: str) -> int:
    """The number of the first line of *path* matching *pattern*."""
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if re.search(pattern, text):
            return number
    raise AssertionError(f"{pattern!r} not in {path}")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, text
    path.write_text(text.replace(old, new, 1))


def unprovidable_parameter(project: Path) -> int:
    """Make the counter's handler ask for a type nothing provides; returns its def line."""
    module = project / "devices" / "counter.py"
    edit(module, "import cosalette\n", "import cosalette\n\n\nclass Thermometer: ...\n")
    edit(module, "async def read_counter() -> dict[str, object]:", BROKEN_HANDLER)
    return line_of(module, re.escape(BROKEN_HANDLER))


def assert_one_located_error(result: subprocess.CompletedProcess[str], where: str) -> None:
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout == "", result.stdout  # pytest never ran
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: {where}: "), result.stderr


# --- item 9: cosactl test on a broken project ---------------------------------------------------


def test_cosactl_test_with_a_bad_setting_prints_its_settings_toml_line(project: Path) -> None:
    settings = project / "settings.toml"
    edit(settings, "\nport = 1883", '\nport = "eighteen"')
    result = cosactl("test", cwd=project)
    assert_one_located_error(result, f"settings.toml:{line_of(settings, '^port = ')}")
    assert "mqtt.port" in result.stderr


def test_cosactl_test_with_a_module_that_cannot_import_prints_its_line(project: Path) -> None:
    module = project / "devices" / "counter.py"
    module.write_text(module.read_text() + "\nbroken = (\n")
    result = cosactl("test", cwd=project)
    assert_one_located_error(result, f"devices/counter.py:{line_of(module, '^broken = ')}")
    assert "SyntaxError" in result.stderr


def test_cosactl_test_with_a_handler_that_cannot_be_wired_prints_its_def_line(
    project: Path,
) -> None:
    line = unprovidable_parameter(project)
    result = cosactl("test", cwd=project)
    assert_one_located_error(result, f"devices/counter.py:{line}")


# --- item 10: cosactl run names the handler and speaks of adapters/ -----------------------------


def test_cosactl_run_names_the_handler_nothing_can_serve_and_the_adapters_folder(
    project: Path,
) -> None:
    line = unprovidable_parameter(project)
    result = cosactl("run", "--dry-run", cwd=project)
    assert_one_located_error(result, f"devices/counter.py:{line}")
    assert "nothing provides Thermometer" in result.stderr
    assert "cosactl add adapter NAME" in result.stderr
    assert "adapters/" in result.stderr
    assert "app.adapter(" not in result.stderr


def test_cosactl_run_names_the_app_once_and_the_line_of_an_adapter_that_fails(
    project: Path,
) -> None:
    adapter = project / "adapters" / "magnetometer.py"
    edit(adapter, "        self._value = 20.0", '        raise OSError("no /dev/ttyUSB0")')
    module = project / "devices" / "counter.py"
    edit(module, "import cosalette\n", "import cosalette\nfrom adapters.magnetometer import *\n")
    edit(
        module,
        "async def read_counter() -> dict[str, object]:",
        "async def read_counter(magnetometer: MagnetometerPort) -> dict[str, object]:",
    )
    result = cosactl("run", "--dry-run", cwd=project)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.splitlines()[-1] == (
        "gas2mqtt: cannot start: the adapter for MagnetometerPort failed to start: "
        f"adapters/magnetometer.py:{line_of(adapter, 'no /dev/ttyUSB0')}: OSError: no /dev/ttyUSB0"
    ), result.stderr
    assert "Traceback" not in result.stderr


# --- item 11: a value from settings.toml is reported at its line --------------------------------


@pytest.mark.parametrize("command", [("run", "--dry-run"), ("manifest",), ("test",)])
def test_an_interval_setting_of_zero_is_reported_at_its_settings_toml_line(
    project: Path, command: tuple[str, ...]
) -> None:
    settings = project / "settings.toml"
    edit(settings, "\ninterval = 60.0", "\ninterval = 0")
    result = cosactl(*command, cwd=project)
    where = f"settings.toml:{line_of(settings, '^interval = 0')}"
    assert_one_located_error(result, f"{where}: devices.counter.interval")
    assert "must be > 0 seconds" in result.stderr
    used_by = line_of(project / "devices" / "counter.py", r"^async def read_counter")
    assert f"read by telemetry 'counter' at devices/counter.py:{used_by}" in result.stderr


def test_an_interval_of_zero_from_the_environment_names_the_variable(project: Path) -> None:
    result = cosactl("manifest", cwd=project, env={"GAS2MQTT_DEVICES__COUNTER__INTERVAL": "0"})
    assert_one_located_error(
        result,
        "environment variable GAS2MQTT_DEVICES__COUNTER__INTERVAL (devices.counter.interval)",
    )


def test_an_interval_of_zero_from_an_env_file_names_its_line(project: Path) -> None:
    (project / ".env").write_text("# dev overrides\nGAS2MQTT_DEVICES__COUNTER__INTERVAL=0\n")
    result = cosactl("manifest", cwd=project)
    assert_one_located_error(
        result, ".env:2: GAS2MQTT_DEVICES__COUNTER__INTERVAL (devices.counter.interval)"
    )


# --- item 12: the generated tests fail when the app cannot be wired -----------------------------


def test_the_generated_tests_fail_with_the_located_message_when_wiring_fails(
    project: Path,
) -> None:
    line = unprovidable_parameter(project)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "FAILED tests/test_project.py::test_every_handler_and_adapter_can_be_wired" in output
    # the wiring test, and each test that starts the harness, report the located message alone
    assert output.count(f"\ndevices/counter.py:{line}: telemetry 'counter'") == 3, output
    assert "nothing provides Thermometer; add its adapter" in output
    assert "Traceback" not in output and "site-packages" not in output, output
    assert "runtime/cosalette" not in output, output  # no frames of the framework


def test_the_generated_tests_pass_on_a_project_that_wires(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/test_project.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout, result.stdout  # the wiring test is one of them
