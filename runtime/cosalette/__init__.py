"""cosalette: a few decorated async functions become an IoT-to-MQTT bridge daemon.

Public names are loaded on first use, so ``import cosalette`` stays cheap and never pulls in
the MQTT client library or click until a daemon actually runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'cosalette' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from cosalette._app.app import App, LifespanFunc
    from cosalette._app.registration import IntervalSpec, NotSupportedYetError
    from cosalette._app.router import Router
    from cosalette._clock import ClockPort, SystemClock
    from cosalette._context import AppContext, Command, DeviceContext, SubEntityContext
    from cosalette._contract.introspect import (
        build_registry_snapshot,
        format_registry_json,
        format_registry_table,
    )
    from cosalette._cron import CronSchedule
    from cosalette._errors import ErrorPayload, ErrorPublisher, build_error_payload
    from cosalette._filters import Filter, MedianFilter, OneEuroFilter, Pt1Filter
    from cosalette._health import (
        AdapterHealthStatus,
        DeviceStatus,
        HealthCheckable,
        HealthReporter,
        HeartbeatPayload,
        build_will_config,
    )
    from cosalette._logging import JsonFormatter, configure_logging
    from cosalette._mqtt.client import MqttClient
    from cosalette._mqtt.doubles import MockMqttClient, NullMqttClient
    from cosalette._mqtt.port import (
        MessageCallback,
        MqttLifecycle,
        MqttMessageHandler,
        MqttPort,
        WillConfig,
    )
    from cosalette._persistence import (
        AllSavePolicy,
        AnySavePolicy,
        DeviceStore,
        JsonFileStore,
        MemoryStore,
        NullStore,
        PersistPolicy,
        SaveOnChange,
        SaveOnPublish,
        SaveOnShutdown,
        SqliteStore,
        Store,
    )
    from cosalette._retry import (
        BackoffStrategy,
        CircuitBreaker,
        ExponentialBackoff,
        FixedBackoff,
        LinearBackoff,
    )
    from cosalette._settings import (
        LoggingSettings,
        MqttSettings,
        SettingRef,
        Settings,
        SettingsError,
        setting_ref,
    )
    from cosalette._strategies import AllStrategy, AnyStrategy, Every, OnChange, PublishStrategy
    from cosalette._streams import Stream, StreamablePort
    from cosalette._trigger import TriggerPayload
