"""The base of a three-way update: the template's pristine rendering, kept in .cosactl.json.

``cosactl new`` records every file it rendered (except .cosactl.json itself) under the record's
``"base"`` key, path → text; ``cosactl update`` merges against it and then records the new
template's rendering. Keeping it in the one committed metadata file means no copies that a
linter, a type checker, pytest or .gitignore could pick up or drop.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cosactl._edit import RECORD, GenerateError, record_text
from cosactl._errors import EXIT_PROJECT, EXIT_USAGE

__all__ = [
    "CACHES",
    "RECORD",
    "read_record",
    "read_tree",
    "recorded_base",
    "render_template",
    "with_base",
]

CACHES = frozenset({"__pycache__", ".ruff_cache", ".mypy_cache", ".pytest_cache"})


def read_tree(root: Path) -> dict[str, str]:
    """Every UTF-8 file under *root* (path relative, with "/") → its exact text.

    Caches are left out, and so is the record itself; undecodable files are not template files.
    """
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or CACHES.intersection(rel.parts) or rel.as_posix() == RECORD:
            continue
        try:
            files[rel.as_posix()] = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
    return files


def with_base(rendered: str, files: Mapping[str, str]) -> str:
    """*rendered* (the text of a .cosactl.json) with ``"base"`` set to *files*."""
    data = json.loads(rendered)
    data["base"] = dict(sorted(files.items()))
    return record_text(data)


def read_record(root: Path) -> dict[str, Any]:
    """The project's .cosactl.json; refused when missing or unreadable."""
    path = root / RECORD
    if not path.is_file():
        raise GenerateError(
            f"{path} is missing: cosactl update needs the template version and answers that "
            "`cosactl new` records there",
            EXIT_PROJECT,
        )
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError as exc:
        raise GenerateError(f"{path}: invalid JSON: {exc}", EXIT_PROJECT) from None
    if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
        raise GenerateError(f"{path}: no recorded answers", EXIT_PROJECT)
    return data


def recorded_base(record: Mapping[str, Any]) -> dict[str, str] | None:
    """The pristine files recorded at ``new`` (or the last update); None for older projects."""
    base = record.get("base")
    if not isinstance(base, dict):
        return None
    return {k: v for k, v in base.items() if isinstance(k, str) and isinstance(v, str)}


def _questions(template: Path) -> dict[str, Any]:
    try:
        data = json.loads((template / "cookiecutter.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise GenerateError(
            f"{template} is not a cosactl project template: {exc}", EXIT_USAGE
        ) from None
    if not isinstance(data, dict):
        raise GenerateError(f"{template}/cookiecutter.json is not an object", EXIT_USAGE)
    return data


def render_template(template: Path, answers: Mapping[str, Any]) -> tuple[dict[str, str], str]:
    """Render *template* with the recorded *answers*: (the files, the rendered .cosactl.json).

    Answers the template does not ask are dropped; questions it added take their defaults.
    """
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.generate import generate_files

    from cosactl.new_project import template_context

    known = _questions(template)
    overrides = {k: v for k, v in answers.items() if k in known and k != "template_version"}
    with tempfile.TemporaryDirectory(prefix="cosactl-update-") as scratch:
        try:
            out = Path(
                generate_files(
                    repo_dir=str(template),
                    context=template_context(template, overrides),
                    output_dir=scratch,
                    accept_hooks=False,
                )
            )
        except (CookiecutterException, OSError) as exc:
            raise GenerateError(f"cannot render {template}: {exc}", EXIT_USAGE) from exc
        record = out / RECORD
        record_text = record.read_text("utf-8") if record.is_file() else "{}"
        return read_tree(out), record_text
