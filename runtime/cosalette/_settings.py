"""Application settings on pydantic-settings (to be completed: TOML source, errors)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MqttSettings(BaseModel):
    """Broker connection and topic layout (``MQTT__HOST=...`` in the environment)."""

    host: str = "localhost"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    username: str | None = None
    password: SecretStr | None = None
    client_id: str = ""
    reconnect_interval: Annotated[float, Field(gt=0)] = 5.0
    reconnect_max_interval: Annotated[float, Field(gt=0)] = 300.0
    topic_prefix: str = ""
    keepalive: Annotated[int, Field(ge=1)] = 60
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    tls: bool = False
    tls_ca_cert: str | None = None
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    tls_insecure: bool = False
    outbox_size: Annotated[int, Field(ge=0)] = 1000
    max_payload_bytes: Annotated[int, Field(ge=1)] = 65536


class LoggingSettings(BaseModel):
    """Log level, format and optional rotating file."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["json", "text"] = "json"
    file: str | None = None
    max_file_size_mb: Annotated[int, Field(ge=1)] = 10
    backup_count: Annotated[int, Field(ge=0)] = 3


class Settings(BaseSettings):
    """Root settings; applications subclass it and set their own ``env_prefix``."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
