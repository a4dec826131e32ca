"""`cosactl add telemetry --schedule / --triggerable`, run as a real subprocess in a project."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from _cli import copy_project, cosactl, new_project, snapshot

WEEKDAYS = "0 0 6 ? * MON-FRI"
# Long enough that the generated lines need wrapping, or a noqa for E501, to pass ruff.
LONG = (
    "0,5,10,15,20,25,30,35,40,45,50,55 0,5,10,15,20,25,30,35,40,45,50,55 1-23 ? JAN-DEC MON-FRI"
    " 1970-2099"
)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project made by `cosactl new`, copied by the `project` fixture for each test."""
    return new_project(tmp_path_factory.mktemp("fresh"))


@pytest.fixture
def project(fresh: Path, tmp_path: Path) -> Path:
    return copy_project(fresh, tmp_path)


def section(project: Path, name: str) -> str:
    """The text of ``[devices.<name>]`` in settings.toml, header to the next blank line."""
    text = (project / "settings.toml").read_text()
    start = text.index(f"[devices.{name}]")
    end = text.find("\n\n", start)
    return text[start:] if end < 0 else text[start : end + 1]


def test_schedule_reaches_the_code_and_a_commented_setting(project: Path) -> None:
    result = cosactl("add", "telemetry", "boiler", "--schedule", WEEKDAYS, cwd=project)

    assert result.returncode == 0, result.stderr
    code = (project / "devices/boiler.py").read_text()
    assert '    "boiler",\n' in code
    assert f'    schedule="{WEEKDAYS}",\n' in code
    assert "# Quartz cron: second minute hour day-of-month month day-of-week [year]" in code
    assert "interval" not in code, "a scheduled device declares and uses no interval"
    assert "class BoilerConfig(DeviceConfig):" in code
    assert section(project, "boiler") == (
        "[devices.boiler]  # telemetry, devices/boiler.py\n"
        f'# schedule: "{WEEKDAYS}" (Quartz cron, set in devices/boiler.py)\n'
        "#   fields: second minute hour day-of-month month day-of-week [year]\n"
    )
    settings = tomllib.loads((project / "settings.toml").read_text())
    assert settings["devices"]["boiler"] == {}, "no key the DeviceConfig does not declare"
    test = (project / "tests/test_boiler.py").read_text()
    assert f'SCHEDULE = cosalette.CronSchedule("{WEEKDAYS}")' in test
    assert "INTERVAL" not in test
    record = json.loads((project / ".cosactl.json").read_text())
    assert record["added"][-1]["options"] == {"schedule": WEEKDAYS}


def test_schedule_whitespace_is_normalised_to_single_spaces(project: Path) -> None:
    result = cosactl(
        "add", "telemetry", "boiler", "--schedule", " 0  0\t6 ? * MON-FRI ", cwd=project
    )

    assert result.returncode == 0, result.stderr
    assert f'schedule="{WEEKDAYS}",' in (project / "devices/boiler.py").read_text()


def test_triggerable_reaches_the_code_and_a_commented_setting(project: Path) -> None:
    result = cosactl("add", "telemetry", "meter", "--triggerable", cwd=project)

    assert result.returncode == 0, result.stderr
    code = (project / "devices/meter.py").read_text()
    assert 'interval=cosalette.setting_ref("devices.meter.interval"),\n' in code
    assert "    triggerable=True,\n" in code
    assert "async def read_meter(\n    trigger: cosalette.TriggerPayload,\n)" in code
    assert "# trigger.is_triggered is True when demo/meter/set asked for this reading" in code
    assert section(project, "meter") == (
        "[devices.meter]  # telemetry, devices/meter.py\n"
        "interval = 60.0  # seconds between readings (default 60.0)\n"
        "# trigger: publish anything to demo/meter/set to read now\n"
    )
    test = (project / "tests/test_meter.py").read_text()
    assert 'await harness.inject_command("meter", "")' in test


def test_schedule_and_triggerable_together_with_an_adapter(project: Path) -> None:
    args = ["--schedule", WEEKDAYS, "--triggerable", "--adapter", "magnetometer"]
    result = cosactl("add", "telemetry", "both", *args, cwd=project)

    assert result.returncode == 0, result.stderr
    code = (project / "devices/both.py").read_text()
    assert f'    schedule="{WEEKDAYS}",\n    triggerable=True,\n' in code
    assert "    source: MagnetometerPort,\n    trigger: cosalette.TriggerPayload,\n" in code
    assert section(project, "both") == (
        "[devices.both]  # telemetry, devices/both.py\n"
        f'# schedule: "{WEEKDAYS}" (Quartz cron, set in devices/both.py)\n'
        "#   fields: second minute hour day-of-month month day-of-week [year]\n"
        "# trigger: publish anything to demo/both/set to read now\n"
    )


def test_adding_the_same_scheduled_device_twice_changes_nothing(project: Path) -> None:
    args = ("add", "telemetry", "boiler", "--schedule", WEEKDAYS, "--triggerable")
    assert cosactl(*args, cwd=project).returncode == 0
    before = snapshot(project)

    result = cosactl(*args, cwd=project)

    assert result.returncode == 0, result.stderr
    assert snapshot(project) == before
    assert "identical devices/boiler.py" in result.stdout


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("0 0 25 * * ?", "hour field '25': 25 is outside 0-23"),
        ("0 0 6 30 2 ?", "day-of-month 30 never occurs in February"),
        ("0 6 * * *", "expected 6 or 7 fields"),
        ("", "expected 6 or 7 fields"),
    ],
)
def test_a_bad_schedule_is_a_usage_error_that_writes_nothing(
    project: Path, expression: str, problem: str
) -> None:
    before = snapshot(project)

    result = cosactl("add", "telemetry", "boiler", "--schedule", expression, cwd=project)

    assert result.returncode == 2
    assert f"Error: invalid --schedule {expression!r}: {problem}" in result.stderr
    assert 'e.g. "0 0 6 ? * MON-FRI"' in result.stderr
    assert snapshot(project) == before


