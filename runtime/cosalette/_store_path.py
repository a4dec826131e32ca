"""Where an app's default store lives: ``<APP>_STORE_PATH``, else the XDG state directory."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

__all__ = ["default_store_path", "in_container", "store_path_variable"]


def store_path_variable(app_name: str) -> str:
    """``my-app.x`` → ``MY_APP_X_STORE_PATH``; a leading digit gets a ``_`` in front."""
    stem = re.sub(r"[^A-Z0-9_]", "_", app_name.upper())
    if stem[:1].isdigit():
        stem = "_" + stem
    return f"{stem}_STORE_PATH"


def _one_segment(name: str) -> bool:
    if name in (".", "..") or name != name.strip() or name.endswith("."):
        return False
    for flavour in (PurePosixPath, PureWindowsPath):
        path = flavour(name)
        if path.is_absolute() or path.drive or len(path.parts) != 1:
            return False
    return True


def default_store_path(app_name: str) -> Path:
    """``$<APP>_STORE_PATH``, else ``$XDG_STATE_HOME/<app>/store.json`` (when absolute), else
    ``~/.local/state/<app>/store.json``; read from the environment when called."""
    variable = store_path_variable(app_name)
    explicit = os.environ.get(variable, "")
    if explicit:
        return Path(explicit)
    if not _one_segment(app_name):
        raise ValueError(
            f"App name {app_name!r} is not a valid single path component (absolute, "
            f"multi-segment, drive-qualified, or a path-traversal segment), so it cannot name "
            f"the default store's folder. Set {variable} to an explicit path."
        )
    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if state and Path(state).is_absolute() else Path.home() / ".local" / "state"
    return base / app_name / "store.json"


def in_container() -> bool:
    """Whether this process seems to run in a container (Docker, Podman, systemd-nspawn)."""
    if os.environ.get("container"):  # noqa: SIM112 - systemd and podman set it in lower case
        return True
    return Path("/.dockerenv").exists() or Path("/run/.containerenv").exists()
