"""Application settings on pydantic-settings, with a ``settings.toml`` layer and located errors.

Precedence, highest first: init kwargs > environment > ``.env`` > secrets dir > ``settings.toml``
> defaults.
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, Field, SecretBytes, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError as _SourceError,
    TomlConfigSettingsSource,
)

__all__ = [
    "DEFAULT_SETTINGS_FILE",
    "LoggingSettings",
    "MqttSettings",
    "SettingRef",
    "Settings",
    "SettingsError",
    "format_validation_error",
    "load_settings",
    "setting_ref",
    "settings_file_for",
    "settings_file_override",
]

DEFAULT_SETTINGS_FILE = "settings.toml"
"""TOML file read from the working directory when nothing else names one."""

MASK = "**********"
_SECRET_NAME = re.compile(r"password|secret|token", re.IGNORECASE)
_UNSET: Any = object()
_settings_file_var: ContextVar[Any] = ContextVar("cosalette_settings_file", default=_UNSET)

S = TypeVar("S", bound=BaseSettings)


class SettingsError(ValueError):
    """Settings could not be loaded; the message names the file, line and key (or env var)."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


def _doc(text: str) -> Any:
    """Field metadata carrying only a description."""
    return Field(description=text)


class MqttSettings(BaseModel):
    """Broker connection and topic layout (``MQTT__HOST=...`` in the environment)."""

    host: Annotated[str, _doc("Broker host name or address.")] = "localhost"
    port: Annotated[int, Field(ge=1, le=65535, description="Broker TCP port.")] = 1883
    username: Annotated[str | None, _doc("Broker user name, if any.")] = None
    password: Annotated[SecretStr | None, _doc("Broker password (never logged).")] = None
    client_id: Annotated[str, _doc("MQTT client id; empty lets the runtime choose.")] = ""
    reconnect_interval: Annotated[float, Field(gt=0, description="First reconnect delay, s.")] = 5.0
    reconnect_max_interval: Annotated[
        float, Field(gt=0, description="Upper bound of the reconnect delay, s.")
    ] = 300.0
    topic_prefix: Annotated[str, _doc("Topic root; empty means the app name.")] = ""
    keepalive: Annotated[int, Field(ge=1, description="MQTT keepalive in seconds.")] = 60
    protocol: Annotated[Literal["3.1.1", "5"], _doc("MQTT protocol version.")] = "3.1.1"
    tls: Annotated[bool, _doc("Connect with TLS.")] = False
    tls_ca_cert: Annotated[str | None, _doc("CA bundle path for TLS.")] = None
    tls_certfile: Annotated[str | None, _doc("Client certificate path for TLS.")] = None
    tls_keyfile: Annotated[str | None, _doc("Client key path for TLS.")] = None
    tls_insecure: Annotated[bool, _doc("Skip broker certificate hostname checks.")] = False
    outbox_size: Annotated[int, Field(ge=0, description="Messages buffered offline.")] = 1000
    max_payload_bytes: Annotated[
        int, Field(ge=1, description="Largest inbound payload accepted, bytes.")
    ] = 65536


class LoggingSettings(BaseModel):
    """Log level, format and optional rotating file."""

    level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], _doc("Root log level.")
    ] = "INFO"
    format: Annotated[Literal["json", "text"], _doc("JSON lines or plain text.")] = "json"
    file: Annotated[str | None, _doc("Also write to this rotating log file.")] = None
    max_file_size_mb: Annotated[int, Field(ge=1, description="Rotate at this size, MiB.")] = 10
    backup_count: Annotated[int, Field(ge=0, description="Rotated log files kept.")] = 3


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


def _toml_syntax_error(path: Path, reason: str) -> SettingsError:
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", reason)
    if m:
        reason = f"{reason[: m.start()]} (column {m.group(2)})"
        return SettingsError(f"{path}:{m.group(1)}: invalid TOML: {reason}")
    return SettingsError(f"{path}: invalid TOML: {reason}")


