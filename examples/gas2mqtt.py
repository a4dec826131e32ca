"""The guide's gas meter example, with a fake meter registered for --dry-run."""

from __future__ import annotations

import random
from typing import Protocol, runtime_checkable

from pydantic import Field
from pydantic_settings import SettingsConfigDict

import cosalette


# --- Port (Protocol) for hardware abstraction ---
@runtime_checkable
class GasMeterPort(Protocol):
    """Hardware abstraction for gas meter impulse sensors."""

    def read_impulses(self) -> int: ...

    def read_temperature(self) -> float: ...


class SerialGasMeter:
    """The real meter on a serial port (needs the hardware)."""

    def __init__(self, settings: Gas2MqttSettings) -> None:
        self._port = settings.serial_port

    def read_impulses(self) -> int:
        raise OSError(f"no gas meter answers on {self._port}")

    def read_temperature(self) -> float:
        raise OSError(f"no gas meter answers on {self._port}")


class FakeGasMeter:
    """A meter that counts up, for dry runs on a laptop."""

    def __init__(self) -> None:
        self._impulses = 0

    def read_impulses(self) -> int:
        self._impulses += random.randint(0, 3)
        return self._impulses

    def read_temperature(self) -> float:
        return round(18.0 + random.random(), 1)


# --- Settings ---
class Gas2MqttSettings(cosalette.Settings):
    model_config = SettingsConfigDict(
        env_prefix="GAS2MQTT_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
    )

    serial_port: str = Field(default="/dev/ttyUSB0")
    poll_interval: int = Field(default=60, ge=1)


# --- App ---
app = cosalette.App(
    name="gas2mqtt",
    version="1.0.0",
    settings_class=Gas2MqttSettings,
)
app.adapter(GasMeterPort, SerialGasMeter, dry_run=FakeGasMeter)


# --- Telemetry device ---
@app.telemetry("counter", interval=cosalette.setting_ref("poll_interval"))
async def counter(ctx: cosalette.DeviceContext) -> dict[str, object]:
    """Read gas meter impulses and publish state."""
    meter = ctx.adapter(GasMeterPort)
    impulses = meter.read_impulses()
    temp = meter.read_temperature()
    return {
        "impulses": impulses,
        "temperature_celsius": temp,
    }


if __name__ == "__main__":
    app.cli()
