"""Settings for tests: defaults plus overrides, never the environment or files."""

from __future__ import annotations

from typing import Any, TypeVar

from cosalette._settings import Settings

S = TypeVar("S", bound=Settings)


def _nest(overrides: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in overrides.items():
        parts = key.split("__")
        target = data
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return data


def make_settings(settings_class: type[S] = Settings, **overrides: Any) -> S:  # type: ignore[assignment]
    """A validated settings instance from defaults and *overrides* only.

    Nested values go as dicts (``mqtt={"host": "x"}``) or with ``__`` (``mqtt__host="x"``);
    environment variables, ``.env`` and ``settings.toml`` are ignored so tests are isolated.
    """
    data = _nest(overrides)
    instance: S = settings_class.__pydantic_validator__.validate_python(data)
    return instance
