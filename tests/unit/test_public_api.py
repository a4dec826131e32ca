"""The names programs import, and the promise that ``import cosalette`` stays cheap."""

import importlib
import subprocess
import sys
import textwrap

import pytest

import cosalette

MUST_IMPORT = [
    "App",
    "Router",
    "AppContext",
    "DeviceContext",
    "SubEntityContext",
    "Settings",
    "MqttSettings",
    "LoggingSettings",
    "SettingRef",
    "setting_ref",
    "OnChange",
    "Every",
    "AllStrategy",
    "AnyStrategy",
    "PublishStrategy",
    "FixedBackoff",
    "LinearBackoff",
    "ExponentialBackoff",
    "BackoffStrategy",
    "CircuitBreaker",
    "CronSchedule",
    "TriggerPayload",
    "Stream",
    "StreamablePort",
    "HealthCheckable",
    "AdapterHealthStatus",
    "DeviceStore",
    "Store",
    "MemoryStore",
    "JsonFileStore",
    "SqliteStore",
    "NullStore",
    "SaveOnPublish",
    "SaveOnChange",
    "SaveOnShutdown",
    "AllSavePolicy",
    "AnySavePolicy",
    "Pt1Filter",
    "MedianFilter",
    "OneEuroFilter",
    "Filter",
    "MockMqttClient",
    "NullMqttClient",
    "MqttClient",
    "MqttPort",
    "WillConfig",
    "ErrorPayload",
    "build_error_payload",
    "ClockPort",
    "SystemClock",
    "JsonFormatter",
    "configure_logging",
    "build_registry_snapshot",
    "format_registry_json",
    "format_registry_table",
]

# Further names documented in spec/api-reference.txt.
REFERENCE_NAMES = [
    "Command",
    "DeviceStatus",
    "ErrorPublisher",
    "HealthReporter",
    "HeartbeatPayload",
    "MessageCallback",
    "MqttLifecycle",
    "MqttMessageHandler",
    "PersistPolicy",
    "build_will_config",
]


@pytest.mark.parametrize("name", MUST_IMPORT + REFERENCE_NAMES)
def test_name_imports_from_cosalette(name: str) -> None:
    value = getattr(cosalette, name)
    assert value is not None
    exec(f"from cosalette import {name}", {})


def test_documented_names_are_in_dunder_all() -> None:
    missing = sorted(set(MUST_IMPORT + REFERENCE_NAMES) - set(cosalette.__all__))
    assert missing == []


def test_mock_mqtt_client_is_the_same_class_everywhere() -> None:
    from cosalette.testing import MockMqttClient

    assert cosalette.MockMqttClient is MockMqttClient


def test_testing_kit_names() -> None:
    testing = importlib.import_module("cosalette.testing")
    for name in ("AppHarness", "FakeClock", "MockMqttClient", "make_settings", "settle"):
        assert hasattr(testing, name), name


def test_mqtt_markers() -> None:
    from cosalette.mqtt import Payload, Topic

    assert Payload() is not None and Topic() is not None


def test_schema_consumer() -> None:
    from cosalette.schema import consumer

    assert callable(consumer)


@pytest.mark.parametrize(
    "module", ["cosalette.filters", "cosalette.strategies", "cosalette.stores", "cosalette.persist"]
)
def test_submodule_imports(module: str) -> None:
    importlib.import_module(module)


def test_strategies_and_filters_submodules_export_the_same_objects() -> None:
    from cosalette import filters, strategies

    assert strategies.OnChange is cosalette.OnChange
    assert strategies.Every is cosalette.Every
    assert filters.Pt1Filter is cosalette.Pt1Filter


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        cosalette.DefinitelyNotAName  # noqa: B018


def test_import_is_cheap() -> None:
    code = textwrap.dedent(
        """
        import sys
        import cosalette
        app = cosalette.App("bridge")

        @app.telemetry("t", interval=5)
        async def t() -> dict:
            return {}

        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"aiomqtt", "paho", "click"})
        print(",".join(heavy))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
