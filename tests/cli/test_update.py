"""`cosactl update`, run as a real subprocess on projects in temporary directories.

"Template 2" is a copy of the shipped template with changes a real release could make: a new
settings key with its comment, a changed line in pyproject.toml (the user edits elsewhere in it:
a clean merge), a line added at the end of .gitignore (the user adds one there too: a
conflict), .env.example changed (the user never touched it), a new file, a dropped file.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from _cli import cosactl, snapshot

TEMPLATE = Path(__file__).resolve().parents[2] / "project_template"
SLUG = "{{cookiecutter.project_slug}}"
NEW_KEY = "# How long to wait for the broker's CONNACK.\nconnect_timeout = 10.0  # seconds\n"


SHIPPED = json.loads((TEMPLATE / "cookiecutter.json").read_text("utf-8"))["template_version"]
NEXT = str(int(SHIPPED) + 1)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), "utf-8")


@pytest.fixture(scope="module")
def template_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    template = tmp_path_factory.mktemp("template") / "project_template"
    shutil.copytree(TEMPLATE, template, ignore=shutil.ignore_patterns("__pycache__"))
    project = template / SLUG
    _edit(
        template / "cookiecutter.json",
        f'"template_version": "{SHIPPED}"',
        f'"template_version": "{NEXT}"',
    )
    _edit(
        project / "settings.toml",
        "port = {{ cookiecutter.mqtt_port }}\n",
        "port = {{ cookiecutter.mqtt_port }}\n" + NEW_KEY,
    )
    _edit(project / '{{"pyproject"}}.toml', 'addopts = "-ra"', 'addopts = "-ra --strict-markers"')
    _edit(project / ".gitignore", "/.cosactl/\n", "/.cosactl/\n/dist/\n")
    _edit(
        project / ".env.example",
        "PASSWORD=\n",
        "PASSWORD=\n# {{ cookiecutter.project_slug | upper }}_MQTT__HOST=\n",
    )
    (project / ".editorconfig").write_text("root = true\n\n[*.py]\nindent_size = 4\n", "utf-8")
    (project / "routers" / ".gitkeep").unlink()
    return template


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project made by `cosactl new` with the shipped template (copied by each test)."""
    where = tmp_path_factory.mktemp("fresh")
    result = cosactl("new", "meter", "-x", "mqtt_host=broker.local", cwd=where)
    assert result.returncode == 0, result.stderr
    return where / "meter"


