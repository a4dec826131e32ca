"""What ``App(...)`` is given besides registrations, checked once: the store declaration and
the supervision options (heartbeats, health checks, restarts)."""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_STORE", "check_supervision", "declared_store", "is_store_instance"]

DEFAULT_STORE: Any = object()  # store= omitted: the default JSON file store


def is_store_instance(value: object) -> bool:
    from cosalette._persistence import Store

    return isinstance(value, Store) and not isinstance(value, type)


def declared_store(app_name: str, store: Any) -> Any:
    """What ``store=`` declares: a Store, a factory (a class counts) or None; omitted → default."""
    if store is DEFAULT_STORE:
        from cosalette._persistence import JsonFileStore
        from cosalette._store_path import default_store_path

        return JsonFileStore(default_store_path(app_name))
    if store is None or is_store_instance(store) or callable(store):
        return store
    raise TypeError(
        f"store must be None, a Store instance, or a callable factory, got {type(store).__name__!r}"
    )


def _positive(name: str, value: float | None) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{name} must be > 0 seconds (or None to disable), got {value}")


def check_supervision(
    *,
    heartbeat_interval: float | None,
    health_check_interval: float | None,
    restart_after_failures: int,
    max_restarts: int,
    restart_cooldown: float,
    sustained_health_reset: float,
) -> None:
    """Refuse supervision options no run could follow (a ValueError names the option)."""
    _positive("heartbeat_interval", heartbeat_interval)
    _positive("health_check_interval", health_check_interval)
    _positive("restart_cooldown", restart_cooldown)
    _positive("sustained_health_reset", sustained_health_reset)
    if restart_after_failures < 0:
        raise ValueError(f"restart_after_failures must be >= 0, got {restart_after_failures}")
    if max_restarts < 0:
        raise ValueError(f"max_restarts must be >= 0, got {max_restarts}")
