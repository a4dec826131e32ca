"""What `cosactl update` decides for one file, and the conflict handling every file shares
(the template's files and the files `cosactl add` created)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cosactl._edit import text_diff
from cosactl._update.merge import merge3

__all__ = ["SIDECAR", "FileUpdate", "conflict", "diff", "read_file"]

SIDECAR = ".cosactl-new"  # suffix of the template's version of a conflicting file


@dataclass(frozen=True)
class FileUpdate:
    """One file: ``action`` is update, merge, conflict, create, remove, keep or unchanged."""

    action: str
    path: str
    content: str | None = None  # the file's new text (None: the file is not written)
    sidecar: str | None = None  # a conflict's template version, written to path + SIDECAR
    diff: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


def read_file(path: Path) -> str | None:
    """The file's text; None when missing. Undecodable bytes are kept as a marker text that
    equals no template file, so such a file always conflicts and is never overwritten."""
    if not path.is_file():
        return None
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "\0 undecodable \0"


def diff(rel: str, before: str, after: str, label: str) -> str:
    return text_diff(rel, before, after, "yours", label)


def conflict(
    rel: str, base: str | None, yours: str, new: str, version: str, inline: bool, notes: list[str]
) -> FileUpdate:
    """A conflict: the merge with markers written into the file (*inline*), else the file left
    as it is and the template's version written next to it."""
    if inline:
        marked = merge3(base or "", yours, new, label=version).text
        shown = diff(rel, yours, marked, "merged")
        return FileUpdate("conflict", rel, content=marked, diff=shown, notes=tuple(notes))
    notes.append(f"the template's version is in {rel}{SIDECAR}")
    shown = diff(rel, yours, new, f"template {version}")
    return FileUpdate("conflict", rel, sidecar=new, diff=shown, notes=tuple(notes))
