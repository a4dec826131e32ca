"""Project discovery: a directory laid out by convention becomes one wired, runnable App."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from _project_files import write_project

from cosalette.project import NotAProjectError, Project, ProjectError, ProjectWarning, load_project
from cosalette.testing import AppHarness


def harness(project: Project) -> AppHarness:
    return AppHarness(app=project.app, settings=project.settings)


async def test_devices_and_routers_publish_on_their_topics(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path))
    async with harness(project) as h:
        h.assert_state("gas2mqtt/counter/state", {"bz": 1.0, "interval": 60.0})
        h.assert_state("gas2mqtt/garden/soil/state", {"moisture": 0.4})
        h.assert_subscribed("gas2mqtt/valve/set")
        await h.inject_command("valve", "open")
        h.assert_state("gas2mqtt/valve/state", {"state": "open"})
    assert project.app.name == "gas2mqtt"
    assert project.app.version == "0.3.0"
    assert project.app.description == "Gas meter to MQTT"


async def test_fake_adapter_is_used_under_dry_run(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path), dry_run=True)
    async with harness(project) as h:
        h.assert_state("counter", {"bz": -7.5, "interval": 60.0})


async def test_a_port_with_only_a_fake_uses_it_in_both_modes(tmp_path: Path) -> None:
    magnet = """\
        from typing import Protocol
        from cosalette.project import adapter

        class MagnetometerPort(Protocol):
            def read_bz(self) -> float: ...

        @adapter(MagnetometerPort, fake=True)
        class FakeMagnetometer:
            def read_bz(self) -> float:
                return 42.0
        """
    root = write_project(tmp_path, {"adapters/magnetometer.py": magnet})
    for dry_run in (False, True):
        project = load_project(root, dry_run=dry_run)
        async with harness(project) as h:
            h.assert_state("counter", {"bz": 42.0, "interval": 60.0})


async def test_device_config_is_read_from_settings_toml_and_injected(tmp_path: Path) -> None:
    settings = """\
        [app]
        name = "gas2mqtt"

        [devices.counter]
        interval = 5
        factor = 3
        """
    project = load_project(write_project(tmp_path, {"settings.toml": settings}))
    assert project.settings.devices.counter.interval == 5.0  # type: ignore[attr-defined]
    async with harness(project) as h:
        h.assert_state("counter", {"bz": 3.0, "interval": 5.0}, count=1)
        await h.advance_time(5)
        assert len(h.messages_for("gas2mqtt/counter/state")) == 1  # OnChange: same reading
    assert project.device_configs["counter"].__name__ == "CounterConfig"


def test_environment_beats_dotenv_beats_settings_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path, {".env": "GAS2MQTT_DEVICES__COUNTER__INTERVAL=7\n"})
    assert load_project(root).settings.devices.counter.interval == 7.0  # type: ignore[attr-defined]
    monkeypatch.setenv("GAS2MQTT_DEVICES__COUNTER__INTERVAL", "5")
    monkeypatch.setenv("GAS2MQTT_MQTT__HOST", "broker.lan")
    settings = load_project(root).settings
    assert settings.devices.counter.interval == 5.0  # type: ignore[attr-defined]
    assert settings.mqtt.host == "broker.lan"


def test_env_prefix_replaces_non_alphanumerics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path, {"settings.toml": '[app]\nname = "gas-2.mqtt"\n'})
    monkeypatch.setenv("GAS_2_MQTT_DEVICES__COUNTER__FACTOR", "4")
    assert load_project(root).settings.devices.counter.factor == 4.0  # type: ignore[attr-defined]


def test_app_options_come_from_the_app_section(tmp_path: Path) -> None:
    settings = """\
        [app]
        name = "gas2mqtt"
        heartbeat_interval = false
        max_restarts = 7
        """
    app = load_project(write_project(tmp_path, {"settings.toml": settings})).app
    assert app._heartbeat_interval is None
    assert app._max_restarts == 7


def test_two_loads_are_independent(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    sentinel = types.ModuleType("devices")
    sys.modules["devices"] = sentinel
    try:
        first, second = load_project(root), load_project(root)
        assert sys.modules["devices"] is sentinel  # the caller's module is restored
    finally:
        del sys.modules["devices"]
    assert first.app is not second.app
    one, two = first.module("devices.counter"), second.module("devices.counter")
    assert one is not two
    assert one.CounterConfig is not two.CounterConfig
    assert "adapters.magnetometer" not in sys.modules
    second.app.include_router(two.router, prefix="extra")
    assert [r.name for r in first.app.telemetry_registrations] == ["counter", "garden/soil"]


def test_project_modules_import_each_other_absolutely_and_relatively(tmp_path: Path) -> None:
    files = {
        "devices/_scale.py": "FACTOR = 10\n",
        "devices/meter.py": """\
            import cosalette
            from adapters.magnetometer import MagnetometerPort
            from ._scale import FACTOR

            router = cosalette.Router()

            @router.telemetry("meter", interval=1)
            async def meter(magnet: MagnetometerPort) -> dict[str, object]:
                return {"value": magnet.read_bz() * FACTOR}
            """,
    }
    project = load_project(write_project(tmp_path, files))
    assert project.module("devices.meter").FACTOR == 10
    project.check()


def test_router_prefix_defaults_to_the_file_name_unless_set(tmp_path: Path) -> None:
    files = {
        "routers/cellar.py": """\
            import cosalette
            from devices.valve import router as valve_router

            router = cosalette.Router(prefix="basement")

            @router.telemetry("temp", interval=10)
            async def temp() -> dict[str, object]:
                return {"c": 12}
            """,
    }
    project = load_project(write_project(tmp_path, files))
    names = sorted(r.name for r in project.app._regs.all())
    # valve's router was imported into routers/cellar.py, so it moves under that prefix
    assert names == ["basement/temp", "cellar/valve", "counter", "garden/soil"]
    soil = next(r for r in project.app.telemetry_registrations if r.name == "garden/soil")
    assert soil.tags == ("outdoor",)


def test_a_router_adapter_overrides_the_marked_one(tmp_path: Path) -> None:
    files = {
        "routers/lab.py": """\
            import cosalette
            from adapters.magnetometer import MagnetometerPort

            class LabMagnetometer:
                def read_bz(self) -> float:
                    return 0.0

            router = cosalette.Router(adapters={MagnetometerPort: LabMagnetometer})
            """,
    }
    project = load_project(write_project(tmp_path, files))
    (entry,) = project.app.adapters.values()
    assert getattr(entry.impl, "__name__", None) == "LabMagnetometer"


def test_check_binds_without_building_adapters(tmp_path: Path) -> None:
    magnet = """\
        from typing import Protocol
        from cosalette.project import adapter

        class MagnetometerPort(Protocol):
            def read_bz(self) -> float: ...

        @adapter(MagnetometerPort)
        class Magnetometer:
            def __init__(self) -> None:
                raise RuntimeError("opened the hardware")

            def read_bz(self) -> float:
                return 1.0
        """
    load_project(write_project(tmp_path, {"adapters/magnetometer.py": magnet})).check()


# --------------------------------------------------------------------------- errors


def _error(root: Path, **kwargs: object) -> ProjectError:
    with pytest.raises(ProjectError) as info:
        project = load_project(root, **kwargs)  # type: ignore[arg-type]
        project.check()
    return info.value


def test_not_a_project_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(NotAProjectError, match=r"no settings\.toml.*cosactl new NAME"):
        load_project(tmp_path)


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    bad = "import cosalette\n\nrouter = cosalette.Router(\n\ndef broken(:\n"
    error = _error(write_project(tmp_path, {"devices/broken.py": bad}))
    assert error.file == tmp_path / "devices" / "broken.py"
    assert error.line is not None and error.line >= 3
    assert f"devices/broken.py:{error.line}: cannot import devices.broken: SyntaxError" in str(
        error
    )


def test_exception_at_import_names_the_failing_line(tmp_path: Path) -> None:
    bad = "import cosalette\n\nrouter = cosalette.Router()\nRATIO = 1 / 0\n"
    error = _error(write_project(tmp_path, {"devices/broken.py": bad}))
    assert "devices/broken.py:4: cannot import devices.broken: ZeroDivisionError" in str(error)
    assert (error.file, error.line) == (tmp_path / "devices" / "broken.py", 4)


def test_missing_sibling_module_names_the_import_line(tmp_path: Path) -> None:
    bad = "import cosalette\nfrom adapters.nothing import Port\n"
    error = _error(write_project(tmp_path, {"devices/broken.py": bad}))
    assert "devices/broken.py:2: cannot import devices.broken: ModuleNotFoundError" in str(error)


def test_two_devices_with_one_name_name_both_definitions(tmp_path: Path) -> None:
    twin = """\
        import cosalette

        router = cosalette.Router()


        @router.telemetry("counter", interval=5)
        async def other_counter() -> dict[str, object]:
            return {}
        """
    error = _error(write_project(tmp_path, {"devices/twin.py": twin}))
    text = str(error)
    assert "device name 'counter' is defined twice" in text
    assert "devices/twin.py:7:" in text
    assert "devices/counter.py:21" in text  # the def line of the first counter


def test_unprovided_dependency_names_the_handler_def_line(tmp_path: Path) -> None:
    needy = """\
        import cosalette

        class Thermometer:
            pass

        router = cosalette.Router()

        @router.telemetry("needy", interval=5)
        async def needy(thermo: Thermometer) -> dict[str, object]:
            return {}
        """
    error = _error(write_project(tmp_path, {"devices/needy.py": needy}))
    assert (error.file, error.line) == (tmp_path / "devices" / "needy.py", 9)
    assert "nothing provides Thermometer" in str(error)


def test_bad_setting_ref_names_the_handler(tmp_path: Path) -> None:
    odd = """\
        import cosalette

        router = cosalette.Router()

        @router.telemetry("odd", interval=cosalette.setting_ref("devices.odd.period"))
        async def odd() -> dict[str, object]:
            return {}
        """
    error = _error(write_project(tmp_path, {"devices/odd.py": odd}))
    assert (error.file, error.line) == (tmp_path / "devices" / "odd.py", 6)
    assert "period" in str(error)


def test_wrong_settings_type_names_settings_toml_line(tmp_path: Path) -> None:
    settings = '[app]\nname = "gas2mqtt"\n\n[devices.counter]\ninterval = "soon"\n'
    error = _error(write_project(tmp_path, {"settings.toml": settings}))
    assert "settings.toml:5: devices.counter.interval:" in str(error)
    assert error.line == 5


def test_typo_in_a_device_section_is_an_error_naming_the_key(tmp_path: Path) -> None:
    settings = '[app]\nname = "gas2mqtt"\n\n[devices.counter]\nintervall = 5\n'
    error = _error(write_project(tmp_path, {"settings.toml": settings}))
    assert "settings.toml:5: devices.counter.intervall: unknown setting" in str(error)
    assert "CounterConfig has: factor, interval" in str(error)


def test_bad_app_section_names_the_line(tmp_path: Path) -> None:
    settings = '[app]\nname = "gas2mqtt"\nmax_restarts = "many"\n'
    error = _error(write_project(tmp_path, {"settings.toml": settings}))
    assert "settings.toml:3: app.max_restarts:" in str(error)
    missing = _error(write_project(tmp_path, {"settings.toml": '[app]\nversion = "1"\n'}))
    assert "app.name: Field required" in str(missing)


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    error = _error(write_project(tmp_path, {"settings.toml": '[app]\nname = "x\n'}))
    assert "settings.toml:2: invalid TOML" in str(error)


def test_two_config_models_in_one_device_module_is_an_error(tmp_path: Path) -> None:
    double = """\
        from cosalette.project import DeviceConfig

        class AConfig(DeviceConfig):
            a: int = 1

        class BConfig(DeviceConfig):
            b: int = 2
        """
    error = _error(write_project(tmp_path, {"devices/double.py": double}))
    assert "devices/double.py:6:" in str(error)
    assert "AConfig (line 3) and BConfig" in str(error)


def test_section_without_a_device_is_a_warning(tmp_path: Path) -> None:
    settings = '[app]\nname = "gas2mqtt"\n\n[devices.heater]\npower = 3\n'
    with pytest.warns(ProjectWarning, match=r"\[devices\.heater\] has no device") as caught:
        project = load_project(write_project(tmp_path, {"settings.toml": settings}))
    (warning,) = project.warnings
    assert isinstance(warning, ProjectWarning)
    assert "settings.toml:4: [devices.heater] has no device 'heater'" in str(warning)
    assert (warning.file, warning.line) == (tmp_path / "settings.toml", 4)
    assert [type(w.message) for w in caught] == [ProjectWarning]


def test_two_real_adapters_for_one_port_name_both(tmp_path: Path) -> None:
    other = """\
        from adapters.magnetometer import MagnetometerPort
        from cosalette.project import adapter

        @adapter(MagnetometerPort)
        class OtherMagnetometer:
            def read_bz(self) -> float:
                return 2.0
        """
    error = _error(write_project(tmp_path, {"adapters/other.py": other}))
    assert "two real adapters for MagnetometerPort" in str(error)
    assert "adapters/other.py:5:" in str(error)
    assert "adapters/magnetometer.py:11" in str(error)


def test_adapter_needing_something_unprovided_names_the_class(tmp_path: Path) -> None:
    magnet = """\
        from typing import Protocol
        from cosalette.project import adapter

        class Bus:
            pass

        class MagnetometerPort(Protocol):
            def read_bz(self) -> float: ...

        @adapter(MagnetometerPort)
        class Magnetometer:
            def __init__(self, bus: Bus) -> None:
                self.bus = bus

            def read_bz(self) -> float:
                return 1.0
        """
    error = _error(write_project(tmp_path, {"adapters/magnetometer.py": magnet}))
    assert (error.file, error.line) == (tmp_path / "adapters" / "magnetometer.py", 11)
    assert "'bus: Bus' cannot be injected" in str(error)


def test_required_device_setting_missing_says_where_to_set_it(tmp_path: Path) -> None:
    strict = """\
        from cosalette.project import DeviceConfig

        class StrictConfig(DeviceConfig):
            port: str
        """
    error = _error(write_project(tmp_path, {"devices/strict.py": strict}))
    assert "devices.strict" in str(error)
    assert "GAS2MQTT_DEVICES__STRICT" in str(error)


def test_check_follows_init_factories_by_their_return_type(tmp_path: Path) -> None:
    smooth = """\
        import cosalette

        class Smoother:
            def __init__(self, factor: float) -> None:
                self.factor = factor

        class Missing:
            pass

        def make_smoother() -> Smoother:
            raise RuntimeError("check() must not call an annotated init factory")

        def make_broken(missing: Missing) -> Smoother:
            return Smoother(1.0)

        router = cosalette.Router()

        @router.telemetry("smooth", interval=5, init=make_smoother)
        async def smooth(smoother: Smoother) -> dict[str, object]:
            return {"factor": smoother.factor}

        @router.telemetry("broken", interval=5, init=make_broken)
        async def broken(smoother: Smoother) -> dict[str, object]:
            return {}
        """
    error = _error(write_project(tmp_path, {"devices/smooth.py": smooth}))
    assert (error.file, error.line) == (tmp_path / "devices" / "smooth.py", 23)
    assert "init=" in str(error) and "Missing" in str(error)
