"""Errors and warnings of project discovery, each naming the file and line it is about."""

from __future__ import annotations

import inspect
import linecache
import re
from pathlib import Path
from typing import Any

__all__ = [
    "NotAProjectError",
    "ProjectError",
    "ProjectWarning",
    "display_path",
    "location_of",
    "where",
]

_DEF = re.compile(r"^\s*(?:async\s+)?def\s")


def display_path(file: str | Path) -> str:
    """*file* relative to the working directory when it lies below it, else as given."""
    path = Path(file)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def where(file: str | Path | None, line: int | None) -> str:
    """``file:line`` (or just ``file``) for the start of a message; empty when unknown."""
    if file is None:
        return ""
    shown = display_path(file)
    return f"{shown}:{line}" if line else shown


class ProjectError(Exception):
    """A project cannot be loaded or wired; the message starts with ``file:line:``."""

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None):
        if file is not None:
            prefix = where(file, line)
            if not message.startswith(prefix):
                message = f"{prefix}: {message}"
        super().__init__(message)
        self.file: Path | None = Path(file) if file is not None else None
        self.line: int | None = line


class NotAProjectError(ProjectError):
    """The directory has no ``settings.toml``, so it is not a cosalette project."""


class ProjectWarning(UserWarning):
    """Something in the project is probably a mistake but does not stop it from loading."""

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None):
        prefix = where(file, line)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.file: Path | None = Path(file) if file is not None else None
        self.line: int | None = line


def location_of(obj: Any, file: str | None = None) -> tuple[str | None, int | None]:
    """Source file and ``def``/``class`` line of a function or class (None when unknown).

    *file* is where to look for a class whose module is no longer in ``sys.modules``.
    """
    target = inspect.unwrap(obj) if callable(obj) else obj
    code = getattr(target, "__code__", None)
    if code is not None:
        return code.co_filename, _def_line(code.co_filename, code.co_firstlineno)
    if not isinstance(target, type):
        return file, None
    if file is None:
        try:
            file = inspect.getsourcefile(target)
        except (OSError, TypeError):
            return None, None
    if file is None:
        return None, None
    return file, _class_line(file, target.__qualname__)


def _class_line(file: str, qualname: str) -> int | None:
    """The ``class`` line of *qualname* in *file*, found by parsing it."""
    import ast

    try:
        tree = ast.parse(Path(file).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    body: list[ast.stmt] = tree.body
    node: ast.ClassDef | None = None
    for part in qualname.split("."):
        node = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == part), None)
        if node is None:
            return None
        body = node.body
    return node.lineno if node is not None else None


def _def_line(file: str, first: int) -> int:
    """The ``def`` line of a function whose code starts at *first* (its first decorator)."""
    for lineno in range(first, first + 200):
        text = linecache.getline(file, lineno)
        if not text:
            break
        if _DEF.match(text):
            return lineno
    return first
