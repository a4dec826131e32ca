"""The sections of the root settings: ``[mqtt]``, ``[logging]``, ``[homeassistant]`` and
``[health]``, each a pydantic model with a description per field (shown by ``--help`` and the
manifest). :mod:`cosalette._settings` composes them into ``Settings``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from cosalette._health_check import (
    DEFAULT_BROKER_UNREACHABLE_LIMIT,
    DEFAULT_INTERVAL,
    default_stale_after,
)

__all__ = [
    "HealthSettings",
    "HomeAssistantSettings",
    "LoggingSettings",
    "MqttSettings",
    "doc_field",
]


def doc_field(text: str) -> Any:
    """Field metadata carrying only a description."""
    return Field(description=text)


class MqttSettings(BaseModel):
    """Broker connection and topic layout (``MQTT__HOST=...`` in the environment)."""

    host: Annotated[str, doc_field("Broker host name or address.")] = "localhost"
    port: Annotated[int, Field(ge=1, le=65535, description="Broker TCP port.")] = 1883
    hosts: Annotated[
        list[str],
        NoDecode,
        doc_field(
            "Several broker nodes, 'host:port' or 'host' (then 'port'), '[::1]:1883' for IPv6; "
            "tried in turn on connection loss. When set it wins over host/port. Environment: "
            "a JSON list or comma-separated."
        ),
    ] = []
    username: Annotated[str | None, doc_field("Broker user name, if any.")] = None
    password: Annotated[SecretStr | None, doc_field("Broker password (never logged).")] = None
    client_id: Annotated[
        str,
        doc_field(
            "MQTT client id; empty means '<app>-<instance or hostname>-<random hex>', unique "
            "per running process."
        ),
    ] = ""
    instance: Annotated[
        str,
        doc_field(
            "Tells two copies of one bridge apart: one topic level added to the topic root "
            "('<topic_prefix or app>/<instance>'); empty adds none."
        ),
    ] = ""
    reconnect_interval: Annotated[
        float,
        Field(
            gt=0, description="Reconnect pace during an outage's first 15 s (then it backs off), s."
        ),
    ] = 0.5
    reconnect_max_interval: Annotated[
        float, Field(gt=0, description="Upper bound of the reconnect delay, s.")
    ] = 60.0
    topic_prefix: Annotated[str, doc_field("Topic root; empty means the app name.")] = ""
    keepalive: Annotated[int, Field(ge=1, description="MQTT keepalive in seconds.")] = 60
    protocol: Annotated[Literal["3.1.1", "5"], doc_field("MQTT protocol version.")] = "3.1.1"
    tls: Annotated[bool, doc_field("Connect with TLS.")] = False
    tls_ca_cert: Annotated[str | None, doc_field("CA bundle path for TLS.")] = None
    tls_certfile: Annotated[str | None, doc_field("Client certificate path for TLS.")] = None
    tls_keyfile: Annotated[str | None, doc_field("Client key path for TLS.")] = None
    tls_insecure: Annotated[bool, doc_field("Skip broker certificate hostname checks.")] = False
    outbox_size: Annotated[int, Field(ge=0, description="Messages buffered offline.")] = 1000
    max_payload_bytes: Annotated[
        int, Field(ge=1, description="Largest inbound payload accepted, bytes.")
    ] = 65536

    @field_validator("hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        from cosalette._mqtt.nodes import parse_hosts

        return parse_hosts(value)

    @field_validator("hosts")
    @classmethod
    def _valid_hosts(cls, value: list[str]) -> list[str]:
        from cosalette._mqtt.nodes import parse_node

        for entry in value:
            parse_node(entry, 1883)  # a ValueError names the entry
        return [entry.strip() for entry in value]

    @field_validator("instance")
    @classmethod
    def _one_topic_level(cls, value: str) -> str:
        if any(c in value for c in "/+#\x00"):
            raise ValueError(f"must be one topic level (no '/', '+', '#' or NUL), got {value!r}")
        return value


class LoggingSettings(BaseModel):
    """Log level, format and optional rotating file."""

    level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], doc_field("Root log level.")
    ] = "INFO"
    format: Annotated[Literal["json", "text"], doc_field("JSON lines or plain text.")] = "json"
    file: Annotated[str | None, doc_field("Also write to this rotating log file.")] = None
    max_file_size_mb: Annotated[int, Field(ge=1, description="Rotate at this size, MiB.")] = 10
    backup_count: Annotated[int, Field(ge=0, description="Rotated log files kept.")] = 3


class HomeAssistantSettings(BaseModel):
    """Home Assistant MQTT discovery: the bridge announces its own entities when enabled."""

    discovery: Annotated[
        bool, doc_field("Publish Home Assistant discovery configs at every connect.")
    ] = False
    prefix: Annotated[str, doc_field("Home Assistant's discovery prefix.")] = "homeassistant"

    @field_validator("prefix")
    @classmethod
    def _one_topic_level_path(cls, value: str) -> str:
        if not value or any(c in value for c in "+#\x00") or value.startswith("/"):
            raise ValueError("must be a topic without wildcards, e.g. 'homeassistant'")
        return value.rstrip("/")


class HealthSettings(BaseModel):
    """The health file a container's HEALTHCHECK or a service manager checks
    (``cosactl health``, ``python -m cosalette health``)."""

    enabled: Annotated[
        bool,
        doc_field(
            "Keep the health file fresh while the app runs. A run handed its MQTT client from "
            "outside (the testing kit) writes it only when 'file' is set."
        ),
    ] = True
    file: Annotated[
        str,
        doc_field(
            "Path of the health file (relative: to the app's working directory); empty means "
            "'health.json' next to the store file (a project's [store] path; the folder of "
            "$<APP>_STORE_PATH; else $XDG_STATE_HOME/<app>/ or ~/.local/state/<app>/)."
        ),
    ] = ""
    interval: Annotated[
        float, Field(gt=0, description="Seconds between two writes of the health file.")
    ] = DEFAULT_INTERVAL
    stale_after: Annotated[
        float | None,
        Field(
            gt=0,
            description="The file counts as stale (the app hung or gone) when older than this, "
            "s; unset means 3 x interval + 5.",
        ),
    ] = None
    broker_unreachable_limit: Annotated[
        float,
        Field(
            ge=0,
            description="Unhealthy when the broker has been unreachable longer than this, s.",
        ),
    ] = DEFAULT_BROKER_UNREACHABLE_LIMIT

    @model_validator(mode="after")
    def _stale_after_a_write(self) -> HealthSettings:
        if self.stale_after is not None and self.stale_after <= self.interval:
            raise ValueError(
                f"stale_after ({self.stale_after:g} s) must be longer than interval "
                f"({self.interval:g} s), or every check between two writes fails"
            )
        return self

    @property
    def max_age(self) -> float:
        """``stale_after``, or its default from ``interval``."""
        if self.stale_after is not None:
            return self.stale_after
        return default_stale_after(self.interval)
