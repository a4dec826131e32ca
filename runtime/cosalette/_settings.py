"""Application settings on pydantic-settings, with a ``settings.toml`` layer and located errors.

Precedence, highest first: init kwargs > environment > ``.env`` > secrets dir > ``settings.toml``
> defaults.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    Field,
    SecretBytes,
    SecretStr,
    ValidationError,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError as _SourceError,
    TomlConfigSettingsSource,
)

from cosalette import _secrets
from cosalette._settings_file import (
    SettingsError,
    SettingsProblem,
    field_info,
    read_settings_file,
    unknown_key_problems,
)
from cosalette._settings_sections import (
    HealthSettings,
    HomeAssistantSettings,
    LoggingSettings,
    MqttSettings,
    doc_field,
)

__all__ = [
    "DEFAULT_SETTINGS_FILE",
    "HealthSettings",
    "HomeAssistantSettings",
    "LoggingSettings",
    "MqttSettings",
    "SettingRef",
    "Settings",
    "SettingsError",
    "SettingsProblem",
    "format_validation_error",
    "load_settings",
    "setting_ref",
    "settings_file_for",
    "settings_file_override",
]

DEFAULT_SETTINGS_FILE = "settings.toml"
"""TOML file read from the working directory when nothing else names one."""

MASK = _secrets.MASK
_SECRET_NAME = _secrets.SECRET_NAME
_UNSET: Any = object()
_settings_file_var: ContextVar[Any] = ContextVar("cosalette_settings_file", default=_UNSET)

S = TypeVar("S", bound=BaseSettings)


# --------------------------------------------------------------------------- TOML source


def settings_file_for(settings_class: type[BaseSettings]) -> Path | None:
    """Return the TOML file *settings_class* reads now (``None``: TOML disabled)."""
    override = _settings_file_var.get()
    if override is not _UNSET:
        return None if override is None else Path(override)
    configured = settings_class.model_config.get("toml_file")
    if configured is None:
        return Path(DEFAULT_SETTINGS_FILE)
    if isinstance(configured, str | os.PathLike):
        return Path(configured)
    raise TypeError("cosalette reads a single settings file: set toml_file to one path")


@contextmanager
def settings_file_override(path: str | Path | None) -> Iterator[None]:
    """Within the block, settings classes read *path* as their TOML file (``None``: none)."""
    token = _settings_file_var.set(None if path is None else Path(path))
    try:
        yield
    finally:
        _settings_file_var.reset(token)


class SettingsFileSource(TomlConfigSettingsSource):
    """Read the top-level tables and keys of ``settings.toml`` that match the class's fields.

    A key inside those tables that its model does not declare is a :class:`SettingsError`.
    """

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None = None) -> None:
        self.toml_file_path = path if path is not None else settings_file_for(settings_cls)
        self.toml_table_header = ()
        data: dict[str, Any] = {}
        text = ""
        if self.toml_file_path is not None:
            data, text = read_settings_file(self.toml_file_path)
        sensitive = bool(settings_cls.model_config.get("case_sensitive", False))
        self.toml_data = {
            k: v
            for k, v in data.items()
            if field_info(settings_cls, k, sensitive=sensitive) is not None
        }
        problems = unknown_key_problems(settings_cls, self.toml_data, text, self.toml_file_path)
        if problems:
            raise SettingsError(problems)
        InitSettingsSource.__init__(self, settings_cls, self.toml_data)


# --------------------------------------------------------------------------- Settings


class _Masked:
    """Repr stand-in that shows a secret as a mask."""

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text


def _mask_value(name: str | None, value: Any) -> Any:
    if name and _SECRET_NAME.search(name) and value is not None:
        return value if isinstance(value, SecretStr | SecretBytes) else _Masked(repr(MASK))
    if isinstance(value, BaseModel):
        args = ", ".join(
            f"{k}={_mask_value(k, v)!r}" if k else repr(v) for k, v in value.__repr_args__()
        )
        return _Masked(f"{type(value).__name__}({args})")
    text = repr(value)
    masked = _secrets.redact_url_credentials(text)  # an AnyUrl, or a URL in a str or list
    return value if masked == text else _Masked(masked)


class Settings(BaseSettings):
    """Root settings; applications subclass it and set their own ``env_prefix``."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    mqtt: Annotated[MqttSettings, doc_field("MQTT broker connection.")] = Field(
        default_factory=MqttSettings
    )
    logging: Annotated[LoggingSettings, doc_field("Logging setup.")] = Field(
        default_factory=LoggingSettings
    )
    homeassistant: Annotated[HomeAssistantSettings, doc_field("Home Assistant discovery.")] = Field(
        default_factory=HomeAssistantSettings
    )
    health: Annotated[HealthSettings, doc_field("The health file (cosactl health).")] = Field(
        default_factory=HealthSettings
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Put ``settings.toml`` below the environment, ``.env`` and secrets."""
        toml = SettingsFileSource(settings_cls)
        return init_settings, env_settings, dotenv_settings, file_secret_settings, toml

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Mask fields whose names look secret, at any depth."""
        for name, value in super().__repr_args__():
            yield name, _mask_value(name, value)


def load_settings(
    settings_class: type[S],
    *,
    settings_file: str | Path | None = None,
    env_file: str | Path | None = None,
    **overrides: Any,
) -> S:
    """Instantiate *settings_class* from the given (or default) TOML and env files.

    Explicit files must exist; every failure is a :class:`SettingsError` naming its source.
    Every secret loaded (see ``cosalette._secrets``) is masked in log lines from then on.
    """
    toml_path = Path(settings_file) if settings_file is not None else None
    if toml_path is not None and not toml_path.is_file():
        raise SettingsError(SettingsProblem("settings file not found", file=toml_path))
    kwargs = dict(overrides)
    if env_file is not None:
        if not Path(env_file).is_file():
            raise SettingsError(SettingsProblem("env file not found", file=Path(env_file)))
        kwargs["_env_file"] = env_file
    token = _settings_file_var.set(toml_path) if toml_path is not None else None
    try:
        resolved = settings_file_for(settings_class)
        try:
            settings = settings_class(**kwargs)
        except ValidationError as exc:
            from cosalette._settings_errors import describe_errors

            problems = describe_errors(exc, settings_class, resolved, env_file, overrides)
        except (_SourceError, RecursionError) as exc:  # a complex env value: bad or deep JSON
            from cosalette._settings_errors import source_problem

            problems = [source_problem(exc, settings_class, env_file)]
        else:
            from cosalette._logging import register_secret

            for secret in _secrets.secret_values(settings):  # masked in every log line
                register_secret(secret)
            return settings
        raise SettingsError(problems)
    finally:
        if token is not None:
            _settings_file_var.reset(token)


def format_validation_error(
    exc: ValidationError,
    settings_class: type[BaseSettings],
    toml_path: str | Path | None = None,
    *,
    env_file: str | Path | None = None,
    init_kwargs: Mapping[str, Any] | None = None,
) -> str:
    """Render *exc* one problem per line, each naming where the bad value came from."""
    from cosalette._settings_errors import describe_errors

    path = Path(toml_path) if toml_path is not None else settings_file_for(settings_class)
    problems = describe_errors(exc, settings_class, path, env_file, init_kwargs or {})
    return "\n".join(str(p) for p in problems)


# --------------------------------------------------------------------------- SettingRef


@dataclass(frozen=True, slots=True)
class SettingRef:
    """A deferred reference to a settings field (``"poll_interval"`` or ``"mqtt.port"``)."""

    field: str

    def __post_init__(self) -> None:
        if not isinstance(self.field, str) or not all(self.field.split(".")):
            raise ValueError(f"SettingRef needs a field name like 'mqtt.port', got {self.field!r}")

    def resolve(self, settings: Any) -> Any:
        """Read the referenced value from *settings*; ``AttributeError`` names what is missing."""
        value = settings
        parts = self.field.split(".")
        for i, part in enumerate(parts):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
                continue
            if isinstance(value, BaseModel):
                cls = type(value)
                known = (
                    part in cls.model_fields
                    or part in cls.model_computed_fields
                    or isinstance(getattr(cls, part, None), property)
                    or part in (value.model_extra or {})
                )
                if known:
                    value = getattr(value, part)
                    continue
            elif hasattr(value, part) and not part.startswith("_"):
                value = getattr(value, part)
                continue
            where = ".".join(parts[:i]) or type(settings).__name__
            raise AttributeError(f"setting_ref({self.field!r}): {where} has no setting {part!r}")
        return value

    def __call__(self, settings: Any) -> Any:
        """Same as :meth:`resolve`, so a ref works wherever a settings callable does."""
        return self.resolve(settings)


def setting_ref(field: str) -> SettingRef:
    """Return a :class:`SettingRef` to *field* (dot-paths allowed)."""
    return SettingRef(field)
