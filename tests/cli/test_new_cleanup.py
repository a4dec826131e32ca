"""`cosactl new` leaves nothing in the temp directory, and skipping the template's hook loses
no check: cosactl applies the hook's name rules itself."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from _cli import cosactl

from cosactl.generate import GenerateError, check_name, template_dir


def test_new_leaves_nothing_in_the_temp_directory(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    work = tmp_path / "work"
    work.mkdir()

    result = cosactl("new", "gas2mqtt", cwd=work, env={"TMPDIR": str(temp)})

    assert result.returncode == 0, result.stderr
    assert (work / "gas2mqtt" / "settings.toml").is_file()
    assert sorted(p.name for p in temp.iterdir()) == []


def test_the_template_has_no_hook_but_the_name_check() -> None:
    # cosactl new runs cookiecutter without hooks: a new hook would silently never run.
    hooks = template_dir() / "hooks"
    assert sorted(p.name for p in hooks.iterdir() if p.name != "__pycache__") == [
        "pre_gen_project.py"
    ]


def _hook_accepts(slug: str) -> bool:
    source = (template_dir() / "hooks" / "pre_gen_project.py").read_text("utf-8")
    rendered = source.replace("{{ cookiecutter.project_slug }}", slug)
    assert rendered != source
    namespace: dict[str, object] = {"__name__": "hook"}
    exec(compile(rendered, "pre_gen_project.py", "exec"), namespace)
    main = namespace["main"]
    assert callable(main)
    with contextlib.redirect_stderr(io.StringIO()):
        return bool(main() == 0)


def _cosactl_accepts(slug: str) -> bool:
    try:
        check_name(slug, "project name")
    except GenerateError:
        return False
    return True


@pytest.mark.parametrize(
    "slug",
    [
        *("gas2mqtt", "", "a", "a_b_9", "devices", "Gas", "9lives", "a-b", "a b", "_x"),
        *("class", "None", "x" * 32, "x" * 33),
    ],
)
def test_cosactl_checks_the_name_as_the_skipped_hook_would(slug: str) -> None:
    assert _cosactl_accepts(slug) == _hook_accepts(slug)
