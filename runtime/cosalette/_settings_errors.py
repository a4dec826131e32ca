"""Where a bad setting came from: the TOML file and line, the env var, or the .env line."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from cosalette._secrets import SECRET_NAME, mask_inputs, redact_url_credentials
from cosalette._settings_file import (
    SettingsError,
    SettingsProblem,
    read_settings_file,
    toml_key_line,
    unwrap,
)

__all__ = ["SettingLocator", "describe_errors", "toml_key_line"]


def describe_errors(
    exc: ValidationError,
    settings_class: type[BaseSettings],
    toml_path: Path | None,
    env_file: str | Path | None,
    init_kwargs: Mapping[str, Any],
) -> list[SettingsProblem]:
    """One located problem per validation error, naming the source that supplied the value."""
    locator = SettingLocator(
        settings_class, toml_path, _env_files(settings_class, env_file), init_kwargs
    )
    lines: list[SettingsProblem] = []
    for err in exc.errors(include_url=False):
        path, leaf = _data_path(settings_class, err["loc"])
        if err["type"] == "extra_forbidden" and len(path) == len(err["loc"]) - 1:
            path = (*path, err["loc"][-1])
        msg = str(err["msg"])
        if _is_secret(path, leaf):
            msg = mask_inputs(msg, err.get("input"))
        msg = redact_url_credentials(msg)  # a validator may quote the URL it rejects
        lines.append(locator.describe(path, msg, err["type"]))
    return lines


_SOURCE_ERROR = re.compile(r'field "([^"]+)" from source "(\w+)"')


def source_problem(
    exc: Exception, settings_class: type[BaseSettings], env_file: str | Path | None
) -> SettingsProblem:
    """A pydantic-settings source error (a complex value that is not JSON, or one nested too
    deeply for the parser) located at the variable that supplied it."""
    cause = exc.__cause__
    if isinstance(exc, RecursionError):
        found = _deepest_variable(settings_class, env_file)
        return _env_problem("nested too deeply", found, settings_class, env_file)
    m = _SOURCE_ERROR.search(str(exc))
    if m is None:
        return SettingsProblem(str(exc))
    detail = getattr(cause, "msg", None) or str(cause or "") or str(exc)
    names = _env_names(settings_class, (m.group(1),))
    found = _find_variable(names, settings_class, env_file, dotenv=m.group(2).startswith("DotEnv"))
    return _env_problem(f"not valid JSON: {detail}", found, settings_class, env_file, m.group(1))


def _env_problem(
    message: str,
    found: tuple[str, Path | None] | None,
    settings_class: type[BaseSettings],
    env_file: str | Path | None,
    key: str | None = None,
) -> SettingsProblem:
    if found is None:
        return SettingsProblem(message, key=key)
    variable, path = found
    if key is None:
        key = _key_of(variable, settings_class)
    if path is None:
        return SettingsProblem(message, key=key, variable=variable, source="environment")
    line = _line_of(path, rf"^\s*(?:export\s+)?{re.escape(variable)}\s*=")
    return SettingsProblem(message, file=path, line=line, key=key, variable=variable)


def _candidates(
    settings_class: type[BaseSettings], env_file: str | Path | None, *, dotenv: bool = True
) -> list[tuple[Mapping[str, str | None], Path | None]]:
    """The environment, then the ``.env`` files (last one first), as the sources read them."""
    found: list[tuple[Mapping[str, str | None], Path | None]] = [(os.environ, None)]
    if dotenv:
        from dotenv import dotenv_values

        found += [(dotenv_values(p), p) for p in reversed(_env_files(settings_class, env_file))]
    return found


def _find_variable(
    names: list[str],
    settings_class: type[BaseSettings],
    env_file: str | Path | None,
    *,
    dotenv: bool,
) -> tuple[str, Path | None] | None:
    for env, path in _candidates(settings_class, env_file, dotenv=dotenv):
        if path is None and dotenv:
            continue  # the error came from a .env file
        found = _find_env(names, env, settings_class)
        if found is not None:
            return found, path
    return None


def _deepest_variable(
    settings_class: type[BaseSettings], env_file: str | Path | None
) -> tuple[str, Path | None] | None:
    """The variable of *settings_class* whose value nests deepest (brackets outside strings)."""
    from cosalette._settings_file import nesting_depth

    delim = str(settings_class.model_config.get("env_nested_delimiter") or "").upper()
    names = [
        n.upper() for f in settings_class.model_fields for n in _env_names(settings_class, (f,))
    ]
    nested = tuple(n + delim for n in names) if delim else ()
    best: tuple[int, str, Path | None] | None = None
    for env, path in _candidates(settings_class, env_file):
        for name, value in env.items():
            ours = name.upper() in names or name.upper().startswith(nested)
            depth = nesting_depth(value) if ours and value else -1
            if depth >= 0 and (best is None or depth > best[0]):
                best = (depth, name, path)
    return None if best is None else (best[1], best[2])


def _key_of(variable: str, settings_class: type[BaseSettings]) -> str:
    prefix = str(settings_class.model_config.get("env_prefix") or "")
    delim = settings_class.model_config.get("env_nested_delimiter") or ""
    rest = variable[len(prefix) :].lower()
    return ".".join(rest.split(delim)) if delim else rest


class SettingLocator:
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
                self.toml_data, self.toml_text = read_settings_file(toml_path)

    def describe(self, path: tuple[str | int, ...], msg: str, err_type: str) -> SettingsProblem:
        """The problem *msg* at *path*, located at whichever source supplied the value."""
        key = ".".join(str(p) for p in path) or self.cls.__name__
        if path and _has(self.init_kwargs, path):
            return SettingsProblem(msg, key=key, source="argument")
        names = _env_names(self.cls, path)
        env = _find_env(names, os.environ, self.cls)
        if env is not None:
            return SettingsProblem(msg, key=key, variable=env, source="environment")
        for env_path in reversed(self.env_files):
            from dotenv import dotenv_values

            found = _find_env(names, dotenv_values(env_path), self.cls)
            if found is not None:
                line = _line_of(env_path, rf"^\s*(?:export\s+)?{re.escape(found)}\s*=")
                return SettingsProblem(msg, file=env_path, line=line, key=key, variable=found)
        if self.toml_path is not None and path and _has(self.toml_data, path):
            lineno = toml_key_line(self.toml_text, path)
            return SettingsProblem(msg, file=self.toml_path, line=lineno, key=key)
        if err_type == "missing" and names:
            where = f" in {self.toml_path}" if self.toml_path is not None else ""
            return SettingsProblem(f"{msg} (set {key}{where} or {names[0]})", key=key)
        return SettingsProblem(msg, key=key)


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
            leaf, current = info, unwrap(info.annotation)
        elif get_origin(current) in (dict, Mapping) or get_origin(current) in (list, tuple):
            out.append(part)
            args = get_args(current)
            current = unwrap(args[-1]) if args else None
        else:
            break
    return tuple(out), leaf


def _field_info(model: type[BaseModel], part: str | int) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if part in (name, info.alias, info.validation_alias):
            return info
    return None


def _is_secret(path: tuple[str | int, ...], leaf: FieldInfo | None) -> bool:
    if any(isinstance(p, str) and SECRET_NAME.search(p) for p in path):
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


def _line_of(path: Path, pattern: str) -> int | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    rx = re.compile(pattern)
    return next((i for i, line in enumerate(lines, 1) if rx.search(line)), None)
