"""What a dev session knows before it starts: its options, the project's name and broker
address (read without importing the project), and which changed files reload it."""

from __future__ import annotations

import contextlib
import functools
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["IGNORED_DIRS", "ChangeFilter", "DevOptions", "ProjectConfig", "read_config"]

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


def _dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    with contextlib.suppress(OSError, UnicodeDecodeError):
        for raw in path.read_text(encoding="utf-8").splitlines():
            key, sep, value = raw.strip().removeprefix("export ").partition("=")
            if sep and key and not key.startswith("#"):
                values[key.strip().upper()] = value.strip().strip("'\"")
    return values


def read_config(options: DevOptions) -> ProjectConfig:
    """App name, topic prefix and broker address from settings, .env and the environment.

    Never fails: a broken settings file is the child's to report (with file and line).
    """
    try:
        data = tomllib.loads(options.settings_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        data = {}
    app_section = data.get("app")
    app_section = app_section if isinstance(app_section, dict) else {}
    mqtt = data.get("mqtt")
    mqtt = mqtt if isinstance(mqtt, dict) else {}
    app = str(app_section.get("name") or options.root.name)
    env_prefix = "".join(c if c.isalnum() else "_" for c in app).upper() + "_MQTT__"
    found = {**_dotenv(options.env_path), **{k.upper(): v for k, v in os.environ.items()}}

    def setting(key: str, default: Any) -> Any:
        return found.get(env_prefix + key.upper(), mqtt.get(key, default))

    try:
        port = int(setting("port", 1883))
    except (TypeError, ValueError):
        port = 1883
    username = setting("username", None)
    password = setting("password", None)
    return ProjectConfig(
        app=app,
        prefix=str(setting("topic_prefix", "") or app),
        host=str(setting("host", "localhost")),
        port=port,
        username=str(username) if username else None,
        password=str(password) if password else None,
    )


class ChangeFilter:
    """Which changed paths reload: ``.py`` files, the settings and .env files; never tests/,
    __pycache__, hidden folders (.git, .venv, caches), virtualenvs or editor files."""

    def __init__(self, root: Path, extra_files: Iterable[Path]) -> None:
        self.root = root
        self.extra = {str(p) for p in extra_files}

    def __call__(self, change: Any, path: str) -> bool:
        if path in self.extra:
            return True
        try:
            parts = Path(path).relative_to(self.root).parts
        except ValueError:
            return False
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
