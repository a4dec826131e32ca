"""``[store]`` in a project's settings.toml: where the devices' state is kept.

``backend`` is ``json`` (the default), ``sqlite``, ``memory`` or ``none``; ``path`` is the file
of a json or sqlite store, relative to the project root (absolute and ``~`` paths are allowed;
default ``state/store.json`` or ``state/store.sqlite3``). ``<APP>_STORE_PATH`` in the
environment replaces that path, as it replaces the App's default store path. Without a
``[store]`` section the App's default store is used (see :mod:`cosalette._store_path`).

``cosactl dev`` never uses these files: its children get :func:`dev_store`, the same backend
under ``<root>/.cosactl/dev/``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from cosalette._project.errors import ProjectError
from cosalette._settings_file import toml_key_line
from cosalette._store_path import store_path_variable

__all__ = [
    "DEFAULT_STORE_FILES",
    "DEV_STORE_DIR",
    "SqliteOnStart",
    "StoreSection",
    "dev_store",
    "project_store_entry",
    "read_store_section",
]

DEFAULT_STORE_FILES = {"json": "state/store.json", "sqlite": "state/store.sqlite3"}
DEV_STORE_DIR = Path(".cosactl") / "dev"
"""Where ``cosactl dev`` keeps its store, relative to the project root."""

Backend = Literal["json", "sqlite", "memory", "none"]


class SqliteOnStart:
    """A store factory: the :class:`~cosalette.SqliteStore` at *path*, opened when the app
    starts (opening creates the file, which loading a project for a manifest must not do)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self) -> Any:
        from cosalette.stores import SqliteStore

        return SqliteStore(self.path)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"


class StoreSection(BaseModel):
    """``[store]``: the backend and, for json and sqlite, the file."""

    model_config = ConfigDict(extra="forbid")

    backend: Backend = "json"
    path: str | None = None

    @field_validator("path")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must be a file path (omit it for the default)")
        return value

    def file(self, root: Path, app_name: str) -> Path | None:
        """The store's file: ``$<APP>_STORE_PATH``, else *path* under *root*; None without one."""
        default = DEFAULT_STORE_FILES.get(self.backend)
        if default is None:
            return None
        override = os.environ.get(store_path_variable(app_name), "")
        if override:
            return Path(override).expanduser()
        return root / Path(self.path or default).expanduser()

    def build(self, root: Path, app_name: str) -> Any:
        """What ``App(store=...)`` gets: a store, a factory (sqlite) or None (``none``)."""
        return _store_for(self.backend, self.file(root, app_name))


def _store_for(backend: str, file: Path | None) -> Any:
    from cosalette.stores import JsonFileStore, MemoryStore

    if backend == "none":
        return None
    if backend == "memory":
        return MemoryStore()
    assert file is not None
    return JsonFileStore(file) if backend == "json" else SqliteOnStart(file)


def dev_store(root: Path, section: StoreSection | None) -> Any:
    """``cosactl dev``'s store: the project's backend (json without ``[store]``), in
    ``<root>/.cosactl/dev/``; never the production file, never ``$<APP>_STORE_PATH``."""
    backend = section.backend if section is not None else "json"
    suffix = Path(DEFAULT_STORE_FILES.get(backend, "store")).suffix
    return _store_for(backend, root / DEV_STORE_DIR / f"store{suffix}")


def read_store_section(data: Mapping[str, Any], text: str, path: Path) -> StoreSection | None:
    """Validate ``[store]`` (None when absent); errors name ``settings.toml:<line>`` and key."""
    raw = data.get("store")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ProjectError(
            "store must be a table ([store])", file=path, line=toml_key_line(text, ("store",))
        )
    try:
        return StoreSection.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = ("store", *(str(p) for p in err["loc"]))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown setting; valid: backend, path"
        elif err["type"] == "literal_error":
            message = f"unknown backend {err['input']!r}; use json, sqlite, memory or none"
        line = toml_key_line(text, key) or toml_key_line(text, ("store",))
        raise ProjectError(f"{'.'.join(key)}: {message}", file=path, line=line) from None


def _shown_path(path: Path, root: Path) -> str:
    """*path* relative to *root* (POSIX separators) when inside it, else as it is."""
    for candidate in (path.absolute(), path.resolve()):
        if candidate.is_relative_to(root):
            return candidate.relative_to(root).as_posix()
    return str(path)


def project_store_entry(app: Any, root: Path) -> dict[str, Any] | None:
    """The manifest's ``store`` entry for a project: a path inside the project is relative to
    *root*, and the App's default store shows the rule that finds its file, not the file."""
    from cosalette._contract.values import describe_store

    described = app.describe()
    store = described.store
    if store is None:
        return None
    if described.store_is_default:
        rule = f"${store_path_variable(app.name)} or $XDG_STATE_HOME/{app.name}/store.json"
        return {"backend": type(store).__name__, "path": rule, "default": True}
    entry: dict[str, Any]
    if isinstance(store, SqliteOnStart):
        entry = {"backend": "SqliteStore", "path": str(store.path), "default": False}
    else:
        entry = dict(describe_store(store) or {})
    if entry.get("path"):
        entry["path"] = _shown_path(Path(entry["path"]), root)
    return entry
