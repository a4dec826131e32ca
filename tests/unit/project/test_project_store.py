"""``[store]`` in a project's settings.toml: which store the app gets, where, and its errors."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from _project_files import write_project

from cosalette import JsonFileStore, MemoryStore, SqliteStore
from cosalette._project.store import DEV_STORE_DIR, SqliteOnStart, dev_store, read_store_section
from cosalette.project import ProjectError, format_manifest_table, load_project
from cosalette.testing._project import ProjectHarness, project_test_settings

KEEPER = """\
import cosalette

router = cosalette.Router()


@router.telemetry("keeper", interval=10)
async def keeper(store: cosalette.DeviceStore) -> dict[str, object]:
    count = int(str(store.get("count", 0))) + 1
    store["count"] = count
    return {"count": count}
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.chdir(tmp_path)  # messages show paths relative to the working directory
    monkeypatch.delenv("GAS2MQTT_STORE_PATH", raising=False)
    yield None
    for name in [n for n in sys.modules if n.partition(".")[0] in ("adapters", "devices")]:
        del sys.modules[name]


def _project(root: Path, store: str | None, *, device: bool = True) -> Path:
    settings = '[app]\nname = "gas2mqtt"\n' + (f"\n[store]\n{store}" if store is not None else "")
    files = {"settings.toml": settings}
    if device:
        files["devices/keeper.py"] = KEEPER
    return write_project(root / "gas2mqtt", files, base=False)


def _error(root: Path) -> ProjectError:
    with pytest.raises(ProjectError) as info:
        load_project(root)
    return info.value


async def _run_configured(root: Path) -> ProjectHarness:
    """Run the project with the store its settings.toml configures, for one cycle."""
    project = load_project(root, dry_run=True)
    harness = ProjectHarness(project=project, settings=project_test_settings(project))
    async with harness:
        harness.assert_state("keeper", {"count": 1})
    return harness


@pytest.mark.parametrize(
    ("body", "relative"),
    [
        ('backend = "json"\n', "state/store.json"),
        ("", "state/store.json"),
        ('backend = "json"\npath = "data/keep.json"\n', "data/keep.json"),
    ],
)
async def test_json_store_is_a_file_under_the_project(
    tmp_path: Path, body: str, relative: str
) -> None:
    root = _project(tmp_path, body)
    project = load_project(root)
    store = project.app.store
    assert isinstance(store, JsonFileStore)
    assert store.path == root / relative
    assert not project.app.store_is_default
    harness = await _run_configured(root)
    assert JsonFileStore(root / relative).load("keeper") == {"count": 1}
    assert isinstance(harness.store, JsonFileStore) and harness.store.path == store.path


def test_an_absolute_path_is_used_as_it_is(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "gas.json"
    project = load_project(_project(tmp_path, f'path = "{target.as_posix()}"\n'))
    assert isinstance(project.app.store, JsonFileStore)
    assert project.app.store.path == target


async def test_sqlite_store_opens_when_the_app_starts_not_when_the_project_loads(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path, 'backend = "sqlite"\n')
    project = load_project(root)
    project.check()
    assert project.manifest()["store"] == {
        "backend": "SqliteStore",
        "path": "state/store.sqlite3",
        "default": False,
    }
    assert not (root / "state").exists(), "loading, checking and describing create nothing"
    harness = await _run_configured(root)
    store = harness.store
    assert isinstance(store, SqliteStore)
    assert store.path == root / "state" / "store.sqlite3"
    assert store.load("keeper") == {"count": 1}
    store.close()


def test_memory_and_none_backends(tmp_path: Path) -> None:
    memory = load_project(_project(tmp_path / "a", 'backend = "memory"\n'))
    assert isinstance(memory.app.store, MemoryStore)
    memory.check()
    none = load_project(_project(tmp_path / "b", 'backend = "none"\n', device=False))
    assert none.app.store is None
    assert none.manifest()["store"] is None
    assert "Store: none" in format_manifest_table(none.manifest())


def test_none_backend_with_a_device_that_needs_a_store_names_the_handler(
    tmp_path: Path,
) -> None:
    project = load_project(_project(tmp_path, 'backend = "none"\n'))
    with pytest.raises(ProjectError) as info:
        project.check()
    message = str(info.value)
    assert message.startswith("gas2mqtt/devices/keeper.py:7: ")
    assert 'settings.toml has [store] backend = "none"' in message


def test_without_store_the_app_default_store_is_used(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path, None))
    assert project.store_section is None
    assert project.app.store_is_default
    assert isinstance(project.app.store, JsonFileStore)
    entry = project.manifest()["store"]
    assert entry == {
        "backend": "JsonFileStore",
        "path": "$GAS2MQTT_STORE_PATH or $XDG_STATE_HOME/gas2mqtt/store.json",
        "default": True,
    }


