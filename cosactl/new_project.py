"""What `cosactl new` does, as plain functions: check the answers, render the template into
a new folder, and record the pristine rendering (the base `cosactl update` merges from).

cookiecutter is imported inside the functions that use it.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cosactl._edit import GenerateError, write_atomic
from cosactl._errors import EXIT_REFUSED, EXIT_USAGE
from cosactl.generate import check_name, template_dir

__all__ = [
    "create_project",
    "parse_pairs",
    "project_target",
    "template_context",
    "template_defaults",
]

CACHES = ("__pycache__", ".ruff_cache", ".mypy_cache", ".pytest_cache")
NEW_KEYS = ("project_name", "description", "version", "mqtt_host", "mqtt_port")


def parse_pairs(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["k=v", ...]`` → ``{"k": "v"}``; a pair without ``=`` is a usage error."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise GenerateError(f"--extra-context takes KEY=VALUE, got {pair!r}", EXIT_USAGE)
        result[key.strip()] = value
    return result


def template_defaults() -> dict[str, Any]:
    """The template's answers as they stand in cookiecutter.json."""
    data: dict[str, Any] = json.loads((template_dir() / "cookiecutter.json").read_text("utf-8"))
    return data


def _check_answers(answers: Mapping[str, str]) -> dict[str, Any]:
    unknown = sorted(set(answers) - set(NEW_KEYS) - {"project_slug"})
    if unknown:
        raise GenerateError(
            f"unknown --extra-context key(s) {', '.join(unknown)}; known: {', '.join(NEW_KEYS)}",
            EXIT_USAGE,
        )
    checked: dict[str, Any] = {}
    for key, value in answers.items():
        if any(ord(c) < 32 or ord(c) == 127 for c in value) or not value.strip():
            raise GenerateError(f"{key} must be one non-empty line, got {value!r}", EXIT_USAGE)
        if "{{" in value or "{%" in value or any(ord(c) > 0xFFFF for c in value):
            raise GenerateError(
                f"{key} may not contain '{{{{', '{{%' or characters beyond U+FFFF (emoji)",
                EXIT_USAGE,
            )
        checked[key] = value
    if "mqtt_port" in checked:
        port = checked["mqtt_port"]
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise GenerateError(f"mqtt_port must be 1..65535, got {port!r}", EXIT_USAGE)
        checked["mqtt_port"] = int(port)
    return checked


def project_target(name: str, directory: str | Path = ".") -> Path:
    """``directory/name``, after refusing an invalid name or an existing non-empty folder."""
    target = Path(directory) / check_name(name, "project name")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise GenerateError(f"{target} already exists and is not empty", EXIT_REFUSED)
    return target


def create_project(
    name: str,
    directory: str | Path = ".",
    no_input: bool = True,
    extra_context: Mapping[str, str] | None = None,
) -> Path:
    """Render the template into ``directory/name`` and return that folder.

    Refuses an invalid name and an existing non-empty folder before rendering anything.
    The rendering never prompts (the command asks its own questions), so *no_input* only
    documents the caller's intent.
    """
    del no_input
    target = project_target(name, directory)
    slug, parent, existed = target.name, target.parent, target.exists()
    answers = _check_answers(dict(extra_context or {}))
    if answers.pop("project_slug", slug) != slug:
        raise GenerateError("project_slug is the NAME argument; do not set it twice", EXIT_USAGE)
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.generate import generate_files

    template = template_dir()
    overrides = {"project_name": slug, **answers, "project_slug": slug}
    context = template_context(template, overrides)
    parent.mkdir(parents=True, exist_ok=True)
    try:
        out = Path(
            generate_files(
                repo_dir=str(template),
                context=context,
                output_dir=str(parent),
                overwrite_if_exists=existed,
                # The template's only hook (hooks/pre_gen_project.py) checks the name, for
                # people who run plain `cookiecutter` on the template; check_name above already
                # did that, more strictly. Running it would also leave a tmpXXXX.py copy in the
                # temp directory on every run: cookiecutter renders hooks into a
                # NamedTemporaryFile(delete=False) and never removes it.
                accept_hooks=False,
            )
        )
        tomllib.loads((out / "settings.toml").read_text("utf-8"))
        _record_base(out)
    except (CookiecutterException, ValueError, OSError) as exc:
        if target.is_dir():
            shutil.rmtree(target)
            if existed:
                target.mkdir()
        raise GenerateError(f"cannot create {target}: {exc}", EXIT_USAGE) from exc
    for cache in CACHES:  # a tool run inside the template must not leak into projects
        for found in list(out.rglob(cache)):
            shutil.rmtree(found, ignore_errors=True)
    return out


def template_context(template: Path, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The cookiecutter context of *template* with *overrides* as answers (never prompts)."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    context: dict[str, Any] = generate_context(
        str(template / "cookiecutter.json"), extra_context=dict(overrides)
    )
    context["cookiecutter"].update(prompt_for_config(context, no_input=True))
    if "mqtt_port" in context["cookiecutter"]:
        context["cookiecutter"]["mqtt_port"] = int(context["cookiecutter"]["mqtt_port"])
    return context


def _record_base(project: Path) -> None:
    """Keep the pristine rendering in .cosactl.json: the base `cosactl update` merges from."""
    from cosactl._update.base import RECORD, read_tree, with_base

    record = project / RECORD
    if record.is_file():
        write_atomic(record, with_base(record.read_text("utf-8"), read_tree(project)))
