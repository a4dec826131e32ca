"""A harness over a discovered project: its App in dry-run, MockMqttClient and FakeClock.

Settings come from the project's ``settings.toml`` plus keyword overrides; the environment and
``.env`` are ignored, so a test does not depend on the machine it runs on. The app keeps its
devices' state in a fresh ``MemoryStore`` unless the test chooses a store (``store=``), so a
test never writes the project's real state files. The project's modules stay importable (a
shared load), so ``from adapters.magnetometer import FakeMagnetometer`` in a test gives the
class the app uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from cosalette._di.plan import type_label
from cosalette._errors import StartupError
from cosalette._project.discovery import Project, load_project
from cosalette._project.settings_model import settings_project_error
from cosalette._settings import Settings, SettingsError, SettingsFileSource
from cosalette._settings_errors import describe_errors
from cosalette.testing._harness import AppHarness
from cosalette.testing._settings import _nest

__all__ = ["ProjectHarness", "find_project_root", "project_harness", "project_test_settings"]


class ProjectHarness(AppHarness):
    """An AppHarness whose app is a discovered project (``project``), run in dry-run mode."""

    def __init__(self, *, project: Project, settings: Settings, **kwargs: Any) -> None:
        super().__init__(app=project.app, settings=settings, **kwargs)
        self.project = project

    @property
    def store(self) -> Any:
        """The app's store (a ``MemoryStore`` unless chosen): seed or read ``store._data``.

        None when persistence is off; a factory's store exists once the harness started.
        """
        return self.app.store

    async def start(self) -> None:
        """Start the app; a start-up error that the project's check locates is raised as that
        located :class:`ProjectError` (``devices/counter.py:12: ...``)."""
        try:
            await super().start()
        except StartupError:
            self.project.check()
            raise

    def _port(self, port: Any) -> Any:
        ports = self.app.adapters
        if not isinstance(port, str):
            return port
        for candidate in ports:
            if port in (type_label(candidate), getattr(candidate, "__name__", None)):
                return candidate
        known = ", ".join(type_label(p) for p in ports) or "none"
        raise LookupError(f"no adapter port named {port!r} (ports: {known})")

    def use_adapter(self, port: Any, instance: object) -> None:
        """Make the app use *instance* for *port* (a port class or its name) from the next start."""
        self.adapter_overrides[self._port(port)] = instance

    def adapter(self, port: Any) -> object:
        """The adapter instance the running (or last) run built for *port*."""
        key = self._port(port)
        built = self.runtime.adapters.built if self.runtime is not None else {}
        try:
            return built[key]
        except KeyError:
            raise LookupError(
                f"no adapter built for {type_label(key)} yet; start the harness first"
            ) from None


def project_test_settings(project: Project, **overrides: Any) -> Settings:
    """The project's settings from ``settings.toml`` and *overrides* only (no env, no .env).

    Nested values go as dicts or with ``__``: ``devices__counter__interval=5``.
    """
    path = project.settings_path

    def sources(
        cls: type[Settings], /, settings_cls: type[BaseSettings], init_settings: Any, **_: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, SettingsFileSource(settings_cls, path)

    isolated = type(
        project.settings_class.__name__,
        (project.settings_class,),
        {
            "settings_customise_sources": classmethod(sources),
            "__module__": project.settings_class.__module__,
        },
    )
    try:
        settings: Settings = isolated(**_nest(overrides))
    except ValidationError as exc:
        problems = describe_errors(exc, isolated, path, None, _nest(overrides))
        raise settings_project_error(SettingsError(problems)) from None
    return settings


def find_project_root(*starts: str | Path) -> Path | None:
    """The first directory at or above one of *starts* that holds a ``settings.toml``."""
    from cosalette._project.root import find_project_root as find

    return find(*starts)


_MEMORY: Any = object()


def project_harness(
    path: str | Path = ".", *, store: Any = _MEMORY, **settings_overrides: Any
) -> ProjectHarness:
    """A harness over the project at *path*: dry-run adapters, MockMqttClient, FakeClock.

    The app's store is a fresh ``MemoryStore()``, whatever ``[store]`` says; *store* chooses
    another (a Store, a factory, or None to turn persistence off).
    """
    if store is _MEMORY:
        from cosalette.stores import MemoryStore

        store = MemoryStore()
    project = load_project(path, dry_run=True, shared_modules=True, store=store)
    settings = project_test_settings(project, **settings_overrides)
    return ProjectHarness(project=project, settings=settings)