def test_default_store_manifest_is_the_same_on_every_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, None)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "one"))
    first = load_project(root).manifest()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "two"))
    monkeypatch.setenv("GAS2MQTT_STORE_PATH", str(tmp_path / "three.json"))
    assert load_project(root).manifest() == first


def test_store_path_variable_replaces_the_configured_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, 'backend = "json"\npath = "state/store.json"\n')
    monkeypatch.setenv("GAS2MQTT_STORE_PATH", str(tmp_path / "volume" / "gas.json"))
    project = load_project(root)
    assert isinstance(project.app.store, JsonFileStore)
    assert project.app.store.path == tmp_path / "volume" / "gas.json"
    assert project.manifest()["store"]["path"] == str(tmp_path / "volume" / "gas.json")
    monkeypatch.setenv("GAS2MQTT_STORE_PATH", str(root / "var" / "gas.json"))
    assert load_project(root).manifest()["store"]["path"] == "var/gas.json"


def test_manifest_shows_the_configured_path_relative_to_the_project(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path, 'path = "var/keep.json"\n'))
    table = format_manifest_table(project.manifest())
    assert "Store: JsonFileStore at var/keep.json" in table
    assert str(tmp_path) not in table


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (
            'backend = "yaml"\n',
            5,
            "store.backend: unknown backend 'yaml'; use json, sqlite, memory or none",
        ),
        ('backend = "json"\npaht = "x.json"\n', 6, "store.paht: unknown setting; valid: "),
        ("path = 3\n", 5, "store.path: Input should be a valid string"),
        ('path = ""\n', 5, "store.path: Value error, must be a file path"),
    ],
)
def test_store_errors_name_the_line_and_the_key(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    error = _error(_project(tmp_path, body))
    assert error.file == tmp_path / "gas2mqtt" / "settings.toml"
    assert error.line == line
    assert str(error).startswith(f"gas2mqtt/settings.toml:{line}: {message}")


def test_store_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"settings.toml": 'store = "json"\n[app]\nname = "g"\n'})
    error = _error(root)
    assert (error.line, str(error)) == (1, "settings.toml:1: store must be a table ([store])")


def test_store_is_a_known_table(tmp_path: Path) -> None:
    error = _error(_project(tmp_path, 'backend = "json"\n\n[stroe]\nx = 1\n'))
    assert str(error).startswith("gas2mqtt/settings.toml:7: [stroe] is not a known table")
    assert "[app], [devices], [health], [homeassistant], [logging], [mqtt], [store]" in str(error)


def test_a_store_passed_to_load_project_replaces_the_configured_one(tmp_path: Path) -> None:
    root = _project(tmp_path, 'backend = "sqlite"\n')
    mine = MemoryStore()
    project = load_project(root, store=mine)
    assert project.app.store is mine
    assert project.store_section is not None and project.store_section.backend == "sqlite"
    assert load_project(root, store=None).app.store is None
    bad = _project(tmp_path / "bad", 'backend = "yml"\n')
    with pytest.raises(ProjectError, match=r"store\.backend"):
        load_project(bad, store=mine)  # [store] is still checked


@pytest.mark.parametrize(
    ("body", "kind", "file"),
    [
        (None, JsonFileStore, "store.json"),
        ('path = "state/prod.json"\n', JsonFileStore, "store.json"),
        ('backend = "sqlite"\npath = "prod.db"\n', SqliteOnStart, "store.sqlite3"),
        ('backend = "memory"\n', MemoryStore, None),
        ('backend = "none"\n', type(None), None),
    ],
)
def test_dev_store_keeps_the_backend_in_the_dev_folder(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    body: str | None,
    kind: type,
    file: str | None,
) -> None:
    monkeypatch.setenv("GAS2MQTT_STORE_PATH", str(tmp_path / "production.json"))
    root = _project(tmp_path, body)
    data = {"store": tomllib.loads(body)} if body else {}
    section = read_store_section(data, body or "", root / "settings.toml")
    store: Any = dev_store(root, section)
    if file is not None:
        assert store.path == root / DEV_STORE_DIR / file
    assert isinstance(store, kind)
    assert Path(".cosactl/dev") == DEV_STORE_DIR
