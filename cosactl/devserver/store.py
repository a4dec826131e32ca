"""The dev session's state: ``[store]``'s backend and the health file under
``<root>/.cosactl/dev/``, never the project's own state files, and never watched (a save must
not reload)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosalette._settings import Settings
    from cosalette._wiring.runtime import Runtime

__all__ = ["refresh_stores", "session_health_file", "session_store", "session_store_file"]


def _section(settings_path: Path) -> Any:
    """``[store]`` of *settings_path*, or None (absent or broken: the child reports that)."""
    from cosalette._project.errors import ProjectError
    from cosalette._project.store import read_store_section
    from cosalette._settings_file import SettingsError, read_settings_file

    try:
        data, text = read_settings_file(settings_path)
        return read_store_section(data, text, settings_path)
    except (SettingsError, ProjectError, OSError):
        return None


def session_store(root: Path, settings_path: Path) -> Any:
    """What the session's children pass as ``load_project(store=...)``."""
    from cosalette._project.store import dev_store

    return dev_store(root, _section(settings_path))


def session_store_file(root: Path, settings_path: Path) -> Path | None:
    """The dev store's file (None for the memory and none backends), for the session banner."""
    store = session_store(root, settings_path)
    path = getattr(store, "path", None)
    return path if isinstance(path, Path) else None


def refresh_stores(runtime: Runtime) -> None:
    """Re-read every device's state that this child has not changed yet.

    A child prepares (and loads its stores) while the previous one still runs; the previous
    one saves last when it stops, before this child gets "go". Reading again here makes
    the new code continue from that state instead of from the state at the save.
    """
    stores = runtime.injectables.stores
    if stores is not None:
        stores.reload_unchanged()


def session_health_file(settings: Settings, root: Path) -> Settings:
    """*settings* with the session's health file under ``.cosactl/dev/`` (like its store), so a
    dev session never writes over a production daemon's; a ``[health] file`` the user set is
    kept."""
    if settings.health.file:
        return settings
    health = settings.health.model_copy(update={"file": str(root / ".cosactl/dev/health.json")})
    return settings.model_copy(update={"health": health})
