"""`python -m cosalette manifest`, `schema dump` and `schema init`: the commands that read an
app, run as real subprocesses on app modules in a temp directory (the apps: _pymain.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from _pymain import FAILED, USAGE, run, write_apps


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_apps(tmp_path)


# --------------------------------------------------------------------------- app specs


SPEC_ERRORS = [
    ("nocolon", "Error: Invalid app spec 'nocolon'. Expected format: 'module.path:attribute'"),
    ("meterapp:", "Error: Invalid app spec 'meterapp:'. Expected format: 'module.path:attribute'"),
    (
        "no_such_module_xyz:app",
        "Error: Could not import module 'no_such_module_xyz': No module named 'no_such_module_xyz'",
    ),
    (
        "needsdep:app",
        "Error: Could not import module 'needsdep': No module named 'not_installed_dependency_xyz'",
    ),
    ("broken:app", "Error: Failed to import module 'broken': boom at import"),
    ("meterapp:nothing", "Error: Module 'meterapp' has no attribute 'nothing'"),
    ("meterapp:not_an_app", "Error: 'meterapp:not_an_app' is not an App instance (got int)"),
    ("meterapp:Gas", "Error: 'meterapp:Gas' is not an App instance (got ModelMetaclass)"),
]


@pytest.mark.parametrize("command", ["dump", "init", "check"])
@pytest.mark.parametrize(("spec", "message"), SPEC_ERRORS, ids=[s for s, _ in SPEC_ERRORS])
def test_schema_commands_report_a_bad_app_spec_on_stderr(
    project: Path, command: str, spec: str, message: str
) -> None:
    extra = ["--schema", "meterapp.py"] if command == "check" else []

    result = run("schema", command, "--app", spec, *extra, cwd=project)

    assert result.returncode == FAILED
    assert result.stderr == message + "\n"
    assert result.stdout == ""


MANIFEST_ERRORS = [
    ("nocolon", "❌ Invalid spec 'nocolon'. Expected format: 'module.path:attribute'"),
    (
        "no_such_module_xyz:app",
        "❌ Could not import module 'no_such_module_xyz': No module named 'no_such_module_xyz'",
    ),
    ("broken:app", "❌ Error importing 'broken:app': boom at import"),
    ("meterapp:nothing", "❌ Module 'meterapp' has no attribute 'nothing'"),
    ("meterapp:not_an_app", "❌ 'meterapp:not_an_app' is not an App instance (found int)"),
]


@pytest.mark.parametrize(("spec", "message"), MANIFEST_ERRORS, ids=[s for s, _ in MANIFEST_ERRORS])
def test_manifest_reports_a_bad_app_spec_on_stdout(project: Path, spec: str, message: str) -> None:
    result = run("manifest", spec, cwd=project)

    assert result.returncode == FAILED
    assert result.stdout == message + "\n"
    assert result.stderr == ""


# --------------------------------------------------------------------------- manifest


def _manifest(project: Path) -> dict[str, Any]:
    result = run("manifest", "meterapp:app", cwd=project)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_manifest_prints_the_asyncapi_document_as_indented_ascii_json(project: Path) -> None:
    result = run("manifest", "meterapp:app", cwd=project)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert result.stdout == json.dumps(document, indent=2) + "\n"
    assert "\\u00b3" in result.stdout and "m³" not in result.stdout  # ASCII-escaped
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "meter2mqtt"
    assert document["info"]["version"] == "1.2.0"
    assert {cid: c["address"] for cid, c in document["channels"].items()} == {
        "gas_counterState": "meter2mqtt/gas_counter/state",
        "valveCommand": "meter2mqtt/valve/set",
        "valveState": "meter2mqtt/valve/state",
    }  # the periodic task has no channel
    assert sorted(document["operations"]) == [
        "publishGasCounterState",
        "publishValveState",
        "receiveValveCommand",
    ]


def test_manifest_table_lists_channels_by_archetype(project: Path) -> None:
    result = run("manifest", "meterapp:app", "--table", cwd=project)

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "meter2mqtt v1.2.0\n"
        "\n"
        "Telemetry\n"
        "  gas_counter  meter2mqtt/gas_counter/state  — Gas meter reading.\n"
        "\n"
        "Commands\n"
        "  valve  meter2mqtt/valve/set\n"
        "  valve  meter2mqtt/valve/state\n"
    )


def test_table_rendering_orders_sections_and_pads_names() -> None:
    from cosalette._cli.manifest_command import format_asyncapi_table

    document = {
        "info": {"title": "t", "version": "1"},
        "channels": {
            "zState": {"address": "t/z/state", "x-cosalette-archetype": "telemetry"},
            "hubState": {"address": "t/state", "x-cosalette-archetype": "device"},
            "longer_nameState": {
                "address": "t/longer_name/state",
                "x-cosalette-archetype": "telemetry",
                "x-cosalette-summary": "Reads.",
            },
            "rawChannel": {"address": "t/raw"},
            "oddState": {"address": "t/odd/state", "x-cosalette-archetype": "sensor"},
        },
    }

    assert format_asyncapi_table(document) == (
        "t v1\n"
        "\n"
        "Devices\n"
        "  hub  t/state\n"
        "\n"
        "Telemetry\n"
        "  longer_name  t/longer_name/state  — Reads.\n"
        "  z            t/z/state\n"
        "\n"
        "Sensor\n"
        "  odd  t/odd/state\n"
        "\n"
        "Other\n"
        "  rawChannel  t/raw"
    )
    assert format_asyncapi_table({"info": {"title": "e", "version": "0"}}) == "e v0"


# --------------------------------------------------------------------------- dump / init


def test_dump_prints_the_same_document_as_yaml_with_unicode_kept(project: Path) -> None:
    result = run("schema", "dump", "--app", "meterapp:app", cwd=project)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("asyncapi: 3.0.0\ninfo:\n  title: meter2mqtt\n")
    assert result.stdout.endswith("\n") and not result.stdout.endswith("\n\n")
    assert "unit: m³" in result.stdout
    assert yaml.safe_load(result.stdout) == _manifest(project)


ENFORCEMENT_BLOCK = (
    "x-cosalette-enforcement:\n"
    "  mode: warn\n"
    "  on_configure: true\n"
    "  on_publish: false\n"
    "  network_level: false\n"
)


def test_init_is_dump_plus_a_trailing_enforcement_block(project: Path) -> None:
    dumped = run("schema", "dump", "--app", "meterapp:app", cwd=project)
    result = run("schema", "init", "--app", "meterapp:app", cwd=project)

    assert result.returncode == 0, result.stderr
    assert result.stdout == dumped.stdout + ENFORCEMENT_BLOCK
    document = yaml.safe_load(result.stdout)
    assert list(document)[-1] == "x-cosalette-enforcement"


def test_init_has_no_resolve_settings_option(project: Path) -> None:
    result = run("schema", "init", "--app", "meterapp:app", "--resolve-settings", cwd=project)

    assert result.returncode == USAGE
    assert "--resolve-settings" in result.stderr


@pytest.mark.parametrize("command", ["dump", "init", "check"])
def test_settings_derived_names_are_refused_without_settings(project: Path, command: str) -> None:
    extra = ["--schema", "meterapp.py"] if command == "check" else []

    result = run("schema", command, "--app", "probeapp:app", *extra, cwd=project)

    assert result.returncode == FAILED
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: ")
    assert "settings-derived entity set" in lines[0]
    assert "cannot be represented in a static schema artifact" in lines[0]
    assert lines[-1] == "  - 'probe'"  # the handler; 'fixed' is static
    assert "  - 'fixed'" not in lines


def test_dump_resolve_settings_expands_names_from_the_default_env_file(project: Path) -> None:
    (project / ".env").write_text('PROBES=["kitchen", "cellar"]\nMQTT__TOPIC_PREFIX=home\n')

    result = run("schema", "dump", "--app", "probeapp:app", "--resolve-settings", cwd=project)

    assert result.returncode == 0, result.stderr
    document = yaml.safe_load(result.stdout)
    assert {cid: c["address"] for cid, c in document["channels"].items()} == {
        "cellarState": "home/cellar/state",
        "fixedState": "home/fixed/state",
        "kitchenState": "home/kitchen/state",
    }
    assert document["info"]["title"] == "probes"


def test_dump_resolve_settings_reads_the_given_env_file_and_tolerates_a_missing_one(
    project: Path,
) -> None:
    (project / ".env").write_text('PROBES=["ignored"]\n')
    (project / "other.env").write_text('PROBES=["attic"]\n')

    chosen = run(
        "schema", "dump", "--app", "probeapp:app", "--resolve-settings", "--env-file", "other.env",
        cwd=project,
    )  # fmt: skip
    missing = run(
        "schema", "dump", "--app", "probeapp:app", "--resolve-settings", "--env-file", "nope.env",
        cwd=project,
    )  # fmt: skip

    assert chosen.returncode == 0, chosen.stderr
    assert sorted(yaml.safe_load(chosen.stdout)["channels"]) == ["atticState", "fixedState"]
    assert missing.returncode == 0, missing.stderr
    assert sorted(yaml.safe_load(missing.stdout)["channels"]) == [
        "fixedState",
        "p1State",
        "p2State",
    ]


def test_dump_resolve_settings_reports_invalid_settings_by_field(project: Path) -> None:
    (project / ".env").write_text("PORT=not-a-number\n")

    result = run("schema", "dump", "--app", "probeapp:strict", "--resolve-settings", cwd=project)

    assert result.returncode == FAILED
    assert result.stdout == ""
    assert result.stderr == ("Error: Configuration validation failed (2 error(s)): api_key, port\n")


def test_dump_resolve_settings_reports_a_clash_after_expansion(project: Path) -> None:
    result = run("schema", "dump", "--app", "probeapp:clash", "--resolve-settings", cwd=project)

    assert result.returncode == FAILED
    assert result.stdout == ""
    assert result.stderr.startswith(
        "Error: settings resolution failed after expanding settings-derived "
    )
    assert "specs: " in result.stderr
    assert len(result.stderr.splitlines()) <= 2
    assert "Traceback" not in result.stderr