def test_schedule_with_interval_is_refused(project: Path) -> None:
    before = snapshot(project)

    result = cosactl(
        "add", "telemetry", "boiler", "--schedule", WEEKDAYS, "--interval", "60", cwd=project
    )

    assert result.returncode == 2
    assert "--schedule and --interval are mutually exclusive" in result.stderr
    assert snapshot(project) == before


@pytest.mark.parametrize(
    "args",
    [
        ["command", "valve", "--triggerable"],
        ["periodic", "cleanup", "--schedule", WEEKDAYS],
        ["device", "lamp", "--triggerable"],
    ],
)
def test_the_options_apply_to_telemetry_only(project: Path, args: list[str]) -> None:
    before = snapshot(project)

    result = cosactl("add", *args, cwd=project)

    assert result.returncode == 2
    assert f"Error: {args[2]} does not apply to {args[0]}" in result.stderr
    assert snapshot(project) == before


def test_help_documents_both_options_with_examples(tmp_path: Path) -> None:
    result = cosactl("add", "telemetry", "--help", cwd=tmp_path, env={"COLUMNS": "200"})

    assert result.returncode == 0
    assert "--schedule CRON" in result.stdout and "Quartz cron" in result.stdout
    assert "--triggerable" in result.stdout and "APP/NAME/set" in result.stdout
    assert 'cosactl add telemetry boiler --schedule "0 0 6 ? * MON-FRI"' in result.stdout
    assert "cosactl add telemetry meter --interval 300 --triggerable" in result.stdout


# --------------------------------------------------------------- the generated project itself

OPTION_DEVICES = [
    ["boiler", "--schedule", WEEKDAYS],
    ["meter", "--triggerable"],
    ["both", "--schedule", "0 */5 * * * ?", "--triggerable", "--adapter", "magnetometer"],
    ["still", "--schedule", WEEKDAYS, "--publish", "on-change"],
    ["slow", "--schedule", "0 * * * * ?", "--publish", "every", "--every", "300"],
    ["poked", "--triggerable", "--publish", "on-change"],
    ["throttled", "--triggerable", "--publish", "every"],
    ["long_cron", "--schedule", LONG, "--triggerable"],
]
# The generated tests that exercise the options (each device also has a first-state test).
OPTION_TESTS = [
    "test_boiler.py::test_boiler_publishes_a_reading_at_its_next_scheduled_time",
    "test_meter.py::test_meter_reads_at_once_when_triggered",
    "test_both.py::test_both_publishes_a_reading_at_its_next_scheduled_time",
    "test_both.py::test_both_reads_at_once_when_triggered",
    "test_still.py::test_still_does_not_publish_an_unchanged_reading_again",
    "test_slow.py::test_slow_publishes_again_once_its_throttle_period_passed",
    "test_poked.py::test_poked_reads_when_triggered_and_publishes_by_its_strategy",
    "test_throttled.py::test_throttled_reads_when_triggered_and_publishes_by_its_strategy",
    "test_long_cron.py::test_long_cron_reads_at_once_when_triggered",
]


@pytest.fixture(scope="module")
def generated(fresh: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with a device for each combination of the options."""
    root = Path(shutil.copytree(fresh, tmp_path_factory.mktemp("options") / "demo"))
    for args in OPTION_DEVICES:
        result = cosactl("add", "telemetry", *args, cwd=root)
        assert result.returncode == 0, result.stderr
    return root


def test_the_generated_projects_tests_pass_with_cosactl_test(generated: Path) -> None:
    result = cosactl("test", "-v", cwd=generated)

    assert result.returncode == 0, result.stdout + result.stderr
    for name in OPTION_TESTS:
        assert f"tests/{name} PASSED" in result.stdout, result.stdout
    for args in OPTION_DEVICES:
        assert f"test_{args[0]}_publishes_a_reading_when_it_starts PASSED" in result.stdout
    assert "25 passed" in result.stdout and "failed" not in result.stdout


def test_the_generated_code_passes_ruff_with_the_projects_own_settings(generated: Path) -> None:
    for check in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *check, "--no-cache"],
            cwd=generated,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_manifest_shows_the_schedule_and_the_trigger(generated: Path) -> None:
    result = cosactl("manifest", "--format", "json", cwd=generated)

    assert result.returncode == 0, result.stderr
    by_name = {d["name"]: d for d in json.loads(result.stdout)["devices"]}
    boiler, meter, both = by_name["boiler"], by_name["meter"], by_name["both"]
    assert boiler["schedule"] == WEEKDAYS
    assert boiler["interval"] is None and boiler["interval_setting"] is None
    assert not boiler.get("triggerable") and "set" not in boiler["topics"]
    assert meter["triggerable"] is True
    assert meter["topics"]["set"] == "demo/meter/set"
    assert meter["interval_setting"] == "devices.meter.interval"
    assert "schedule" not in meter
    assert both["schedule"] == "0 */5 * * * ?" and both["triggerable"] is True
    assert both["topics"]["set"] == "demo/both/set"
