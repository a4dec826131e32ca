"""`cosactl add`, run as a real subprocess inside a freshly generated project."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from _cli import copy_project, cosactl, new_project, snapshot

from cosactl._edit import _insert_section


def only_insertions(before: str, after: str) -> list[str]:
    """The lines *after* adds to *before*; fails if any line of *before* changed or moved."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    added: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        assert op in ("equal", "insert"), f"{op}: {old[i1:i2]!r} -> {new[j1:j2]!r}"
        if op == "insert":
            added.extend(new[j1:j2])
    return added


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project made by `cosactl new`, copied by the `project` fixture for each test."""
    return new_project(tmp_path_factory.mktemp("fresh"))


@pytest.fixture
def project(fresh: Path, tmp_path: Path) -> Path:
    return copy_project(fresh, tmp_path)


ARCHETYPES = [
    ("telemetry", "counter", ["devices/counter.py", "tests/test_counter.py"], True),
    ("command", "valve", ["devices/valve.py", "tests/test_valve.py"], True),
    ("device", "lamp", ["devices/lamp.py", "tests/test_lamp.py"], True),
    ("periodic", "cleanup", ["devices/cleanup.py", "tests/test_cleanup.py"], True),
    (
        "adapter",
        "magnetometer",
        ["adapters/magnetometer.py", "tests/test_adapter_magnetometer.py"],
        False,
    ),
    ("router", "garden", ["routers/garden.py", "tests/test_router_garden.py"], False),
]


@pytest.mark.parametrize(("archetype", "name", "files", "section"), ARCHETYPES)
def test_add_writes_the_snippet_its_test_and_its_settings_section(
    project: Path, archetype: str, name: str, files: list[str], section: bool
) -> None:
    before = snapshot(project)

    result = cosactl("add", archetype, name, cwd=project)

    assert result.returncode == 0, result.stderr
    assert set(snapshot(project)) - set(before) == set(files)
    for rel in files:
        assert f"create    {rel}" in result.stdout
    settings = tomllib.loads((project / "settings.toml").read_text())
    assert (name in settings.get("devices", {})) is section
    assert (f"update    settings.toml [devices.{name}]" in result.stdout) is section
    record = json.loads((project / ".cosactl.json").read_text())
    assert {"archetype": archetype, "name": name} in [
        {"archetype": e["archetype"], "name": e["name"]} for e in record["added"]
    ]
    assert "\x1b[" not in result.stdout, "no colour when stdout is not a terminal"


def test_telemetry_options_reach_the_code_and_the_settings(project: Path) -> None:
    result = cosactl(
        "add", "telemetry", "counter", "--interval", "30", "--publish", "on-change", cwd=project
    )

    assert result.returncode == 0, result.stderr
    code = (project / "devices/counter.py").read_text()
    assert 'interval=cosalette.setting_ref("devices.counter.interval")' in code
    assert "publish=cosalette.OnChange()" in code
    assert "interval: float = 30.0" in code
    settings = tomllib.loads((project / "settings.toml").read_text())
    assert settings["devices"]["counter"] == {"interval": 30.0}

    result = cosactl(
        "add", "telemetry", "gauge", "--publish", "every", "--every", "120", cwd=project
    )
    assert result.returncode == 0, result.stderr
    assert "publish=cosalette.Every(seconds=120.0)" in (project / "devices/gauge.py").read_text()


def test_telemetry_adapter_option_creates_the_adapter_when_missing(project: Path) -> None:
    result = cosactl("add", "telemetry", "field", "--adapter", "magnetometer", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "create    adapters/magnetometer.py" in result.stdout
    code = (project / "devices/field.py").read_text()
    assert "from adapters.magnetometer import MagnetometerPort" in code
    assert "source: MagnetometerPort," in code and "source.read()" in code


def test_telemetry_adapter_option_uses_an_existing_adapters_port(project: Path) -> None:
    (project / "adapters/scale.py").write_text(
        "from typing import Protocol\n\n\n"
        "class WeightPort(Protocol):\n"
        "    def _raw(self) -> int: ...\n"
        "    def grams(self) -> float: ...\n"
    )

    result = cosactl("add", "telemetry", "flour", "--adapter", "scale", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "adapters/scale.py" not in result.stdout
    code = (project / "devices/flour.py").read_text()
    assert "from adapters.scale import WeightPort" in code
    assert "source.grams()" in code


def test_adding_the_same_thing_twice_changes_nothing(project: Path) -> None:
    assert cosactl("add", "telemetry", "counter", "--interval", "5", cwd=project).returncode == 0
    before = snapshot(project)

    result = cosactl("add", "telemetry", "counter", "--interval", "5", cwd=project)

    assert result.returncode == 0, result.stderr
    assert snapshot(project) == before
    assert "identical devices/counter.py" in result.stdout
    assert "exists    settings.toml [devices.counter] (left as it is)" in result.stdout
    assert (project / "settings.toml").read_text().count("[devices.counter]") == 1


def test_pretend_prints_the_plan_and_writes_nothing(project: Path) -> None:
    before = snapshot(project)

    result = cosactl("add", "telemetry", "counter", "--adapter", "meter", "--pretend", cwd=project)

    assert result.returncode == 0, result.stderr
    assert snapshot(project) == before
    for line in (
        "create    devices/counter.py",
        "create    adapters/meter.py",
        "update    settings.toml [devices.counter]",
        "nothing was written",
    ):
        assert line in result.stdout


def test_an_edited_file_is_refused_with_a_diff_and_left_byte_identical(project: Path) -> None:
    assert cosactl("add", "telemetry", "counter", cwd=project).returncode == 0
    device = project / "devices/counter.py"
    device.write_bytes(device.read_bytes() + b"# calibrated by hand\r\n")
    before = snapshot(project)

    for args in (["telemetry", "counter"], ["command", "counter"], ["periodic", "counter"]):
        result = cosactl("add", *args, cwd=project)

        assert result.returncode == 4, result.stderr
        assert "--- devices/counter.py (yours)" in result.stderr
        assert "-# calibrated by hand" in result.stderr
        assert "--force" in result.stderr
        assert snapshot(project) == before

    pretend = cosactl("add", "command", "counter", "--pretend", cwd=project)
    assert pretend.returncode == 4
    assert snapshot(project) == before


def test_force_overwrites_an_edited_file(project: Path) -> None:
    assert cosactl("add", "telemetry", "counter", cwd=project).returncode == 0
    device = project / "devices/counter.py"
    device.write_text(device.read_text() + "# calibrated by hand\n")

    result = cosactl("add", "telemetry", "counter", "--force", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "force     devices/counter.py" in result.stdout
    assert "# calibrated by hand" not in device.read_text()


@pytest.mark.parametrize("name", ["Bad-Name", "with/slash", "class", "9volt", "tests"])
def test_an_invalid_name_is_refused(project: Path, name: str) -> None:
    before = snapshot(project)

    result = cosactl("add", "telemetry", name, cwd=project)

    assert result.returncode == 2
    assert "Error:" in result.stderr and "name" in result.stderr
    assert snapshot(project) == before


def test_a_name_registered_by_another_module_is_refused(project: Path) -> None:
    (project / "devices/meter.py").write_text(
        "import cosalette\n\nrouter = cosalette.Router()\n\n\n"
        '@router.command("counter")\n'
        "async def counter(payload: str) -> dict[str, object]:\n"
        '    return {"state": payload}\n'
    )
    before = snapshot(project)

    result = cosactl("add", "telemetry", "counter", "--force", cwd=project)

    assert result.returncode == 4
    assert "'counter' is already registered at devices/meter.py:6" in result.stderr
    assert snapshot(project) == before


def test_an_option_that_does_not_apply_is_a_usage_error(project: Path) -> None:
    before = snapshot(project)

    for args in (
        ["adapter", "meter", "--interval", "5"],
        ["command", "valve", "--publish", "on-change"],
        ["telemetry", "counter", "--every", "5"],
        ["telemetry", "counter", "--interval", "-1"],
    ):
        result = cosactl("add", *args, cwd=project)
        assert result.returncode == 2, args
        assert "Error:" in result.stderr
    assert snapshot(project) == before


def test_add_outside_a_project_says_so(tmp_path: Path) -> None:
    result = cosactl("add", "command", "valve", cwd=tmp_path)

    assert result.returncode == 5
    assert "settings.toml" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_add_acts_on_the_project_given_with_dash_c(project: Path) -> None:
    result = cosactl("-C", project.name, "add", "command", "valve", cwd=project.parent)

    assert result.returncode == 0, result.stderr
    assert (project / "devices/valve.py").is_file()


def test_add_help_shows_the_archetypes_and_examples(tmp_path: Path) -> None:
    result = cosactl("add", "--help", cwd=tmp_path)

    assert result.returncode == 0
    assert "Examples:" in result.stdout
    assert "cosactl add telemetry counter" in result.stdout
    for word in ("telemetry", "command", "device", "periodic", "adapter", "router", "--pretend"):
        assert word in result.stdout


USER_SETTINGS = """\
# my bridge - notes the user wrote
[app]
name = "demo"
version = "0.1.0"
description = "IoT-to-MQTT bridge"

