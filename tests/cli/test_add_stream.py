"""`cosactl add stream NAME --adapter PORT`, run as a real subprocess in a fresh project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _cli import copy_project, cosactl, new_project, snapshot


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_project(tmp_path_factory.mktemp("fresh"))


@pytest.fixture
def project(fresh: Path, tmp_path: Path) -> Path:
    return copy_project(fresh, tmp_path)


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_add_stream_generates_a_tested_ruff_clean_stream(project: Path) -> None:
    result = cosactl("add", "stream", "scanner", "--adapter", "ble", cwd=project)
    assert result.returncode == 0, result.stderr
    for path in ("devices/scanner.py", "adapters/ble.py", "tests/test_scanner.py"):
        assert f"create    {path}" in result.stdout
    device = (project / "devices/scanner.py").read_text()
    assert '@router.stream("scanner"' in device and "cosalette.Stream[Reading]" in device
    adapters = (project / "adapters/ble.py").read_text()
    assert "@adapter(StreamablePort[Reading], fake=True)" in adapters
    assert "[devices.scanner]" not in (project / "settings.toml").read_text()
    record = json.loads((project / ".cosactl.json").read_text())["added"]
    assert {k: record[-1][k] for k in ("archetype", "name", "options", "settings")} == {
        "archetype": "stream",
        "name": "scanner",
        "options": {"adapter": "ble"},
        "settings": None,  # a stream has no [devices.scanner] section
    }
    assert sorted(record[-1]["files"]) == [
        "adapters/ble.py",
        "devices/scanner.py",
        "tests/test_scanner.py",
    ]

    tests = cosactl("test", "-q", "-p", "no:cacheprovider", cwd=project)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "5 passed" in tests.stdout  # the project's own two tests and the stream's three

    manifest = json.loads(cosactl("manifest", "--format", "json", cwd=project).stdout)
    (entry,) = manifest["devices"]
    assert (entry["kind"], entry["port"]) == ("stream", "StreamablePort[Reading]")

    pytest.importorskip("ruff", reason="ruff is in the lint extra")
    for check in (["check", "."], ["format", "--check", "."]):
        lint = run(project, "-m", "ruff", *check, "--no-cache")
        assert lint.returncode == 0, lint.stdout + lint.stderr


def test_add_stream_twice_changes_nothing_and_pretend_writes_nothing(project: Path) -> None:
    assert cosactl("add", "stream", "scanner", "--adapter", "ble", cwd=project).returncode == 0
    before = snapshot(project)
    again = cosactl("add", "stream", "scanner", "--adapter", "ble", cwd=project)
    assert again.returncode == 0, again.stderr
    assert "identical devices/scanner.py" in again.stdout
    pretend = cosactl("add", "stream", "tracker", "--pretend", cwd=project)
    assert pretend.returncode == 0, pretend.stderr
    assert "create    adapters/tracker.py" in pretend.stdout  # the port defaults to NAME
    assert "nothing was written" in pretend.stdout
    assert snapshot(project) == before


def test_an_edited_stream_is_refused_unless_forced(project: Path) -> None:
    assert cosactl("add", "stream", "scanner", "--adapter", "ble", cwd=project).returncode == 0
    device = project / "devices/scanner.py"
    template = device.read_text()
    device.write_text(template.replace("maxsize=100", "maxsize=5"))
    refused = cosactl("add", "stream", "scanner", "--adapter", "ble", cwd=project)
    assert refused.returncode != 0 and "refusing to overwrite devices/scanner.py" in refused.stderr
    forced = cosactl("add", "stream", "scanner", "--adapter", "ble", "--force", cwd=project)
    assert forced.returncode == 0, forced.stderr
    assert device.read_text() == template


def test_an_adapter_feeding_another_stream_or_not_streamable_is_refused(project: Path) -> None:
    assert cosactl("add", "stream", "scanner", "--adapter", "ble", cwd=project).returncode == 0
    shared = cosactl("add", "stream", "second", "--adapter", "ble", cwd=project)
    assert shared.returncode != 0 and "already feeds the stream" in shared.stderr
    assert cosactl("add", "adapter", "magnet", cwd=project).returncode == 0
    polled = cosactl("add", "stream", "field", "--adapter", "magnet", cwd=project)
    assert polled.returncode != 0 and "no fake adapter for StreamablePort" in polled.stderr
    assert not (project / "devices/second.py").exists()
    assert not (project / "devices/field.py").exists()
