"""`cosactl update` merges from the base a project recorded under its template version, so
every change to what `cosactl new` renders must come with a new ``template_version``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "project_template"
RECORDED = ROOT / "tests" / "data" / "template_versions.json"


def rendered_source_digest() -> str:
    """sha256 over the project tree of the template and its answers (the version left out)."""
    digest = hashlib.sha256()
    answers = json.loads((TEMPLATE / "cookiecutter.json").read_text("utf-8"))
    answers.pop("template_version")
    digest.update(json.dumps(answers, sort_keys=True).encode())
    tree = TEMPLATE / "{{cookiecutter.project_slug}}"
    for path in sorted(p for p in tree.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(tree).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_a_changed_template_has_a_new_version() -> None:
    version = json.loads((TEMPLATE / "cookiecutter.json").read_text("utf-8"))["template_version"]
    recorded = json.loads(RECORDED.read_text("utf-8"))
    digest = rendered_source_digest()

    assert version in recorded, (
        f'template_version {version} is not in {RECORDED.name}: add "{version}": "{digest}" there'
    )
    assert recorded[version] == digest, (
        f"the template changed but template_version is still {version}: bump it in "
        f'project_template/cookiecutter.json and record "<new version>": "{digest}" in '
        f"{RECORDED.relative_to(ROOT)} (projects made from {version} merge from their base)"
    )
