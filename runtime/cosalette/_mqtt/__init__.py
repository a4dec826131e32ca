"""MQTT port and its adapters (the real client is imported lazily)."""

from cosalette._mqtt.doubles import MockMqttClient, NullMqttClient
from cosalette._mqtt.port import (
    MessageCallback,
    MqttLifecycle,
    MqttMessageHandler,
    MqttPort,
    WillConfig,
)

__all__ = [
    "MessageCallback",
    "MockMqttClient",
    "MqttLifecycle",
    "MqttMessageHandler",
    "MqttPort",
    "NullMqttClient",
    "WillConfig",
]
