"""The project's settings: ``[app]`` read as App options, and the composed Settings class.

The Settings class is ``cosalette.Settings`` plus a ``devices`` field with one sub-model per
device configuration model, read from the project's ``settings.toml`` and ``.env`` with the
environment prefix ``<APP NAME>_`` (precedence: environment, ``.env``, ``settings.toml``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator
from pydantic_settings import SettingsConfigDict

from cosalette._names import env_prefix_for, validate_mqtt_name
from cosalette._project.errors import ProjectError, display_path
from cosalette._project.markers import DeviceConfig
from cosalette._settings import Settings, load_settings
from cosalette._settings_file import (
    SettingsError,
    field_info,
    read_settings_file,
    toml_key_line,
)

__all__ = [
    "DISCOVERY_TABLES",
    "AppSection",
    "check_device_sections",
    "check_top_level_tables",
    "compose_settings_class",
    "env_prefix_for",
    "load_project_settings",
    "read_app_section",
    "read_toml",
    "settings_project_error",
]


DISCOVERY_TABLES = ("app", "store")
"""Top-level tables discovery reads itself (they are not part of the Settings class)."""


class AppSection(BaseModel):
    """``[app]``: name, version, description and the App options a project may set."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: str = "0.0.0"
    description: str = "IoT-to-MQTT bridge"
    heartbeat_interval: float | bool | None = 60.0
    health_check_interval: float | bool | None = 30.0
    restart_after_failures: int = 5
    max_restarts: int = 3
    restart_cooldown: float = 5.0
    sustained_health_reset: float = 300.0

    @field_validator("name")
    @classmethod
    def _topic_segment(cls, value: str) -> str:
        return validate_mqtt_name(value, what="the app name")

    def app_options(self) -> dict[str, Any]:
        """Keyword arguments for ``App(...)``; ``false`` disables an interval."""
        options = self.model_dump(exclude={"name", "version", "description"})
        for key in ("heartbeat_interval", "health_check_interval"):
            if options[key] is False:
                options[key] = None
            elif options[key] is True:
                raise ValueError(f"{key} = true is not a number of seconds (use false to disable)")
        return options


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse *path* with the settings reader; a syntax error is a ProjectError at its line."""
    try:
        return read_settings_file(path)
    except SettingsError as exc:
        raise settings_project_error(exc) from None


def read_app_section(data: Mapping[str, Any], text: str, path: Path) -> AppSection:
    """Validate ``[app]``; errors name ``settings.toml:<line>`` and the key."""
    raw = data.get("app")
    if raw is None:
        raise ProjectError(
            '[app] is missing; add it with at least name = "<app name>"', file=path, line=None
        )
    if not isinstance(raw, dict):
        raise ProjectError(
            "app must be a table ([app])", file=path, line=toml_key_line(text, ("app",))
        )
    try:
        section = AppSection.model_validate(raw)
        section.app_options()
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = ("app", *(str(p) for p in err["loc"]))
        line = toml_key_line(text, key) if _present(raw, err["loc"]) else None
        line = line or toml_key_line(text, ("app",))
        raise ProjectError(f"{'.'.join(key)}: {err['msg']}", file=path, line=line) from None
    except ValueError as exc:
        raise ProjectError(f"app.{exc}", file=path, line=toml_key_line(text, ("app",))) from None
    return section


def _present(data: Mapping[str, Any], loc: tuple[Any, ...]) -> bool:
    return bool(loc) and loc[0] in data


def check_device_sections(
    data: Mapping[str, Any], text: str, path: Path, configs: Mapping[str, type[DeviceConfig]]
) -> None:
    """Reject a key of ``[devices.<name>]`` that its DeviceConfig does not know, at its line."""
    sections = data.get("devices")
    if not isinstance(sections, dict):
        return
    for name, model in configs.items():
        section = sections.get(name)
        if not isinstance(section, dict):
            continue
        known = set(model.model_fields)
        known |= {str(f.alias) for f in model.model_fields.values() if f.alias}
        for key in section:
            if key not in known:
                valid = ", ".join(sorted(model.model_fields)) or "none"
                raise ProjectError(
                    f"devices.{name}.{key}: unknown setting; {model.__name__} has: {valid}",
                    file=path,
                    line=toml_key_line(text, ("devices", name, key)),
                )


def check_top_level_tables(
    data: Mapping[str, Any], text: str, path: Path, settings_class: type[Settings]
) -> None:
    """Reject a top-level table (or key) that neither discovery (``[app]``, ``[store]``) nor
    *settings_class* declares."""
    sensitive = bool(settings_class.model_config.get("case_sensitive", False))
    for key, value in data.items():
        declared = field_info(settings_class, key, sensitive=sensitive) is not None
        if key in DISCOVERY_TABLES or declared:
            continue
        known = ", ".join(
            f"[{t}]" for t in sorted({*DISCOVERY_TABLES, *settings_class.model_fields})
        )
        table = isinstance(value, dict)
        what = f"[{key}] is not a known table" if table else f"{key}: unknown setting"
        raise ProjectError(
            f"{what}; the settings have: {known}",
            file=path,
            line=toml_key_line(text, (key,)),
        )


def _class_name(app_name: str) -> str:
    words = re.split(r"[^A-Za-z0-9]+", app_name)
    stem = "".join(w[:1].upper() + w[1:] for w in words if w) or "Project"
    return f"{stem if stem[0].isalpha() else 'Project' + stem}Settings"


def _has_defaults(model: type[BaseModel]) -> bool:
    return all(not info.is_required() for info in model.model_fields.values())


def _devices_model(configs: Mapping[str, type[DeviceConfig]]) -> type[BaseModel]:
    """One field per device section; sections without a model are kept as plain tables."""
    fields: dict[str, Any] = {}
    for stem, config in configs.items():
        if _has_defaults(config):
            fields[stem] = (config, Field(default_factory=config))
        else:
            fields[stem] = (config, ...)
    model: type[BaseModel] = create_model(
        "DevicesSettings",
        __config__=ConfigDict(extra="allow"),
        __doc__="One section per device: [devices.<name>] in settings.toml.",
        **fields,
    )
    return model


def compose_settings_class(
    app_name: str,
    root: Path,
    settings_path: Path,
    configs: Mapping[str, type[DeviceConfig]],
) -> type[Settings]:
    """``Settings`` plus ``devices``, reading *settings_path* and ``<root>/.env``."""
    devices = _devices_model(configs)
    default: Any = Field(default_factory=devices) if _has_defaults(devices) else ...
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": f"Settings of the project {app_name!r} (cosalette.Settings plus devices).",
        "__annotations__": {"devices": devices},
        "devices": default,
        "model_config": SettingsConfigDict(
            env_prefix=env_prefix_for(app_name),
            env_nested_delimiter="__",
            env_file=str(root / ".env"),
            toml_file=str(settings_path),
        ),
    }
    return type(_class_name(app_name), (Settings,), namespace)


def load_project_settings(
    settings_class: type[Settings],
    *,
    settings_path: Path,
    env_file: str | Path | None,
) -> Settings:
    """Instantiate the project's settings; a SettingsError becomes a located ProjectError."""
    try:
        return load_settings(settings_class, settings_file=settings_path, env_file=env_file)
    except SettingsError as exc:
        raise settings_project_error(exc) from None


def settings_project_error(exc: SettingsError) -> ProjectError:
    """A ProjectError located at the first of *exc*'s problems, listing all of them."""
    shown = [p._replace(file=Path(display_path(p.file))) if p.file else p for p in exc.problems]
    first = exc.problems[0]
    return ProjectError("\n".join(str(p) for p in shown), file=first.file, line=first.line)
