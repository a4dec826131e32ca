"""Reading ``settings.toml``: the one parser, located problems as data, and unknown-key checks.

Every reader of ``settings.toml`` (the settings source, project discovery, the dev server)
goes through :func:`read_settings_file`; its errors are :class:`SettingsError` whose
:attr:`SettingsError.problems` carry the file, line and key as attributes.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

from pydantic import AliasChoices, BaseModel, RootModel
from pydantic.fields import FieldInfo

__all__ = [
    "SettingsError",
    "SettingsProblem",
    "field_info",
    "nesting_depth",
    "read_settings_file",
    "toml_key_line",
    "unknown_key_problems",
    "unwrap",
]


class SettingsProblem(NamedTuple):
    """One thing wrong with the settings and where it came from (``file``/``line``, ``key``).

    ``variable`` names the environment variable that supplied the value (from the environment,
    or from ``file`` when that is a ``.env`` file); ``source`` is ``"argument"`` or
    ``"environment"`` when no file did.
    """

    message: str
    file: Path | None = None
    line: int | None = None
    key: str | None = None
    variable: str | None = None
    source: Literal["argument", "environment"] | None = None

    def __str__(self) -> str:
        label = self.key
        if self.variable is not None:
            label = f"{self.variable} ({self.key})" if self.key else self.variable
        if self.file is not None:
            where = f"{self.file}:{self.line}" if self.line else str(self.file)
            return f"{where}: {label}: {self.message}" if label else f"{where}: {self.message}"
        if self.source is not None:
            origin = "argument" if self.source == "argument" else "environment variable"
            return f"{origin} {label}: {self.message}" if label else f"{origin}: {self.message}"
        return f"{label}: {self.message}" if label else self.message


class SettingsError(ValueError):
    """Settings could not be loaded; ``problems`` says where, one line of the message each."""

    def __init__(self, problems: str | SettingsProblem | Iterable[SettingsProblem]) -> None:
        if isinstance(problems, str):
            problems = (SettingsProblem(problems),)
        elif isinstance(problems, SettingsProblem):
            problems = (problems,)
        self.problems: tuple[SettingsProblem, ...] = tuple(problems) or (
            SettingsProblem("invalid settings"),
        )
        super().__init__("\n".join(str(p) for p in self.problems))


# --------------------------------------------------------------------------- reading

_TOML_AT = r"\s*\(at line (\d+), column (\d+)\)\s*$"
_TOML_AT_END = r"\s*\(at end of document\)\s*$"


def read_settings_file(path: Path) -> tuple[dict[str, Any], str]:
    """Parse *path* into its data and text; ``({}, "")`` when it does not exist.

    A file that cannot be read or parsed is a :class:`SettingsError` located at its line.
    """
    if not path.is_file():
        return {}, ""
    import tomllib

    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(
            SettingsProblem(f"invalid TOML: not UTF-8 ({exc.reason})", file=path)
        ) from None
    except OSError as exc:
        raise SettingsError(SettingsProblem(f"cannot read settings: {exc}", file=path)) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(_syntax_problem(str(exc), text, path)) from None
    except RecursionError:
        line = _too_deep_line(text)
        problem = SettingsProblem("invalid TOML: nested too deeply", file=path, line=line)
        raise SettingsError(problem) from None


def _syntax_problem(reason: str, text: str, path: Path) -> SettingsProblem:
    """tomllib's message with the line it names (only inside its message) as the line."""
    m = re.search(_TOML_AT, reason)
    if m is not None:
        message = f"invalid TOML: {reason[: m.start()]} (column {m.group(2)})"
        return SettingsProblem(message, file=path, line=int(m.group(1)))
    m = re.search(_TOML_AT_END, reason)
    if m is not None:
        message = f"invalid TOML: {reason[: m.start()]} (at the end of the file)"
        return SettingsProblem(message, file=path, line=text.count("\n") + 1)
    return SettingsProblem(f"invalid TOML: {reason}", file=path)


_DEEP = 100


def nesting_depth(text: str) -> int:
    """How deeply brackets and braces nest in TOML or JSON *text* (strings skipped)."""
    depth, closing, deepest = 0, None, 0
    for line in text.split("\n"):
        depth, closing, on_line = _scan(line, depth, closing)
        deepest = max(deepest, on_line)
    return deepest


def _too_deep_line(text: str) -> int:
    """The first line where arrays and inline tables nest more than ``_DEEP`` deep."""
    depth, closing = 0, None
    lines = text.split("\n")
    for lineno, line in enumerate(lines, 1):
        depth, closing, deepest = _scan(line, depth, closing)
        if deepest > _DEEP:
            return lineno
    return len(lines)


# --------------------------------------------------------------------------- key lines

_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_KEY_PATH = rf"({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)"
_KEY_LINE = rf"^{_KEY_PATH}\s*="  # compiled on first use (re caches)
_HEADER = rf"^\[\[?\s*{_KEY_PATH}\s*\]\]?"


def _key_path(text: str) -> list[str]:
    """The keys of a dotted key as TOML reads them (quotes removed, escapes decoded)."""
    return [_unquote(part) for part in re.findall(_KEY_PART, text)]


def _unquote(part: str) -> str:
    if part.startswith("'"):
        return part[1:-1]
    if part.startswith('"'):
        import tomllib

        try:
            return str(tomllib.loads(f"k = {part}")["k"])
        except tomllib.TOMLDecodeError:
            return part[1:-1]
    return part


