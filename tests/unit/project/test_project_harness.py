"""The testing kit over a project: the harness function and the ``project_harness`` fixture."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _project_files import write_project

from cosalette import JsonFileStore, MemoryStore
from cosalette.project import ProjectError
from cosalette.testing._project import ProjectHarness, find_project_root, project_harness


@pytest.fixture
def clean_modules() -> object:
    """Drop the project modules a shared load leaves in sys.modules."""
    yield None
    for name in [
        n for n in sys.modules if n.partition(".")[0] in ("adapters", "devices", "routers")
    ]:
        del sys.modules[name]


async def test_harness_runs_the_project_with_fakes(tmp_path: Path, clean_modules: object) -> None:
    harness = project_harness(write_project(tmp_path))
    assert isinstance(harness, ProjectHarness)
    async with harness:
        harness.assert_state("counter", {"bz": -7.5, "interval": 60.0})
        assert type(harness.adapter("MagnetometerPort")).__name__ == "FakeMagnetometer"
        await harness.inject_command("valve", {"open": True})
        harness.assert_published("gas2mqtt/valve/state")
        await harness.advance_time(30)
        assert len(harness.messages_for("gas2mqtt/garden/soil/state")) == 2


async def test_settings_come_from_settings_toml_and_overrides_not_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_modules: object
) -> None:
    monkeypatch.setenv("GAS2MQTT_DEVICES__COUNTER__FACTOR", "100")
    harness = project_harness(write_project(tmp_path), devices__counter__interval=5)
    assert harness.settings.devices.counter.interval == 5.0  # type: ignore[attr-defined]
    async with harness:
        harness.assert_state("counter", {"bz": -7.5, "interval": 5.0})


def test_bad_override_is_a_project_error(tmp_path: Path, clean_modules: object) -> None:
    with pytest.raises(ProjectError, match=r"devices\.counter\.interval"):
        project_harness(write_project(tmp_path), devices__counter__interval="soon")


async def test_use_adapter_puts_a_test_double_in_place(
    tmp_path: Path, clean_modules: object
) -> None:
    harness = project_harness(write_project(tmp_path))
    from adapters.magnetometer import FakeMagnetometer, MagnetometerPort  # type: ignore[import-not-found]

    assert harness.project.module("adapters.magnetometer").MagnetometerPort is MagnetometerPort
    fake = FakeMagnetometer()
    fake.bz = 2.0
    harness.use_adapter(MagnetometerPort, fake)
    async with harness:
        harness.assert_state("counter", {"bz": 2.0, "interval": 60.0})
        assert harness.adapter(MagnetometerPort) is fake


def test_adapter_lookup_errors_are_clear(tmp_path: Path, clean_modules: object) -> None:
    harness = project_harness(write_project(tmp_path))
    with pytest.raises(LookupError, match="start the harness first"):
        harness.adapter("MagnetometerPort")
    with pytest.raises(LookupError, match="ports: MagnetometerPort"):
        harness.use_adapter("Thermometer", object())


def test_project_root_is_found_above_the_start(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    (root / "tests" / "deep").mkdir(parents=True)
    assert find_project_root(root / "tests" / "deep") == root
    assert find_project_root(Path("/")) is None


def test_fixture_in_a_projects_own_tests(tmp_path: Path) -> None:
    """What ``cosactl test`` runs: pytest inside the project, with the project_harness fixture."""
    root = write_project(
        tmp_path,
        {
            "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
            "tests/test_counter.py": """\
                from adapters.magnetometer import FakeMagnetometer, MagnetometerPort


                async def test_counter_publishes_the_fake_reading(project_harness):
                    async with project_harness as harness:
                        harness.assert_state("counter", {"bz": -7.5, "interval": 60.0})
                        assert isinstance(harness.adapter(MagnetometerPort), FakeMagnetometer)


                async def test_a_fresh_app_per_test(project_harness):
                    fake = FakeMagnetometer()
                    fake.bz = 1.5
                    project_harness.use_adapter(MagnetometerPort, fake)
                    async with project_harness as harness:
                        harness.assert_state("counter", {"bz": 1.5, "interval": 60.0})
                """,
        },
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:asyncio", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, textwrap.indent(result.stdout + result.stderr, "  ")
    assert "2 passed" in result.stdout


KEEPER = """\
import cosalette

