"""The shell-completion lines the READMEs document work: bash completes commands and
archetypes through the real ``cosactl`` script; zsh and fish get their scripts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _cli import cosactl

ROOT = Path(__file__).resolve().parents[2]
READMES = (
    ROOT / "README.md",
    ROOT / "project_template" / "{{cookiecutter.project_slug}}" / "README.md",
)
SHELLS = ("bash", "zsh", "fish")


def _cosactl_script() -> Path:
    script = Path(sys.executable).parent / "cosactl"
    if not script.exists():
        pytest.skip("the cosactl console script is not installed next to this Python")
    return script


def _documented(readme: Path) -> dict[str, str]:
    """Shell → the install line documented in *readme* (its comment dropped)."""
    lines = {}
    for line in readme.read_text("utf-8").splitlines():
        found = re.search(r"_COSACTL_COMPLETE=(bash|zsh|fish)_source", line)
        if found:
            lines[found.group(1)] = line.split("  #")[0].strip()
    return lines


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.parent.name)
def test_each_readme_documents_one_line_per_shell(readme: Path) -> None:
    assert sorted(_documented(readme)) == sorted(SHELLS)
    assert _documented(readme) == _documented(READMES[0])


def _bash_complete(words: str, home: Path, cwd: Path | None = None) -> list[str]:
    """Install completion with the README's bash line into *home*/.bashrc, then ask it."""
    line = _documented(READMES[0])["bash"]
    subprocess.run(["bash", "-c", line], env={**_env(), "HOME": str(home)}, check=True)
    script = (
        f"source {home}/.bashrc\n"
        f"COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n"
        "_cosactl_completion cosactl\n"  # bash passes the command name as $1
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env={**_env(), "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_bash_line_completes_commands_and_archetypes(tmp_path: Path) -> None:
    _cosactl_script()
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")

    assert _bash_complete("cosactl ad", tmp_path) == ["add"]
    assert _bash_complete("cosactl add te", tmp_path) == ["telemetry"]
    assert "--pretend" in _bash_complete("cosactl add telemetry x --pre", tmp_path)


def test_remove_completes_the_names_add_recorded(tmp_path: Path) -> None:
    _cosactl_script()
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    assert cosactl("new", "demo", cwd=tmp_path).returncode == 0
    project = tmp_path / "demo"
    for args in (("telemetry", "counter"), ("command", "valve"), ("adapter", "coil")):
        assert cosactl("add", *args, cwd=project).returncode == 0

    assert _bash_complete("cosactl remove co", tmp_path, project) == ["coil", "counter"]
    assert _bash_complete("cosactl remove v", tmp_path, project) == ["valve"]
    assert _bash_complete("cosactl remove v", tmp_path, tmp_path) == []  # not a project


@pytest.mark.parametrize(("shell", "marker"), [("zsh", "compdef"), ("fish", "complete")])
def test_zsh_and_fish_get_their_scripts(shell: str, marker: str) -> None:
    script = _cosactl_script()
    result = subprocess.run(
        [str(script)],
        env={**_env(), "_COSACTL_COMPLETE": f"{shell}_source"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert marker in result.stdout
    assert "_COSACTL_COMPLETE" in result.stdout  # the script calls cosactl back
