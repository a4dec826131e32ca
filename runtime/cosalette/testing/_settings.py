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
    isolated = _isolated(settings_class)
    instance: S = isolated(**_nest(overrides))
    return instance


_ISOLATED: dict[type[Settings], type[Settings]] = {}


def _isolated(settings_class: type[S]) -> type[S]:
    """A subclass of *settings_class* whose only source is its keyword arguments."""
    cached = _ISOLATED.get(settings_class)
    if cached is None:

        def sources(
            cls: type[Settings], /, settings_cls: type[Any], init_settings: Any, **_: Any
        ) -> tuple[Any, ...]:
            return (init_settings,)

        cached = type(
            settings_class.__name__,
            (settings_class,),
            {
                "settings_customise_sources": classmethod(sources),
                "__module__": settings_class.__module__,
                "__qualname__": settings_class.__qualname__,
            },
        )
        _ISOLATED[settings_class] = cached
    return cached  # type: ignore[return-value]
