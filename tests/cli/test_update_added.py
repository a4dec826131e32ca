"""`cosactl update` on the files `cosactl add` created, run as a real subprocess.

The project has `add telemetry counter` and `add command valve`. "Template N+1" changes one line
of the telemetry snippet's device file, the first line of the command snippet's test file, and
gives the command snippet a new file (docs/NAME.md).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from _cli import cosactl, snapshot

TEMPLATE = Path(__file__).resolve().parents[2] / "project_template"
SHIPPED = json.loads((TEMPLATE / "cookiecutter.json").read_text("utf-8"))["template_version"]
NEXT = str(int(SHIPPED) + 1)
OLD_LINE = '    """Seconds between readings."""\n'
NEW_LINE = '    """Seconds between two readings (at least 1)."""\n'
OLD_TEST_DOC = '"""Tests for devices/valve.py, a command device."""'
NEW_TEST_DOC = '"""Tests for devices/valve.py, a command device that is on or off."""'
DEVICE = "devices/counter.py"
VALVE_TEST = "tests/test_valve.py"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), "utf-8")


def _copy_template(where: Path, version: str) -> Path:
    """The shipped template with the snippet changes, as template *version*."""
    template = where / "project_template"
    shutil.copytree(TEMPLATE, template, ignore=shutil.ignore_patterns("__pycache__"))
    _edit(
        template / "cookiecutter.json",
        f'"template_version": "{SHIPPED}"',
        f'"template_version": "{version}"',
    )
    snippets = template / "snippets"
    _edit(snippets / "telemetry/devices/{{name}}.py.j2", OLD_LINE, NEW_LINE)
    _edit(
        snippets / "command/tests/test_{{name}}.py.j2",
        OLD_TEST_DOC.replace("valve", "{{ name }}"),
        NEW_TEST_DOC.replace("valve", "{{ name }}"),
    )
    (snippets / "command/docs").mkdir()
    (snippets / "command/docs/{{name}}.md.j2").write_text("# {{ name }}\n", "utf-8")
    return template


@pytest.fixture(scope="module")
def template_next(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_template(tmp_path_factory.mktemp("template"), NEXT)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("fresh")
    made = cosactl("new", "meter", "-x", "mqtt_host=broker.local", cwd=where)
    assert made.returncode == 0, made.stderr
    root = where / "meter"
    for archetype, name in (("telemetry", "counter"), ("command", "valve")):
        added = cosactl("add", archetype, name, cwd=root)
        assert added.returncode == 0, added.stderr
    return root


@pytest.fixture
def project(fresh: Path, tmp_path: Path) -> Path:
    root = tmp_path / "meter"
    shutil.copytree(fresh, root)
    return root


def _update(root: Path, template: Path, *args: str) -> tuple[int, str, str]:
    result = cosactl("update", "--template", str(template), *args, cwd=root)
    return result.returncode, result.stdout, result.stderr


def _entries(root: Path) -> dict[str, dict[str, dict[str, str]]]:
    data = json.loads((root / ".cosactl.json").read_text("utf-8"))
    return {e["name"]: e for e in data["added"]}


def test_untouched_added_files_are_updated_and_recorded(project: Path, template_next: Path) -> None:
    code, out, err = _update(project, template_next)

    assert code == 0, out + err
    device = (project / DEVICE).read_text("utf-8")
    assert NEW_LINE in device and OLD_LINE not in device
    assert (project / VALVE_TEST).read_text("utf-8").startswith(NEW_TEST_DOC)
    assert (project / "docs/valve.md").read_text("utf-8") == "# valve\n"
    for line in ("update    devices/counter.py", "update    tests/test_valve.py"):
        assert line in out
    assert "create    docs/valve.md" in out
    assert "[devices.counter]" in (project / "settings.toml").read_text("utf-8")
    counter = _entries(project)["counter"]
    assert counter["base"][DEVICE] == device
    assert counter["files"][DEVICE] == hashlib.sha256(device.encode()).hexdigest()
    assert "docs/valve.md" in _entries(project)["valve"]["files"]

    again = cosactl("update", "--template", str(template_next), cwd=project)
    assert again.returncode == 0 and f"Already up to date with template {NEXT}" in again.stdout

    removed = cosactl("remove", "counter", cwd=project)
    assert removed.returncode == 0, removed.stderr
    assert not (project / DEVICE).exists()
    assert cosactl("remove", "valve", cwd=project).returncode == 0
    assert not (project / "docs/valve.md").exists()


def test_an_edit_elsewhere_in_an_added_file_is_merged(project: Path, template_next: Path) -> None:
    _edit(project / DEVICE, "import cosalette\n", "import cosalette  # mine\n")

    code, out, err = _update(project, template_next)

    assert code == 0, out + err
    assert "merge     devices/counter.py" in out
    device = (project / DEVICE).read_text("utf-8")
    assert "import cosalette  # mine\n" in device and NEW_LINE in device
    refused = cosactl("remove", "counter", cwd=project)
    assert refused.returncode == 4, "the user's edit is still there: remove needs --force"


def test_an_edit_in_the_same_lines_conflicts_beside_the_file(
    project: Path, template_next: Path
) -> None:
    _edit(project / DEVICE, OLD_LINE, '    """Seconds between my readings."""\n')
    mine = (project / DEVICE).read_bytes()

    code, out, err = _update(project, template_next)

    assert code == 1
    assert "1 file(s) conflict: devices/counter.py" in err
    assert "conflict  devices/counter.py" in out and "+" + NEW_LINE.rstrip() in out
    assert (project / DEVICE).read_bytes() == mine
    assert NEW_LINE in (project / f"{DEVICE}.cosactl-new").read_text("utf-8")
    assert (project / VALVE_TEST).read_text("utf-8").startswith(NEW_TEST_DOC)
    before = snapshot(project)

    refused = _update(project, template_next)

    assert refused[0] == 4 and f"{DEVICE}.cosactl-new" in refused[2]
    assert snapshot(project) == before


def test_an_edit_in_the_same_lines_gets_inline_markers(project: Path, template_next: Path) -> None:
    _edit(project / DEVICE, OLD_LINE, '    """Seconds between my readings."""\n')

    code, _, err = _update(project, template_next, "--conflict", "inline")

    assert code == 1 and "conflict markers" in err
    assert (
        '<<<<<<< yours\n    """Seconds between my readings."""\n=======\n'
        f"{NEW_LINE}>>>>>>> template {NEXT}\n"
    ) in (project / DEVICE).read_text("utf-8")
    assert not (project / f"{DEVICE}.cosactl-new").exists()
    before = snapshot(project)

    refused = _update(project, template_next)

    assert refused[0] == 4 and f"{DEVICE}: still has conflict markers" in refused[2]
    assert snapshot(project) == before


def test_a_deleted_added_file_is_not_recreated(project: Path, template_next: Path) -> None:
    (project / VALVE_TEST).unlink()

    code, out, err = _update(project, template_next)

    assert code == 0, out + err
    assert not (project / VALVE_TEST).exists()
    assert "keep      tests/test_valve.py" in out and "you deleted it" in out


def test_pretend_shows_the_added_files_and_writes_nothing(
    project: Path, template_next: Path
) -> None:
    before = snapshot(project)

    code, out, err = _update(project, template_next, "--pretend")

    assert code == 0, out + err
    assert snapshot(project) == before
    assert "update    devices/counter.py" in out and "+" + NEW_LINE.rstrip() in out
    assert "create    docs/valve.md" in out and "nothing was written" in out


def test_the_same_template_version_still_brings_new_snippets(project: Path, tmp_path: Path) -> None:
    same = _copy_template(tmp_path / "same", SHIPPED)

    code, out, err = _update(project, same)

    assert code == 0, out + err
    assert "Already up to date" not in out
    assert NEW_LINE in (project / DEVICE).read_text("utf-8")


def test_an_entry_without_base_text_never_overwrites_an_edited_file(
    project: Path, template_next: Path
) -> None:
    record = project / ".cosactl.json"
    data = json.loads(record.read_text("utf-8"))
    for entry in data["added"]:
        del entry["base"]
    record.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", "utf-8")
    _edit(project / DEVICE, "import cosalette\n", "import cosalette  # mine\n")
    mine = (project / DEVICE).read_bytes()

    code, out, err = _update(project, template_next)

    assert code == 1 and "devices/counter.py" in err
    assert "no recorded base to merge from" in out
    assert (project / DEVICE).read_bytes() == mine
    assert NEW_LINE in (project / f"{DEVICE}.cosactl-new").read_text("utf-8")
    assert (project / VALVE_TEST).read_text("utf-8").startswith(NEW_TEST_DOC), "untouched: updated"
