"""A lean install (no [dev] extra): what still works, what says which extra to install, and
whether pyproject.toml declares every module the code imports."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from _cli import cosactl

from cosactl.cli import COMMANDS, NEEDS

REPO = Path(__file__).resolve().parents[2]
EXIT_MISSING_EXTRA = 6
DEV_MODULES = sorted({m for needs in NEEDS.values() for m in needs})
HINT = "pip install 'cosalette[dev]'"


@pytest.mark.parametrize(
    ("args", "module", "how"),
    [
        (("new", "gas2mqtt"), "cookiecutter", "finder"),
        (("new", "gas2mqtt"), "cookiecutter", "sys.modules"),
        (("new", "--help"), "cookiecutter", "finder"),
        (("add", "telemetry", "counter"), "tomlkit", "finder"),
        (("add", "command", "valve"), "jinja2", "finder"),
        (("dev",), "watchfiles", "finder"),
        (("test", "-x"), "pytest", "finder"),
    ],
)
def test_a_command_without_its_extra_names_the_extra_in_one_line(
    tmp_path: Path, args: tuple[str, ...], module: str, how: str
) -> None:
    result = cosactl(*args, cwd=tmp_path, without=[module], how=how)

    assert result.returncode == EXIT_MISSING_EXTRA, result.stderr
    assert result.stderr == (
        f"Error: cosactl {args[0]} needs the authoring tools ({module} is not installed): {HINT}\n"
    )
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def _sections(helptext: str) -> dict[str, list[str]]:
    """Help section heading → the command names listed under it."""
    sections: dict[str, list[str]] = {}
    for block in helptext.split("\n\n"):
        heading, _, body = block.partition(":\n")
        sections[heading] = re.findall(r"^  (\w+)  ", body, re.MULTILINE)
    return sections


def test_help_lists_every_command_and_sets_apart_those_without_their_extra(
    tmp_path: Path,
) -> None:
    # Every dev module hidden: help must not import any of them (nor fail on them).
    result = cosactl("--help", cwd=tmp_path, env={"COLUMNS": "80"}, without=DEV_MODULES)

    assert result.returncode == 0, result.stderr
    sections = _sections(result.stdout)
    assert sections["Commands"] == [name for name in COMMANDS if name not in NEEDS]
    heading = f"Commands that need cosalette[dev] ({HINT})"
    assert sections[heading] == [name for name in COMMANDS if name in NEEDS]
    assert max(map(len, result.stdout.splitlines())) <= 80


def test_help_sets_apart_only_the_commands_whose_extra_is_missing(tmp_path: Path) -> None:
    result = cosactl("--help", cwd=tmp_path, without=["watchfiles"])

    assert result.returncode == 0, result.stderr
    sections = _sections(result.stdout)
    assert sections["Commands"] == [name for name in COMMANDS if name != "dev"]
    assert sections[f"Commands that need cosalette[dev] ({HINT})"] == ["dev"]


def test_help_lists_every_command_when_the_extra_is_installed(tmp_path: Path) -> None:
    result = cosactl("--help", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert _sections(result.stdout)["Commands"] == list(COMMANDS)
    assert "cosalette[dev]" not in result.stdout


def test_completion_stays_quiet_about_a_command_without_its_extra(tmp_path: Path) -> None:
    env = {"_COSACTL_COMPLETE": "bash_complete", "COMP_WORDS": "cosactl new --", "COMP_CWORD": "2"}

    result = cosactl(cwd=tmp_path, env=env, without=["cookiecutter"])

    assert result.returncode == 0
    assert result.stderr == ""


def test_run_and_manifest_work_without_the_dev_tools(tmp_path: Path) -> None:
    assert cosactl("new", "lean", cwd=tmp_path).returncode == 0
    project = tmp_path / "lean"
    assert cosactl("add", "telemetry", "meter", cwd=project).returncode == 0

    for fmt in ("yaml", "json"):
        result = cosactl("manifest", "--format", fmt, cwd=project, without=DEV_MODULES)
        assert result.returncode == 0, result.stderr
        assert "lean/meter/state" in result.stdout
    result = cosactl("run", "--help", cwd=project, without=DEV_MODULES)
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- pyproject.toml


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def _imported_modules() -> set[str]:
    """Top-level names of every module imported in runtime/ and cosactl/, however imported."""
    found: set[str] = set()
    for path in [*(REPO / "runtime").rglob("*.py"), *(REPO / "cosactl").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.partition(".")[0])
            elif (  # importlib.import_module("yaml") and the like
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value.partition(".")[0])
    return found - set(sys.stdlib_module_names) - {"cosalette", "cosactl"}


PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
RUNTIME = {_name(r) for r in PROJECT["dependencies"]}
EXTRAS = {k: {_name(r) for r in v} for k, v in PROJECT["optional-dependencies"].items()}
DEV_TOOLS = {"cookiecutter", "tomlkit", "watchfiles", "pytest"}


def _distribution(module: str) -> str:
    dists = importlib.metadata.packages_distributions().get(module)
    assert dists, f"{module} is imported but installed by no distribution"
    return _name(dists[0])


def test_the_runtime_install_leaves_out_the_authoring_tools() -> None:
    assert not RUNTIME & DEV_TOOLS
    assert {"pydantic", "pydantic-settings", "aiomqtt", "click", "pyyaml"} <= RUNTIME
    assert EXTRAS["dev"] >= DEV_TOOLS


def test_every_imported_module_is_declared_where_its_command_needs_it() -> None:
    for module in sorted(_imported_modules()):
        dist = _distribution(module)
        if module in DEV_MODULES:
            assert dist in EXTRAS["dev"], f"{module} ({dist}) belongs in the [dev] extra"
        else:
            assert dist in RUNTIME, f"{module} ({dist}) belongs in [project] dependencies"


def test_cli_needs_covers_every_dev_tool_the_code_imports() -> None:
    dev_imports = {m for m in _imported_modules() if _distribution(m) in EXTRAS["dev"]}
    assert dev_imports == set(DEV_MODULES)


def test_the_test_extra_has_everything_dev_has_and_the_lint_tools() -> None:
    assert EXTRAS["dev"] | EXTRAS["lint"] <= EXTRAS["test"]
    assert {"ruff", "mypy"} <= EXTRAS["test"]
