"""Merging settings.toml key by key (tomlkit), for `cosactl update`.

Keys and tables that the new template has and the base had not are added to your file, with
the comment lines above them that are new in the template; your values, comments and layout
are never changed. Keys the template dropped, and defaults it changed, are only reported.
"""

from __future__ import annotations

import contextlib
import copy
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SettingsMerge", "merge_settings"]

Path_ = tuple[str, ...]


@dataclass(frozen=True)
class SettingsMerge:
    """The merged text, the dotted keys added, and what the user should know about."""

    text: str
    added: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)


def _dotted(path: Path_) -> str:
    return ".".join(path)


def _compare(
    base: Mapping[str, Any],
    yours: Mapping[str, Any],
    new: Mapping[str, Any],
    path: Path_,
    added: list[Path_],
    notes: list[str],
) -> None:
    for key, value in new.items():
        where = (*path, key)
        if key not in base:
            if key not in yours:
                added.append(where)
            continue
        old = base[key]
        if isinstance(value, dict) and isinstance(old, dict):
            if isinstance(yours.get(key), dict):
                _compare(old, yours[key], value, where, added, notes)
        elif old != value and key in yours and yours[key] != value:
            notes.append(
                f"{_dotted(where)}: the template's default changed from {old!r} to "
                f"{value!r}; yours ({yours[key]!r}) is kept"
            )
    for key in base:
        if key not in new and key in yours:
            notes.append(f"{_dotted((*path, key))}: no longer in the template; yours is kept")


def _body_container(doc: Any, path: Path_) -> Any:
    """The tomlkit container (a document or a table's) at *path*, or None when it is not a
    plain table (a super table spread over the file, an inline table...)."""
    from tomlkit.container import Container
    from tomlkit.items import Table

    container = doc
    for segment in path:
        item = container.item(segment) if segment in container else None
        if not isinstance(item, Table):
            return None
        container = item.value
    return container if isinstance(container, Container) else None


def _index(body: list[tuple[Any, Any]], key: str) -> int | None:
    for i, (k, _) in enumerate(body):
        if k is not None and k.key == key:
            return i
    return None


def _comment_run(body: list[tuple[Any, Any]], end: int) -> int:
    """The start of the run of comment items right before ``body[end]``."""
    from tomlkit.items import Comment

    start = end
    while start > 0 and body[start - 1][0] is None and isinstance(body[start - 1][1], Comment):
        start -= 1
    return start


def _comment_lines(doc: Any) -> set[str]:
    return {line.strip() for line in doc.as_string().splitlines() if line.strip().startswith("#")}


def _comments_above(new: Any, path: Path_, known: set[str]) -> list[tuple[Any, Any]]:
    """The comment lines right above the item at *path* of *new* that are new to the user."""
    from tomlkit.items import Table

    source = _body_container(new, path[:-1])
    at = None if source is None else _index(source.body, path[-1])
    if source is None or at is None:
        return []
    item = source.body[at][1]
    if isinstance(item, Table) and at > 0 and isinstance(source.body[at - 1][1], Table):
        above = source.body[at - 1][1].value.body  # comments above a header end the table before
    else:
        above = source.body[:at]
    start = _comment_run(above, len(above))
    return [entry for entry in above[start:] if entry[1].as_string().strip() not in known]


def _insert(yours: Any, new: Any, path: Path_, comments: list[tuple[Any, Any]]) -> bool:
    """Copy the item at *path* of *new*, after *comments*, into *yours*."""
    from tomlkit.items import Table, Whitespace

    target = _body_container(yours, path[:-1])
    source = _body_container(new, path[:-1])
    at = None if source is None else _index(source.body, path[-1])
    if target is None or source is None or at is None:
        return False
    item = source.body[at][1]
    body = target.body
    if isinstance(item, Table):
        if at + 1 < len(source.body):  # its trailing comments belong to the next table
            del item.value.body[_comment_run(item.value.body, len(item.value.body)) :]
        if path[:-1]:
            position = _comment_run(body, len(body))
        else:
            while item.value.body and isinstance(item.value.body[-1][1], Whitespace):
                item.value.body.pop()  # appended last: no blank line at the end of the file
            position = len(body)
            last = body[-1][1] if body else None
            tail = last.value.body[-1][1] if isinstance(last, Table) and last.value.body else last
            if body and not isinstance(tail, Whitespace):
                body.append((None, Whitespace("\n")))
                position += 1
    else:
        earlier = [k.key for k, _ in source.body[:at] if k is not None]
        found = [i for name in earlier if (i := _index(body, name)) is not None]
        position = max(found) + 1 if found else 0
    body[position:position] = [*comments, (source.body[at][0], item)]
    return True


def _expected(yours: dict[str, Any], new: Mapping[str, Any], added: list[Path_]) -> dict[str, Any]:
    result = copy.deepcopy(yours)
    for where in added:
        parent: Any = result
        source: Any = new
        for segment in where[:-1]:
            parent, source = parent[segment], source[segment]
        parent[where[-1]] = copy.deepcopy(source[where[-1]])
    return result


def _fallback(yours_text: str, new: Any, added: list[Path_]) -> str:
    """Add the keys with tomlkit's own placement (their comment lines are not carried)."""
    import tomlkit

    doc = tomlkit.parse(yours_text)
    for where in added:
        parent: Any = doc
        source: Any = new
        for segment in where[:-1]:
            parent, source = parent[segment], source[segment]
        parent[where[-1]] = copy.deepcopy(source[where[-1]])
    return tomlkit.dumps(doc)


def merge_settings(base: str, yours: str, new: str) -> SettingsMerge:
    """Add to *yours* the keys *new* has and *base* had not; raises ValueError when a file is
    not valid TOML or the keys cannot be added."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        docs = [tomlkit.parse(text) for text in (base, yours, new)]
        plain = [tomllib.loads(text) for text in (base, yours, new)]
    except (TOMLKitError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"invalid TOML: {exc}") from None
    added: list[Path_] = []
    notes: list[str] = []
    _compare(plain[0], plain[1], plain[2], (), added, notes)
    if not added:
        return SettingsMerge(yours, (), tuple(notes))
    expected = _expected(plain[1], plain[2], added)
    known = _comment_lines(docs[0]) | _comment_lines(docs[1])
    attempts = []
    try:
        comments = [_comments_above(docs[2], where, known) for where in added]
        if all(_insert(docs[1], docs[2], w, c) for w, c in zip(added, comments, strict=True)):
            attempts.append(docs[1].as_string())
    except (TOMLKitError, ValueError, TypeError, KeyError):
        pass
    with contextlib.suppress(TOMLKitError, ValueError, TypeError, KeyError):
        attempts.append(_fallback(yours, tomlkit.parse(new), added))
    for text in attempts:
        try:
            if tomllib.loads(text) == expected:
                if "\r\n" in yours:
                    text = text.replace("\r\n", "\n").replace("\n", "\r\n")
                return SettingsMerge(text, tuple(_dotted(p) for p in added), tuple(notes))
        except tomllib.TOMLDecodeError:
            continue
    raise ValueError("cannot add " + ", ".join(_dotted(p) for p in added) + " here")
