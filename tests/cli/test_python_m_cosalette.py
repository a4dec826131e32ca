"""`python -m cosalette`: the root group, help, imports, usage errors and Ctrl-C, run as real
subprocesses on app modules in a temp directory (the apps: _pymain.py).

`manifest`, `schema dump` and `schema init` are in test_python_m_cosalette_dump.py, the commands
that read a schema file in test_python_m_cosalette_schema.py.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from _pymain import FAILED, INTERRUPTED, REPO, USAGE, run, write_apps


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_apps(tmp_path)


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