def _read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse *path*; return ``({}, "")`` when it does not exist."""
    if not path.is_file():
        return {}, ""
    import tomllib

    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path}: invalid TOML: not UTF-8 ({exc.reason})") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise _toml_syntax_error(path, str(exc)) from None


def _field_keys(settings_class: type[BaseModel], case_sensitive: bool) -> set[str]:
    keys: set[str] = set()
    for name, info in settings_class.model_fields.items():
        keys.add(name)
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                keys.add(alias)
    return keys if case_sensitive else {k.lower() for k in keys}


class SettingsFileSource(TomlConfigSettingsSource):
    """Read the top-level tables and keys of ``settings.toml`` that match the class's fields."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None = None) -> None:
        self.toml_file_path = path if path is not None else settings_file_for(settings_cls)
        self.toml_table_header = ()
        data: dict[str, Any] = {}
        if self.toml_file_path is not None:
            data, _ = _read_toml(self.toml_file_path)
        sensitive = bool(settings_cls.model_config.get("case_sensitive", False))
        keys = _field_keys(settings_cls, sensitive)
        self.toml_data = {k: v for k, v in data.items() if (k if sensitive else k.lower()) in keys}
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
    return value


class Settings(BaseSettings):
    """Root settings; applications subclass it and set their own ``env_prefix``."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    mqtt: Annotated[MqttSettings, _doc("MQTT broker connection.")] = Field(
        default_factory=MqttSettings
    )
    logging: Annotated[LoggingSettings, _doc("Logging setup.")] = Field(
        default_factory=LoggingSettings
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
    """
    toml_path = Path(settings_file) if settings_file is not None else None
    if toml_path is not None and not toml_path.is_file():
        raise SettingsError(f"{toml_path}: settings file not found")
    kwargs = dict(overrides)
    if env_file is not None:
        if not Path(env_file).is_file():
            raise SettingsError(f"{env_file}: env file not found")
        kwargs["_env_file"] = env_file
    token = _settings_file_var.set(toml_path) if toml_path is not None else None
    try:
        resolved = settings_file_for(settings_class)
        try:
            return settings_class(**kwargs)
        except ValidationError as exc:
            problems = _describe_errors(exc, settings_class, resolved, env_file, overrides)
        except _SourceError as exc:  # e.g. malformed JSON in a complex env value
            problems = [str(exc)]
        raise SettingsError("\n".join(problems), problems)
    finally:
        if token is not None:
            _settings_file_var.reset(token)


# --------------------------------------------------------------------------- error messages


def format_validation_error(
    exc: ValidationError,
    settings_class: type[BaseSettings],
    toml_path: str | Path | None = None,
    *,
    env_file: str | Path | None = None,
    init_kwargs: Mapping[str, Any] | None = None,
) -> str:
    """Render *exc* one problem per line, each naming where the bad value came from."""
    path = Path(toml_path) if toml_path is not None else settings_file_for(settings_class)
    return "\n".join(_describe_errors(exc, settings_class, path, env_file, init_kwargs or {}))


def _describe_errors(
    exc: ValidationError,
    settings_class: type[BaseSettings],
    toml_path: Path | None,
    env_file: str | Path | None,
    init_kwargs: Mapping[str, Any],
) -> list[str]:
    locator = _Locator(settings_class, toml_path, _env_files(settings_class, env_file), init_kwargs)
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        path, leaf = _data_path(settings_class, err["loc"])
        if err["type"] == "extra_forbidden" and len(path) == len(err["loc"]) - 1:
            path = (*path, err["loc"][-1])
        msg = str(err["msg"])
        if _is_secret(path, leaf) and err.get("input") not in (None, ""):
            msg = msg.replace(str(err["input"]), MASK)
        lines.append(locator.describe(path, msg, err["type"]))
    return lines


class _Locator:
    """Find which source (argument, env var, ``.env`` line, TOML line) supplied a value."""

    def __init__(
        self,
        settings_class: type[BaseSettings],
        toml_path: Path | None,
        env_files: list[Path],
        init_kwargs: Mapping[str, Any],
    ) -> None:
        self.cls, self.toml_path, self.env_files = settings_class, toml_path, env_files
        self.init_kwargs = init_kwargs
        self.toml_data: dict[str, Any] = {}
        self.toml_text = ""
        if toml_path is not None:
            with suppress(SettingsError):
                self.toml_data, self.toml_text = _read_toml(toml_path)

    def describe(self, path: tuple[str | int, ...], msg: str, err_type: str) -> str:
        key = ".".join(str(p) for p in path) or self.cls.__name__
        if path and _has(self.init_kwargs, path):
            return f"argument {key}: {msg}"
        names = _env_names(self.cls, path)
        env = _find_env(names, os.environ, self.cls)
        if env is not None:
            return f"environment variable {env} ({key}): {msg}"
        for env_path in reversed(self.env_files):
            from dotenv import dotenv_values

            found = _find_env(names, dotenv_values(env_path), self.cls)
            if found is not None:
                line = _line_of(env_path, rf"^\s*(?:export\s+)?{re.escape(found)}\s*=")
                return f"{env_path}{line}: {found} ({key}): {msg}"
        if self.toml_path is not None and path and _has(self.toml_data, path):
            lineno = _toml_key_line(self.toml_text, path)
            where = f"{self.toml_path}:{lineno}" if lineno else str(self.toml_path)
            return f"{where}: {key}: {msg}"
        if err_type == "missing" and names:
            where = f" in {self.toml_path}" if self.toml_path is not None else ""
            return f"{key}: {msg} (set {key}{where} or {names[0]})"
        return f"{key}: {msg}"


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the single meaningful type."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return _unwrap(rest[0])
    return annotation


