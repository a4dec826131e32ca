"""cosalette: a few decorated async functions become an IoT-to-MQTT bridge daemon.

Public names are loaded on first use, so ``import cosalette`` stays cheap and never pulls in
the MQTT client library or click until a daemon actually runs.
"""

import importlib as _importlib
import typing as _typing

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # application
    "App": "cosalette._app.app",
    "Router": "cosalette._app.router",
    "LifespanFunc": "cosalette._app.app",
    "IntervalSpec": "cosalette._app.registration",
    "NotSupportedYetError": "cosalette._app.registration",
    # contexts
    "AppContext": "cosalette._context",
    "DeviceContext": "cosalette._context",
    "SubEntityContext": "cosalette._context",
    "Command": "cosalette._context",
    # settings and logging
    "Settings": "cosalette._settings",
    "MqttSettings": "cosalette._settings",
    "LoggingSettings": "cosalette._settings",
    "SettingRef": "cosalette._settings",
    "setting_ref": "cosalette._settings",
    "SettingsError": "cosalette._settings",
    "JsonFormatter": "cosalette._logging",
    "configure_logging": "cosalette._logging",
    # mqtt
    "MqttPort": "cosalette._mqtt.port",
    "MqttLifecycle": "cosalette._mqtt.port",
    "MqttMessageHandler": "cosalette._mqtt.port",
    "MessageCallback": "cosalette._mqtt.port",
    "WillConfig": "cosalette._mqtt.port",
    "MockMqttClient": "cosalette._mqtt.doubles",
    "NullMqttClient": "cosalette._mqtt.doubles",
    "MqttClient": "cosalette._mqtt.client",
    # errors and health
    "ErrorPayload": "cosalette._errors",
    "ErrorPublisher": "cosalette._errors",
    "StartupError": "cosalette._errors",
    "build_error_payload": "cosalette._errors",
    "DeviceStatus": "cosalette._health",
    "HeartbeatPayload": "cosalette._health",
    "HealthReporter": "cosalette._health",
    "HealthCheckable": "cosalette._health",
    "AdapterHealthStatus": "cosalette._health",
    "build_will_config": "cosalette._health",
    # clock
    "ClockPort": "cosalette._clock",
    "SystemClock": "cosalette._clock",
    # strategies and filters
    "PublishStrategy": "cosalette._strategies",
    "Every": "cosalette._strategies",
    "OnChange": "cosalette._strategies",
    "AllStrategy": "cosalette._strategies",
    "AnyStrategy": "cosalette._strategies",
    "Filter": "cosalette._filters",
    "Pt1Filter": "cosalette._filters",
    "MedianFilter": "cosalette._filters",
    "OneEuroFilter": "cosalette._filters",
    # retry, triggers, cron, streams
    "BackoffStrategy": "cosalette._retry",
    "ExponentialBackoff": "cosalette._retry",
    "LinearBackoff": "cosalette._retry",
    "FixedBackoff": "cosalette._retry",
    "CircuitBreaker": "cosalette._retry",
    "TriggerPayload": "cosalette._trigger",
    "CronSchedule": "cosalette._cron",
    "Stream": "cosalette._streams",
    "StreamablePort": "cosalette._streams",
    # persistence
    "Store": "cosalette._persistence",
    "DeviceStore": "cosalette._persistence",
    "MemoryStore": "cosalette._persistence",
    "JsonFileStore": "cosalette._persistence",
    "SqliteStore": "cosalette._persistence",
    "NullStore": "cosalette._persistence",
    "PersistPolicy": "cosalette._persistence",
    "SaveOnPublish": "cosalette._persistence",
    "SaveOnChange": "cosalette._persistence",
    "SaveOnShutdown": "cosalette._persistence",
    "AllSavePolicy": "cosalette._persistence",
    "AnySavePolicy": "cosalette._persistence",
    # introspection
    "build_registry_snapshot": "cosalette._contract.introspect",
    "format_registry_json": "cosalette._contract.introspect",
    "format_registry_table": "cosalette._contract.introspect",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> _typing.Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'cosalette' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if _typing.TYPE_CHECKING:
    from cosalette._app.app import (
        App as App,
        LifespanFunc as LifespanFunc,
    )
    from cosalette._app.registration import (
        IntervalSpec as IntervalSpec,
        NotSupportedYetError as NotSupportedYetError,
    )
    from cosalette._app.router import (
        Router as Router,
    )
    from cosalette._clock import (
        ClockPort as ClockPort,
        SystemClock as SystemClock,
    )
    from cosalette._context import (
        AppContext as AppContext,
        Command as Command,
        DeviceContext as DeviceContext,
        SubEntityContext as SubEntityContext,
    )
    from cosalette._contract.introspect import (
        build_registry_snapshot as build_registry_snapshot,
        format_registry_json as format_registry_json,
        format_registry_table as format_registry_table,
    )
    from cosalette._cron import (
        CronSchedule as CronSchedule,
    )
    from cosalette._errors import (
        ErrorPayload as ErrorPayload,
        ErrorPublisher as ErrorPublisher,
        StartupError as StartupError,
        build_error_payload as build_error_payload,
    )
    from cosalette._filters import (
        Filter as Filter,
        MedianFilter as MedianFilter,
        OneEuroFilter as OneEuroFilter,
        Pt1Filter as Pt1Filter,
    )
    from cosalette._health import (
        AdapterHealthStatus as AdapterHealthStatus,
        DeviceStatus as DeviceStatus,
        HealthCheckable as HealthCheckable,
        HealthReporter as HealthReporter,
        HeartbeatPayload as HeartbeatPayload,
        build_will_config as build_will_config,
    )
    from cosalette._logging import (
        JsonFormatter as JsonFormatter,
        configure_logging as configure_logging,
    )
    from cosalette._mqtt.client import (
        MqttClient as MqttClient,
    )
    from cosalette._mqtt.doubles import (
        MockMqttClient as MockMqttClient,
        NullMqttClient as NullMqttClient,
    )
    from cosalette._mqtt.port import (
        MessageCallback as MessageCallback,
        MqttLifecycle as MqttLifecycle,
        MqttMessageHandler as MqttMessageHandler,
        MqttPort as MqttPort,
        WillConfig as WillConfig,
    )
    from cosalette._persistence import (
        AllSavePolicy as AllSavePolicy,
        AnySavePolicy as AnySavePolicy,
        DeviceStore as DeviceStore,
        JsonFileStore as JsonFileStore,
        MemoryStore as MemoryStore,
        NullStore as NullStore,
        PersistPolicy as PersistPolicy,
        SaveOnChange as SaveOnChange,
        SaveOnPublish as SaveOnPublish,
        SaveOnShutdown as SaveOnShutdown,
        SqliteStore as SqliteStore,
        Store as Store,
    )
    from cosalette._retry import (
        BackoffStrategy as BackoffStrategy,
        CircuitBreaker as CircuitBreaker,
        ExponentialBackoff as ExponentialBackoff,
        FixedBackoff as FixedBackoff,
        LinearBackoff as LinearBackoff,
    )
    from cosalette._settings import (
        LoggingSettings as LoggingSettings,
        MqttSettings as MqttSettings,
        SettingRef as SettingRef,
        Settings as Settings,
        SettingsError as SettingsError,
        setting_ref as setting_ref,
    )
    from cosalette._strategies import (
        AllStrategy as AllStrategy,
        AnyStrategy as AnyStrategy,
        Every as Every,
        OnChange as OnChange,
        PublishStrategy as PublishStrategy,
    )
    from cosalette._streams import (
        Stream as Stream,
        StreamablePort as StreamablePort,
    )
    from cosalette._trigger import (
        TriggerPayload as TriggerPayload,
    )
