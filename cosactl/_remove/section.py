"""Taking a ``[devices.<name>]`` section out of settings.toml: the inverse of
``cosactl._edit._insert_section``.

The section is its header, the comment lines right above it (after a blank line, as
``_insert_section`` assigns them), its keys and sub-tables, up to the next other table or the
comment block right above it. With what ``cosactl add`` recorded (the blank lines it inserted
around the section) an add followed by a remove gives settings.toml back byte for byte.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cosactl._edit import _HEADER, GenerateError, sha256_text
from cosactl._errors import EXIT_PROJECT, EXIT_REFUSED


@dataclass(frozen=True)
class Section:
    """Where ``[devices.<name>]`` is in the text: ``text[start:end]`` is its block."""

    start: int
    end: int
    block: str


def _table_path(line: str) -> tuple[str, ...] | None:
    """The key path of a table header line (``[a."b".c]`` → ``("a", "b", "c")``), else None."""
    if not _HEADER.match(line):
        return None
    try:
        node: Any = tomllib.loads(line)
    except tomllib.TOMLDecodeError:
        return None
    path: list[str] = []
    while isinstance(node, dict | list) and node:
        if isinstance(node, list):
            node = node[-1]
            continue
        key = next(iter(node))
        path.append(key)
        node = node[key]
    return tuple(path)


def find_section(text: str, name: str) -> Section | None:
    """The block of ``[devices.<name>]`` in *text*, or None when it has no such header."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    own = ("devices", name)
    paths = [_table_path(line) for line in lines]
    first = next((i for i, p in enumerate(paths) if p == own), None)
    if first is None:
        return None
    following = (i for i, p in enumerate(paths) if i > first and p is not None and p[:2] != own)
    end = next(following, len(lines))
    if end < len(lines):  # a comment block after a blank line belongs to the next header
        top = end
        while top > first + 1 and lines[top - 1].lstrip().startswith("#"):
            top -= 1
        if top < end and not lines[top - 1].strip():
            end = top
    while end > first + 1 and not lines[end - 1].strip():
        end -= 1
    start = first
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    if start < first and start > 0 and lines[start - 1].strip():
        start = first  # comments right under other content are that content's
    return Section(offsets[start], offsets[end], "".join(lines[start:end]))


def remove_section(text: str, name: str, record: Mapping[str, Any] | None) -> tuple[str, str]:
    """*text* without ``[devices.<name>]``, and the block taken out ("" when it was no
    ``[devices.<name>]`` table: dotted keys or an inline table, taken out with tomlkit).

    *record* is what ``cosactl add`` recorded (``before``, ``after``: the blank lines it
    inserted around the section); without it one blank line before the section goes too.
    """
    found = find_section(text, name)
    if found is None:
        return _tomlkit_remove(text, name), ""
    start, end = found.start, found.end
    record = record or {}
    before, after = record.get("before"), record.get("after")
    if not isinstance(before, str):
        before = "\r\n" if text[:start].endswith("\r\n") else "\n"
        before = before if text[:start].endswith(before * 2) else ""
    if not isinstance(after, str):
        after = ""
    if before and text[:start].endswith(before):
        start -= len(before)
    if after and text[end:].startswith(after):
        end += len(after)
    new_text = text[:start] + text[end:]
    _check(text, new_text, name)
    return new_text, found.block


def section_changed(text: str, name: str, record: Mapping[str, Any] | None) -> str | None:
    """The section as it reads now when it differs from what ``cosactl add`` wrote, else None
    (also None when the add recorded no checksum)."""
    found = find_section(text, name)
    digest = (record or {}).get("sha256")
    if found is None:
        return f"devices.{name} (no longer a [devices.{name}] table)\n"
    if isinstance(digest, str) and sha256_text(found.block) != digest:
        return found.block
    return None


def _expected(text: str, name: str) -> dict[str, Any]:
    data = tomllib.loads(text)
    devices = data.get("devices")
    if isinstance(devices, dict):
        devices.pop(name, None)
    return data


def _check(old: str, new: str, name: str) -> None:
    expected = _expected(old, name)
    try:
        got = tomllib.loads(new)
    except tomllib.TOMLDecodeError:
        got = None
    if got is not None and expected.get("devices") == {} and "devices" not in got:
        got["devices"] = {}
    if got != expected:
        raise GenerateError(
            f"settings.toml: cannot take [devices.{name}] out without changing other settings; "
            "remove it by hand",
            EXIT_REFUSED,
        )


def _tomlkit_remove(text: str, name: str) -> str:
    """The fallback for a section that is no ``[devices.<name>]`` table (dotted keys, inline)."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        doc = tomlkit.parse(text)
        devices = doc.get("devices")
        if devices is not None and name in devices:
            del devices[name]
        new_text = tomlkit.dumps(doc)
    except TOMLKitError as exc:
        raise GenerateError(f"settings.toml: invalid TOML: {exc}", EXIT_PROJECT) from None
    _check(text, new_text, name)
    return new_text