router = cosalette.Router()


@router.telemetry("keeper", interval=10)
async def keeper(store: cosalette.DeviceStore) -> dict[str, object]:
    count = int(str(store.get("count", 0))) + 1
    store["count"] = count
    return {"count": count}
"""


def _keeper_project(root: Path) -> Path:
    settings = '[app]\nname = "gas2mqtt"\n\n[store]\nbackend = "json"\npath = "state/store.json"\n'
    return write_project(root, {"settings.toml": settings, "devices/keeper.py": KEEPER}, base=False)


async def test_harness_keeps_state_in_a_memory_store_not_the_projects_file(
    tmp_path: Path, clean_modules: object
) -> None:
    root = _keeper_project(tmp_path)
    harness = project_harness(root)
    assert isinstance(harness.store, MemoryStore)
    async with harness:
        harness.assert_state("keeper", {"count": 1})
        await harness.advance_time(20)
        harness.assert_state("keeper", {"count": 3})
    assert harness.store._data["keeper"] == {"count": 3}
    assert not (root / "state").exists(), "tests never write the project's state files"


async def test_harness_store_can_be_seeded_and_each_harness_has_its_own(
    tmp_path: Path, clean_modules: object
) -> None:
    root = _keeper_project(tmp_path)
    seeded = project_harness(root)
    seeded.store._data["keeper"] = {"count": 41}
    async with seeded:
        seeded.assert_state("keeper", {"count": 42})
    fresh = project_harness(root)
    assert fresh.store is not seeded.store
    async with fresh:
        fresh.assert_state("keeper", {"count": 1})


async def test_harness_store_can_be_chosen(tmp_path: Path, clean_modules: object) -> None:
    root = _keeper_project(tmp_path)
    chosen = JsonFileStore(tmp_path / "test-store.json")
    harness = project_harness(root, store=chosen)
    assert harness.store is chosen
    async with harness:
        harness.assert_state("keeper", {"count": 1})
    assert JsonFileStore(tmp_path / "test-store.json").load("keeper") == {"count": 1}
    off = project_harness(write_project(tmp_path / "plain"), store=None)
    assert off.store is None and off.app.store is None


def test_fixture_gives_a_project_a_memory_store_or_the_one_it_chooses(tmp_path: Path) -> None:
    """``cosactl test``: the fixture's harness saves into ``harness.store._data``, unless the
    tests define a ``project_store`` fixture."""
    root = _keeper_project(tmp_path)
    write_project(
        root,
        {
            "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
            "tests/test_keeper.py": """\
                from cosalette import MemoryStore


                async def test_keeper_saves_its_count(project_harness):
                    assert isinstance(project_harness.store, MemoryStore)
                    async with project_harness as harness:
                        await harness.advance_time(10)
                    assert harness.store._data["keeper"] == {"count": 2}
                """,
            "tests/test_keeper_on_disk.py": """\
                import pytest
                from cosalette import JsonFileStore


                @pytest.fixture
                def project_store(tmp_path):
                    return JsonFileStore(tmp_path / "store.json")


                async def test_a_project_store_fixture_chooses_the_store(project_harness, tmp_path):
                    async with project_harness as harness:
                        harness.assert_state("keeper", {"count": 1})
                    assert JsonFileStore(tmp_path / "store.json").load("keeper") == {"count": 1}
                """,
        },
        base=False,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:asyncio", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, textwrap.indent(result.stdout + result.stderr, "  ")
    assert "2 passed" in result.stdout
    assert not (root / "state").exists()
