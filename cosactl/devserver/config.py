"""What a dev session knows before it starts: its options, the project's name and broker
address (read with the runtime's settings, without importing the project's code), and which
changed files reload it."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEV_STORE_PARTS",
    "IGNORED_DIRS",
    "ChangeFilter",
    "DevOptions",
    "ProjectConfig",
    "read_config",
]

DEV_STORE_PARTS = (".cosactl", "dev")  # cosalette._project.store.DEV_STORE_DIR
IGNORED_DIRS = frozenset(
    {"tests", "__pycache__", "node_modules", "venv", "env", "site-packages", "build", "dist"}
)


@dataclass(frozen=True)
class DevOptions:
    """What ``cosactl dev`` was asked to do."""

    root: Path
    real: bool = False
    broker_url: str | None = None
    live: bool = True
    force_polling: bool = False
    settings_file: Path | None = None
    env_file: Path | None = None

    @property
    def settings_path(self) -> Path:
        """The settings file children read."""
        return self.settings_file or self.root / "settings.toml"

    @property
    def env_path(self) -> Path:
        """The .env file children read."""
        return self.env_file or self.root / ".env"


@dataclass(frozen=True)
class ProjectConfig:
    """What the supervisor needs from the settings, read without importing the project."""

    app: str = "app"
    prefix: str = "app"
    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: str | None = None


def _app_name(options: DevOptions) -> str:
    """``[app] name``, or the folder's name when the settings cannot say."""
    from cosalette._settings_file import SettingsError, read_settings_file

    try:
        data, _ = read_settings_file(options.settings_path)
    except SettingsError:
        return options.root.name
    app = data.get("app")
    name = app.get("name") if isinstance(app, dict) else None
    return name if isinstance(name, str) and name else options.root.name


def read_config(options: DevOptions) -> ProjectConfig:
    """App name, topic prefix and broker address, read as the project's children read them.

    The project's Settings class (without device models, so no project code is imported)
    applies environment > .env > settings.toml. Never fails: a broken settings file is the
    child's to report (with file and line), so this falls back to the defaults.
    """
    from cosalette._project.errors import ProjectError
    from cosalette._project.settings_model import compose_settings_class
    from cosalette._settings import load_settings
    from cosalette._topics import topic_root

    app = _app_name(options)
    try:
        settings_class = compose_settings_class(app, options.root, options.settings_path, {})
        settings = load_settings(
            settings_class, settings_file=options.settings_path, env_file=options.env_file
        )
    except (ProjectError, ValueError):  # SettingsError and pydantic's errors are ValueErrors
        return ProjectConfig(app=app, prefix=app)
    mqtt = settings.mqtt
    password = mqtt.password.get_secret_value() if mqtt.password is not None else None
    return ProjectConfig(
        app=app,
        prefix=topic_root(app, settings),
        host=mqtt.host,
        port=mqtt.port,
        username=mqtt.username or None,
        password=password or None,
    )


class ChangeFilter:
    """Which changed paths reload: ``.py`` files, the settings and .env files; never tests/,
    __pycache__, hidden folders (.git, .venv, caches, the dev store in .cosactl/), virtualenvs
    or editor files. A store file is never one of the watched kinds, so a save never reloads."""

    def __init__(self, root: Path, extra_files: Iterable[Path]) -> None:
        self.root = root
        self.extra = {str(p) for p in extra_files}

    def __call__(self, change: Any, path: str) -> bool:
        try:
            parts = Path(path).relative_to(self.root).parts
        except ValueError:
            parts = ()
        if parts[: len(DEV_STORE_PARTS)] == DEV_STORE_PARTS:
            return False  # the session's own store, whatever it is called
        if path in self.extra:
            return True
        if not parts:
            return False
        *folders, name = parts
        if any(f in IGNORED_DIRS or f.startswith(".") for f in folders):
            return False
        if name.startswith((".", "#")) or not name.endswith(".py"):
            return False
        return not any(_is_venv(self.root.joinpath(*folders[: i + 1])) for i in range(len(folders)))


@functools.lru_cache(maxsize=256)
def _is_venv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file()