def _scan(line: str, depth: int, closing: str | None) -> tuple[int, str | None, int]:
    """Bracket depth and open multi-line string (its quotes) after *line*, and the deepest
    depth on it; strings and comments are skipped."""
    i, n, deepest = 0, len(line), depth
    while i < n:
        if closing is not None:
            end = _string_end(line, i, closing)
            if end < 0:
                return depth, closing, deepest
            i, closing = end, None
            continue
        c = line[i]
        if c == "#":
            break
        if line.startswith(('"""', "'''"), i):
            i, closing = i + 3, line[i : i + 3]
        elif c in "\"'":
            end = _string_end(line, i + 1, c)
            i = n if end < 0 else end
        else:
            depth += (c in "[{") - (c in "]}")
            deepest = max(deepest, depth)
            i += 1
    return max(depth, 0), closing, deepest


def _string_end(line: str, start: int, quote: str) -> int:
    """Index just past the *quote* that ends a string begun before *start*, or -1."""
    i = start
    while True:
        end = line.find(quote, i)
        if end < 0:
            return -1
        if quote[0] == '"':  # basic strings have escapes: count the backslashes before
            slashes = len(line[i:end]) - len(line[i:end].rstrip("\\"))
            if slashes % 2:
                i = end + 1
                continue
        return end + len(quote)


def toml_key_line(text: str, path: Sequence[str | int]) -> int | None:
    """Line of the deepest ``[table]`` header or ``key =`` that leads to *path* (the first of
    equally deep ones); values spanning lines (arrays, multi-line strings) are skipped."""
    want = [p for p in path if isinstance(p, str)]
    table: list[str] = []
    best, best_len = None, 0
    depth, closing = 0, None
    for lineno, raw in enumerate(text.split("\n"), 1):
        if depth or closing:
            depth, closing, _ = _scan(raw, depth, closing)
            continue
        line = raw.strip()
        header = re.match(_HEADER, line)
        if header:
            table = keypath = _key_path(header.group(1))
        else:
            m = re.match(_KEY_LINE, line)
            if not m:
                continue
            keypath = table + _key_path(m.group(1))
            depth, closing, _ = _scan(line[m.end() :], 0, None)
        shared = _shared(keypath, want)
        if shared > best_len:
            best, best_len = lineno, shared
    return best


def _shared(keys: list[str], want: list[str]) -> int:
    """How many leading keys *keys* and *want* have in common."""
    n = 0
    for a, b in zip(keys, want, strict=False):
        if a != b:
            break
        n += 1
    return n


# --------------------------------------------------------------------------- unknown keys


def unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the single meaningful type."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return unwrap(rest[0])
    return annotation


def _names(name: str, info: FieldInfo) -> list[str]:
    """The keys that set field *name*: its name and its string aliases."""
    names = [name]
    for alias in (info.alias, info.validation_alias):
        if isinstance(alias, str):
            names.append(alias)
        elif isinstance(alias, AliasChoices):
            names.extend(c for c in alias.choices if isinstance(c, str))
    return names


def field_info(
    model: type[BaseModel], key: str | int, *, sensitive: bool = True
) -> FieldInfo | None:
    """The :class:`FieldInfo` of *model* that *key* sets, or ``None``."""
    if not isinstance(key, str):
        return None
    want = key if sensitive else key.lower()
    for name, info in model.model_fields.items():
        names = _names(name, info)
        if want in (names if sensitive else [n.lower() for n in names]):
            return info
    return None


def _valid_keys(model: type[BaseModel]) -> str:
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        key = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        keys.add(key if isinstance(key, str) else name)
    return ", ".join(sorted(keys)) or "none"


_MAPPINGS = {dict, Mapping}
_SEQUENCES = {list, tuple, set, frozenset, Sequence}


def unknown_key_problems(
    model: type[BaseModel], data: Mapping[str, Any], text: str, path: Path | None
) -> list[SettingsProblem]:
    """Keys of *data*'s tables that their model (one without ``extra="allow"``) does not know.

    Only nested tables are checked: the top-level keys of *data* are the ones already matched
    to *model*'s fields.
    """
    sensitive = bool(model.model_config.get("case_sensitive", False))
    found: list[SettingsProblem] = []
    for key, value in data.items():
        info = field_info(model, key, sensitive=sensitive)
        if info is not None:
            _walk(info.annotation, value, (key,), _Report(text, path, found))
    return found


class _Report:
    """Where unknown keys are collected, with what locates them."""

    def __init__(self, text: str, path: Path | None, found: list[SettingsProblem]) -> None:
        self.text, self.path, self.found = text, path, found

    def unknown(self, model: type[BaseModel], keys: tuple[str | int, ...]) -> None:
        self.found.append(
            SettingsProblem(
                f"unknown setting; valid: {_valid_keys(model)}",
                file=self.path,
                line=toml_key_line(self.text, keys),
                key=".".join(str(k) for k in keys),
            )
        )


def _walk(annotation: Any, value: Any, keys: tuple[str | int, ...], report: _Report) -> None:
    ann = unwrap(annotation)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        if isinstance(value, Mapping) and not issubclass(ann, RootModel):
            _walk_model(ann, value, keys, report)
        return
    origin, args = get_origin(ann), get_args(ann)
    if origin in _MAPPINGS and isinstance(value, Mapping) and len(args) == 2:
        for key, item in value.items():
            _walk(args[1], item, (*keys, key), report)
    elif origin in _SEQUENCES and isinstance(value, list) and args:
        variadic = origin is not tuple or (len(args) == 2 and args[1] is Ellipsis)
        for i, item in enumerate(value):
            if variadic or i < len(args):
                _walk(args[0] if variadic else args[i], item, (*keys, i), report)


def _walk_model(
    model: type[BaseModel], value: Mapping[str, Any], keys: tuple[str | int, ...], report: _Report
) -> None:
    allow = model.model_config.get("extra") == "allow"
    for key, item in value.items():
        info = field_info(model, key)
        if info is not None:
            _walk(info.annotation, item, (*keys, key), report)
        elif not allow:
            report.unknown(model, (*keys, key))
