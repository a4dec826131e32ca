"""`python -m cosalette`: the root group, `manifest`, and the schema commands that read an app
(`schema dump`, `schema init`), run as real subprocesses on an app module in a temp directory.

The commands that read a schema file are in test_python_m_cosalette_schema.py, which reuses
:func:`run` and :func:`write_app` from here.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
USAGE = 2
FAILED = 1
INTERRUPTED = "\n❌ Interrupted\n"

# An app with a telemetry whose state model carries consumer metadata, a command with a
# payload model, a periodic task; plus the odd objects the error tests point at.
APP = """
from pydantic import BaseModel, Field

import cosalette
from cosalette.schema import consumer, temperature


class Gas(BaseModel):
    counter: float = Field(
        json_schema_extra=consumer(
            display_name="Gas counter", unit="m³", state_class="total_increasing"
        )
    )
    celsius: float = Field(json_schema_extra=temperature("Meter temperature"))


class ValveCommand(BaseModel):
    open: bool


app = cosalette.App("meter2mqtt", "1.2.0", store=None)


@app.telemetry("gas_counter", interval=60, state_model=Gas, summary="Gas meter reading.")
async def gas_counter() -> dict[str, float]:
    return {"counter": 1.0, "celsius": 20.0}


@app.command("valve", payload_model=ValveCommand)
async def valve(payload: ValveCommand) -> dict[str, bool]:
    return {"open": payload.open}


@app.periodic("housekeeping", interval=3600)
async def housekeeping() -> None:
    pass


not_an_app = 42
"""

# Device names that come from settings (a callable name=), and an app whose settings are invalid.
DYNAMIC_APP = """
import cosalette


class ProbeSettings(cosalette.Settings):
    probes: list[str] = ["p1", "p2"]


app = cosalette.App("probes", "0.3.0", settings_class=ProbeSettings, store=None)


@app.telemetry(name=lambda s: s.probes, interval=5)
async def probe() -> dict[str, float]:
    return {}


@app.telemetry("fixed", interval=5)
async def fixed() -> dict[str, float]:
    return {}


class StrictSettings(cosalette.Settings):
    api_key: str
    port: int


strict = cosalette.App("strict", settings_class=StrictSettings, store=None)


clash = cosalette.App("clash", store=None)


@clash.telemetry(name=lambda s: ["fixed"], interval=5)
async def clashing() -> dict[str, float]:
    return {}


@clash.telemetry("fixed", interval=5)
async def fixed_too() -> dict[str, float]:
    return {}
"""


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m cosalette ARGS`` in *cwd*, no terminal attached."""
    return subprocess.run(
        [sys.executable, "-m", "cosalette", *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def write_app(directory: Path, name: str = "meterapp", source: str = APP) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_app(tmp_path)
    write_app(tmp_path, "probeapp", DYNAMIC_APP)
    write_app(tmp_path, "broken", "raise RuntimeError('boom at import')\n")
    write_app(tmp_path, "needsdep", "import not_installed_dependency_xyz\n")
    write_app(tmp_path, "interrupting", "raise KeyboardInterrupt\n")
    return tmp_path


# --------------------------------------------------------------------------- root


def test_version_long_and_short(tmp_path: Path) -> None:
    import cosalette

    for flag in ("--version", "-v"):
        result = run(flag, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"cosalette v{cosalette.__version__}\n"
        assert result.stderr == ""


def test_root_help_lists_the_commands_with_an_example(tmp_path: Path) -> None:
    result = run("--help", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: python -m cosalette [OPTIONS]")
    assert "  manifest  " in result.stdout and "  schema  " in result.stdout
    assert "python -m cosalette schema check --app" in result.stdout
    assert "-v, --version" in result.stdout
    assert "monitor" not in result.stdout and " ai " not in result.stdout
    assert run(cwd=tmp_path).stdout == result.stdout  # no command: the same help, exit 0


HELP_COMMANDS = [
    ("manifest",),
    ("schema",),
    ("schema", "dump"),
    ("schema", "init"),
    ("schema", "validate"),
    ("schema", "check"),
    ("schema", "slice"),
    ("schema", "acl"),
    ("schema", "ha-discovery"),
    ("schema", "openhab"),
    ("health",),
]


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(tmp_path: Path, command: tuple[str, ...]) -> None:
    result = run(*command, "--help", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: python -m cosalette {' '.join(command)} [OPTIONS]")
    assert "Example" in result.stdout
    assert f"python -m cosalette {' '.join(command)} " in result.stdout


def test_every_option_and_command_has_a_summary_and_help() -> None:
    import click

    from cosalette._cli.main import SHORT_HELP, cli

    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None
        assert command.get_short_help_str(80) == SHORT_HELP[name]  # what --help lists
        commands: list[click.Command | None] = [command]
        if isinstance(command, click.Group):
            commands += [command.get_command(ctx, sub) for sub in command.list_commands(ctx)]
        for each in commands:
            assert each is not None
            assert each.get_short_help_str(80) and not each.get_short_help_str(80).endswith("...")
            assert "Example" in (each.help or ""), each.name
            for param in each.params:
                if isinstance(param, click.Option):
                    assert param.help, f"{each.name} {param.opts}"


_IMPORTS = """
import json, sys
from cosalette._cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    assert exc.code == 0, exc.code
heavy = sorted(
    m for m in sys.modules if m.partition(".")[0] in {"pydantic", "aiomqtt", "yaml", "cosactl"}
)
print(json.dumps(heavy))
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["schema", "--help"], ["schema", "check", "--help"], ["health", "--help"], ["-v"]],
)
def test_help_imports_neither_pydantic_nor_aiomqtt_nor_yaml(
    tmp_path: Path, args: list[str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout or "cosalette v" in result.stdout
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_the_runtime_never_imports_cosactl() -> None:
    offenders = []
    for path in (REPO / "runtime" / "cosalette").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path}: {n}" for n in names if n.partition(".")[0] == "cosactl"]
    assert offenders == []


@pytest.mark.parametrize(
    "args",
    [
        ["--nope"],
        ["nope"],
        ["manifest"],
        ["schema", "nope"],
        ["schema", "dump"],
        ["schema", "init"],
        ["schema", "dump", "--app"],
        ["schema", "validate"],
        ["schema", "validate", "missing.yaml"],
        ["schema", "check", "--app", "meterapp:app"],
        ["schema", "check", "--app", "meterapp:app", "--schema", "missing.yaml"],
        ["schema", "slice", "--app", "meter2mqtt"],
        ["schema", "slice", "--network", "missing.yaml", "--app", "meter2mqtt"],
        ["schema", "acl"],
        ["schema", "ha-discovery"],
        ["schema", "openhab", "x.yaml", "--broker-uid"],
    ],
    ids=" ".join,
)
def test_usage_errors_exit_2_without_a_traceback(project: Path, args: list[str]) -> None:
    result = run(*args, cwd=project)

    assert result.returncode == USAGE, result.stdout + result.stderr
    assert result.stdout == ""
    assert "Error:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["schema", "dump", "--app", "interrupting:app"],
        ["schema", "check", "--app", "interrupting:app", "--schema", "meterapp.py"],
        ["manifest", "interrupting:app"],
    ],
    ids=" ".join,
)
def test_ctrl_c_prints_interrupted_and_exits_1(project: Path, args: list[str]) -> None:
    result = run(*args, cwd=project)

    assert result.returncode == FAILED
    assert result.stderr == INTERRUPTED
    assert result.stdout == ""


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
