"""Finding a project: the nearest directory at or above a start that holds ``settings.toml``."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SETTINGS_FILE", "find_project_root"]

SETTINGS_FILE = "settings.toml"
"""The file that makes a directory a cosalette project."""


def find_project_root(*starts: str | Path) -> Path | None:
    """The first directory at or above one of *starts* (tried in order) with a settings.toml."""
    for start in starts:
        here = Path(start).resolve()
        for candidate in (here, *here.parents):
            if (candidate / SETTINGS_FILE).is_file():
                return candidate
    return None