@pytest.fixture
def project(fresh: Path, tmp_path: Path) -> Path:
    """The fresh project with a user's edits: one in pyproject.toml (away from the template's
    change), one at the end of .gitignore (where the template adds a line too), a changed
    settings value and a device section."""
    root = tmp_path / "meter"
    shutil.copytree(fresh, root)
    with (root / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[tool.coverage.run]\nsource = ["devices"]\n')
    with (root / ".gitignore").open("a", encoding="utf-8") as handle:
        handle.write("/build/\n")
    _edit(root / "settings.toml", 'level = "INFO"', 'level = "DEBUG"')
    with (root / "settings.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[devices.counter]\ninterval = 5.0  # mine\n")
    return root


def _record(root: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((root / ".cosactl.json").read_text("utf-8"))
    return data


def test_new_records_the_pristine_rendering_as_the_base(fresh: Path) -> None:
    base = _record(fresh)["base"]

    assert isinstance(base, dict)
    assert base["settings.toml"] == (fresh / "settings.toml").read_text("utf-8")
    assert set(base) == set(snapshot(fresh)) - {".cosactl.json"}


def test_update_merges_template_2_and_leaves_a_conflict_beside_the_file(
    project: Path, template_v2: Path
) -> None:
    gitignore = (project / ".gitignore").read_bytes()

    result = cosactl("update", "--template", str(template_v2), cwd=project)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 file(s) conflict: .gitignore" in result.stderr
    assert "+/dist/" in result.stdout, "the conflict is shown as a diff"
    # the conflicting file is left alone, the template's version written next to it
    assert (project / ".gitignore").read_bytes() == gitignore
    sidecar = (project / ".gitignore.cosactl-new").read_text("utf-8")
    assert sidecar.endswith("/.cosactl/\n/dist/\n") and "/build/" not in sidecar
    # a clean merge keeps the user's addition and takes the template's change
    pyproject = tomllib.loads((project / "pyproject.toml").read_text("utf-8"))
    assert pyproject["tool"]["pytest"]["ini_options"]["addopts"] == "-ra --strict-markers"
    assert pyproject["tool"]["coverage"]["run"]["source"] == ["devices"]
    # settings.toml: the new key with its comment; the user's values and section untouched
    settings_text = (project / "settings.toml").read_text("utf-8")
    assert "port = 1883\n" + NEW_KEY in settings_text
    settings = tomllib.loads(settings_text)
    assert settings["mqtt"] == {"host": "broker.local", "port": 1883, "connect_timeout": 10.0}
    assert settings["logging"]["level"] == "DEBUG"
    assert "interval = 5.0  # mine" in settings_text
    # untouched file updated, new file created, dropped file removed
    assert "# METER_MQTT__HOST=" in (project / ".env.example").read_text("utf-8")
    assert (project / ".editorconfig").read_text("utf-8").startswith("root = true")
    assert not (project / "routers" / ".gitkeep").exists()
    for line in (
        "merge     pyproject.toml",
        "merge     settings.toml",
        "update    .env.example",
        "create    .editorconfig",
        "remove    routers/.gitkeep",
        "conflict  .gitignore",
    ):
        assert line in result.stdout
    record = _record(project)
    assert record["template_version"] == NEXT
    assert isinstance(record["answers"], dict) and record["answers"]["mqtt_host"] == "broker.local"
    assert isinstance(record["base"], dict) and record["base"][".gitignore"] == sidecar


def test_update_refuses_while_a_sidecar_is_left_then_is_up_to_date(
    project: Path, template_v2: Path
) -> None:
    assert cosactl("update", "--template", str(template_v2), cwd=project).returncode == 1
    before = snapshot(project)

    refused = cosactl("update", "--template", str(template_v2), cwd=project)

    assert refused.returncode == 4
    assert ".gitignore.cosactl-new" in refused.stderr
    assert snapshot(project) == before
    (project / ".gitignore.cosactl-new").unlink()
    before = snapshot(project)

    again = cosactl("update", "--template", str(template_v2), cwd=project)

    assert again.returncode == 0, again.stderr
    assert f"Already up to date with template {NEXT}" in again.stdout
    assert snapshot(project) == before


def test_update_inline_writes_conflict_markers_into_the_file(
    project: Path, template_v2: Path
) -> None:
    result = cosactl("update", "--conflict", "inline", "--template", str(template_v2), cwd=project)

    assert result.returncode == 1
    assert "conflict markers" in result.stderr and ".gitignore" in result.stderr
    text = (project / ".gitignore").read_text("utf-8")
    assert text.endswith(
        f"/.cosactl/\n<<<<<<< yours\n/build/\n=======\n/dist/\n>>>>>>> template {NEXT}\n"
    )
    assert not (project / ".gitignore.cosactl-new").exists()
    assert "-ra --strict-markers" in (project / "pyproject.toml").read_text("utf-8")
    before = snapshot(project)

    unresolved = cosactl("update", "--template", str(template_v2), cwd=project)

    assert unresolved.returncode == 4
    assert ".gitignore: still has conflict markers" in unresolved.stderr
    assert snapshot(project) == before


def test_update_pretend_shows_every_change_and_writes_nothing(
    project: Path, template_v2: Path
) -> None:
    before = snapshot(project)

    result = cosactl("update", "--pretend", "--template", str(template_v2), cwd=project)

    assert result.returncode == 1, "the conflict it would meet is reported"
    assert snapshot(project) == before
    assert "nothing was written" in result.stdout
    for line in (
        "merge     pyproject.toml",
        "conflict  .gitignore",
        "unchanged README.md",
        "+connect_timeout = 10.0  # seconds",
        "+root = true",
    ):
        assert line in result.stdout


def test_update_with_the_shipped_template_is_up_to_date(fresh: Path, tmp_path: Path) -> None:
    root = tmp_path / "meter"
    shutil.copytree(fresh, root)
    before = snapshot(root)

    result = cosactl("update", cwd=root)

    assert result.returncode == 0, result.stderr
    assert f"Already up to date with template {SHIPPED}" in result.stdout
    assert snapshot(root) == before


def test_a_project_without_a_base_never_loses_the_users_bytes(
    project: Path, template_v2: Path
) -> None:
    record = _record(project)
    del record["base"]
    (project / ".cosactl.json").write_text(json.dumps(record), "utf-8")
    pyproject = (project / "pyproject.toml").read_bytes()

    result = cosactl("update", "--template", str(template_v2), cwd=project)

    assert result.returncode == 1
    assert "pyproject.toml" in result.stderr and "no recorded base" in result.stdout
    assert (project / "pyproject.toml").read_bytes() == pyproject
    assert "-ra --strict-markers" in (project / "pyproject.toml.cosactl-new").read_text("utf-8")
    assert (project / "routers" / ".gitkeep").exists(), "no base: nothing is known unchanged"
    assert (project / ".editorconfig").is_file(), "a file the user does not have is created"