[mqtt]
host   =   "broker.lan"    # odd spacing, kept
port = 1883
# username = "me"          # a comment the user wrote

[devices.pump]
speed = 3                  # hand-written device section
# max_speed = 5

# --- about extra: this block belongs to [extra]
[extra]
flag = true
"""


def test_settings_keep_every_user_byte_outside_the_added_sections(project: Path) -> None:
    settings = project / "settings.toml"
    settings.write_text(USER_SETTINGS)

    for args in (
        ["telemetry", "counter", "--interval", "30"],
        ["command", "valve"],
        ["adapter", "magnetometer"],
        ["periodic", "cleanup"],
    ):
        result = cosactl("add", *args, cwd=project)
        assert result.returncode == 0, result.stderr

    text = settings.read_text()
    added = only_insertions(USER_SETTINGS, text)
    headers = [line.split("]")[0] + "]" for line in added if line.startswith("[")]
    assert headers == ["[devices.counter]", "[devices.valve]", "[devices.cleanup]"]
    assert text.index("# max_speed = 5") < text.index("[devices.counter]")
    assert text.index("[devices.cleanup]") < text.index("# --- about extra")
    data = tomllib.loads(text)
    assert data["devices"]["pump"] == {"speed": 3}
    assert data["extra"] == {"flag": True}


def test_settings_that_cannot_take_a_section_are_refused_untouched(project: Path) -> None:
    settings = project / "settings.toml"
    settings.write_text('devices = { pump = { speed = 3 } }\n\n[app]\nname = "demo"\n')
    before = snapshot(project)

    result = cosactl("add", "telemetry", "counter", cwd=project)

    assert result.returncode == 4
    assert "add it by hand" in result.stderr
    assert snapshot(project) == before


def test_settings_with_crlf_line_endings_stay_crlf(project: Path) -> None:
    settings = project / "settings.toml"
    original = settings.read_bytes().replace(b"\n", b"\r\n")
    settings.write_bytes(original)

    assert cosactl("add", "telemetry", "counter", cwd=project).returncode == 0

    text = settings.read_bytes()
    assert text.startswith(original)
    assert b"\n" not in text.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    "before",
    [
        "",
        '[app]\nname = "x"',
        '[app]\nname = "x"\n\n\n',
        "[devices.a]\ni = 1\n[devices.b]\ni = 2\n[z]\nk = 1\n",
        '[devices]\na = { i = 1 }\n\n# z\n\n[z]\nk = """\n[devices.fake]\n"""\n',
        "[[devices.list]]\ni = 1\n",
    ],
)
def test_the_section_is_only_ever_inserted(before: str) -> None:
    fragment = "[devices.new]  # added\ninterval = 1.0\n"

    after = _insert_section(before, "new", fragment)

    n = len(after) - len(before)
    splits = [k for k in range(len(before) + 1) if after[:k] + after[k + n :] == before]
    assert splits, "the text around the new section changed"
    assert after[splits[0] : splits[0] + n].strip() == fragment.strip()
    assert tomllib.loads(after)["devices"]["new"] == {"interval": 1.0}


def test_a_project_with_every_archetype_passes_its_own_tests(project: Path) -> None:
    for args in (
        ["telemetry", "counter", "--interval", "30"],
        ["telemetry", "still", "--publish", "on-change"],
        ["telemetry", "slow", "--publish", "every", "--every", "120"],
        ["telemetry", "field", "--adapter", "magnetometer", "--publish", "on-change"],
        ["command", "valve"],
        ["device", "lamp"],
        ["periodic", "cleanup"],
        ["adapter", "thermometer"],
        ["router", "garden"],
    ):
        result = cosactl("add", *args, cwd=project)
        assert result.returncode == 0, result.stderr

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 passed" in result.stdout


def test_generated_code_passes_ruff_with_the_projects_own_settings(project: Path) -> None:
    pytest.importorskip("ruff", reason="ruff is in the lint extra")
    for args in (
        ["telemetry", "a_rather_long_device_name_for_ab", "--publish", "every"],
        ["telemetry", "field", "--adapter", "abc_sensor", "--publish", "on-change"],
        ["command", "valve"],
        ["device", "lamp"],
        ["periodic", "cleanup"],
        ["router", "garden"],
    ):
        assert cosactl("add", *args, cwd=project).returncode == 0

    for check in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *check, "--no-cache"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