def _data_path(
    model: type[BaseModel], loc: tuple[str | int, ...]
) -> tuple[tuple[str | int, ...], FieldInfo | None]:
    """Trim a pydantic error location to the data keys (drop union/type tags)."""
    out: list[str | int] = []
    current: Any = model
    leaf: FieldInfo | None = None
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = _field_info(current, part)
            if info is None:
                break
            out.append(part)
            leaf, current = info, _unwrap(info.annotation)
        elif get_origin(current) in (dict, Mapping) or get_origin(current) in (list, tuple):
            out.append(part)
            args = get_args(current)
            current = _unwrap(args[-1]) if args else None
        else:
            break
    return tuple(out), leaf


def _field_info(model: type[BaseModel], part: str | int) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if part in (name, info.alias, info.validation_alias):
            return info
    return None


def _is_secret(path: tuple[str | int, ...], leaf: FieldInfo | None) -> bool:
    if any(isinstance(p, str) and _SECRET_NAME.search(p) for p in path):
        return True
    return leaf is not None and "Secret" in str(leaf.annotation)


def _has(data: Any, path: tuple[str | int, ...]) -> bool:
    """True when *data* supplies a value at *path* (or a non-table value above it)."""
    for i, part in enumerate(path):
        if isinstance(data, Mapping):
            if part not in data:
                return False
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return i > 0
    return True


def _env_files(settings_class: type[BaseSettings], env_file: str | Path | None) -> list[Path]:
    files: Any = env_file if env_file is not None else settings_class.model_config.get("env_file")
    if files is None:
        return []
    if isinstance(files, str | os.PathLike):
        files = [files]
    return [Path(f) for f in files if Path(f).is_file()]


def _env_names(settings_class: type[BaseSettings], path: tuple[str | int, ...]) -> list[str]:
    """Candidate variable names for *path*, most specific first."""
    prefix = str(settings_class.model_config.get("env_prefix") or "")
    delim = settings_class.model_config.get("env_nested_delimiter") or ""
    sensitive = settings_class.model_config.get("case_sensitive", False)
    names = []
    for n in range(len(path), 0, -1):
        if n > 1 and not delim:
            continue
        name = prefix + delim.join(str(p) for p in path[:n])
        names.append(name if sensitive else name.upper())
    return names


def _find_env(
    names: list[str], env: Mapping[str, str | None], settings_class: type[BaseSettings]
) -> str | None:
    if settings_class.model_config.get("case_sensitive", False):
        return next((n for n in names if n in env), None)
    upper = {k.upper(): k for k in env}
    return next((upper[n.upper()] for n in names if n.upper() in upper), None)


def _line_of(path: Path, pattern: str) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    rx = re.compile(pattern)
    return next((f":{i}" for i, line in enumerate(lines, 1) if rx.search(line)), "")


_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_KEY_LINE = re.compile(rf"^({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")


def _split_key(text: str) -> list[str]:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\s"\']+)', text)
    return [a or b or c for a, b, c in parts]


def _toml_key_line(text: str, path: tuple[str | int, ...]) -> int | None:
    """Line of the deepest ``[table]`` header or ``key =`` that leads to *path*."""
    want = [p for p in path if isinstance(p, str)]
    table: list[str] = []
    best, best_len = None, 0
    closing: str | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if closing is not None:
            if closing in line:
                closing = None
            continue
        if line.startswith("["):
            inner = line.lstrip("[").split("]", 1)[0]
            table = keypath = _split_key(inner)
        else:
            m = _KEY_LINE.match(line)
            if not m:
                continue
            keypath = table + _split_key(m.group(1))
            rest = line[m.end() :]
            closing = next((q for q in ('"""', "'''") if rest.count(q) == 1), None)
        if len(keypath) > best_len and keypath == want[: len(keypath)]:
            best, best_len = lineno, len(keypath)
    return best


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
