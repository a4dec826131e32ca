"""What project modules declare: adapter markers and device configuration models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, get_origin

from pydantic import BaseModel, ConfigDict

__all__ = ["ADAPTER_MARK", "AdapterMark", "DeviceConfig", "adapter", "adapter_mark"]

ADAPTER_MARK = "__cosalette_adapter__"

T = TypeVar("T")


@dataclass(frozen=True)
class AdapterMark:
    """The port an adapter implements, and whether it is the fake used under ``--dry-run``."""

    port: Any
    fake: bool


def adapter(port: Any, *, fake: bool = False) -> Callable[[T], T]:
    """Mark a class (or factory) as the real adapter for *port*, or its fake with ``fake=True``.

    It only sets a marker attribute; project discovery registers the marked objects.
    """
    if not isinstance(get_origin(port) or port, type):  # a Protocol, or StreamablePort[T]
        raise TypeError(f"@adapter(port): the port must be a class (a Protocol), got {port!r}")

    def mark(impl: T) -> T:
        if not callable(impl):
            name = getattr(port, "__qualname__", None) or repr(port)
            raise TypeError(f"@adapter({name}) must decorate a class or a factory")
        setattr(impl, ADAPTER_MARK, AdapterMark(port, bool(fake)))
        return impl

    return mark


def adapter_mark(obj: object) -> AdapterMark | None:
    """The marker set on *obj* itself (not inherited from a marked base class), if any."""
    try:
        own = vars(obj)
    except TypeError:
        return None
    mark = own.get(ADAPTER_MARK)
    return mark if isinstance(mark, AdapterMark) else None


class DeviceConfig(BaseModel):
    """Base of a device's settings section: ``[devices.<file stem>]`` in ``settings.toml``.

    Unknown keys are errors, so a typo in ``settings.toml`` is reported with its line.
    """

    model_config = ConfigDict(extra="forbid")
