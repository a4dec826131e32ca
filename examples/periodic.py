"""ADR-041: periodic background tasks (no MQTT output of their own)."""

from __future__ import annotations

import datetime
import logging
from typing import Protocol

import cosalette
from cosalette import SettingRef


class AppSettings(cosalette.Settings):
    watchdog_enabled: bool = True
    led_interval: float = 5.0


class LedPort(Protocol):
    async def sync_state(self) -> None: ...


class LogLed:
    """Stands in for an LED driver: logs what it would do."""

    async def sync_state(self) -> None:
        logging.getLogger("led").info("LED state synchronised")


app = cosalette.App(name="bridge", version="1.0.0", settings_class=AppSettings)
app.adapter(LedPort, LogLed)


@app.periodic("flush-buffer", interval=30.0)
async def flush_buffer(logger: logging.Logger) -> None:
    logger.info("buffer flushed")


@app.periodic(
    "watchdog",
    interval=datetime.timedelta(minutes=1),
    enabled=lambda s: s.watchdog_enabled,  # type: ignore[attr-defined]
)
async def watchdog_ping(settings: AppSettings) -> None:
    logging.getLogger("watchdog").info("ping")


@app.periodic("led-sync", interval=SettingRef("led_interval"))
async def led_sync(led: LedPort) -> None:
    await led.sync_state()


if __name__ == "__main__":
    app.cli()
