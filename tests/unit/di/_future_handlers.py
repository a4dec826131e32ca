"""Handlers written under ``from __future__ import annotations`` (every annotation is a string)."""

from __future__ import annotations

import logging
from typing import Annotated, Generic, Protocol, TypeVar

from pydantic import BaseModel

from cosalette import ClockPort, DeviceContext, Settings
from cosalette.mqtt import Payload

T = TypeVar("T")


class FutureSettings(Settings):
    greeting: str = "hello"


class MeterPort(Protocol):
    def read(self) -> int: ...


class Meter:
    def read(self) -> int:
        return 42


class Calibration:
    def __init__(self, offset: int) -> None:
        self.offset = offset


class Box(Generic[T]):
    def __init__(self, value: T) -> None:
        self.value = value


class Valve(BaseModel):
    position: int


def make_calibration(settings: FutureSettings) -> Calibration:
    return Calibration(offset=len(settings.greeting))


def make_settings_product() -> Settings:
    return Settings()


async def everything(
    ctx: DeviceContext,
    settings: FutureSettings,
    base: Settings,
    log: logging.Logger,
    clock: ClockPort,
    meter: MeterPort,
    calibration: Calibration,
    optional: Box[int] | None = None,
) -> dict[str, object]:
    return {
        "name": ctx.name,
        "greeting": settings.greeting,
        "same_settings": base is settings,
        "logger": isinstance(log, logging.Logger),
        "now": clock.now(),
        "reading": meter.read() + calibration.offset,
        "optional": optional is None,
    }


async def set_valve(cmd: Annotated[Valve, Payload()], ctx: DeviceContext) -> dict[str, object]:
    return {"position": cmd.position, "device": ctx.name}


async def echo(topic: str, payload: str) -> dict[str, object]:
    return {"topic": topic, "payload": payload}
