"""`cosactl update` for the files `cosactl add` created: each recorded add is re-rendered with
the new template's snippets and its recorded options, and merged into the project.

Per file the add created, with *recorded* the sha256 and text (``base``) the add or the last
update wrote, *yours* the project's file and *new* the new rendering:

* yours is gone: reported, not re-created;
* new equals what was recorded, or yours equals new: nothing to do (``unchanged``);
* yours is as recorded (by sha256 or text): replaced by the new rendering (``update``);
* both changed: a line-based three-way merge against the recorded text (``merge``) or a
  ``conflict``; an entry recorded without the text (an older cosactl) always conflicts;
* a file the snippet now renders that the add did not create: ``create``d when absent.

The snippet's settings.toml fragment is never applied again: ``[devices.<name>]`` stays as it is.
Afterwards each entry records the new rendering (sha256 and text) as what it wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from cosactl._edit import GenerateError, recorded_texts, sha256_text
from cosactl._update.files import FileUpdate, conflict, diff, read_file
from cosactl._update.merge import merge3

__all__ = ["added_paths", "plan_added"]


def _inside(rel: str) -> bool:
    pure = PurePosixPath(rel)
    return bool(rel) and not pure.is_absolute() and ".." not in pure.parts


def _digests(entry: Mapping[str, Any]) -> dict[str, str] | None:
    """The entry's ``files`` (path → sha256); None for an entry without them."""
    files = entry.get("files")
    if not isinstance(files, dict):
        return None
    return {k: v for k, v in files.items() if isinstance(v, str) and _inside(str(k))}


def added_paths(record: Mapping[str, Any]) -> set[str]:
    """Every file a recorded add created."""
    paths: set[str] = set()
    for entry in record.get("added", []):
        if isinstance(entry, dict):
            paths |= set(_digests(entry) or {})
    return paths


def _decide(
    rel: str,
    digest: str,
    base: str | None,
    yours: str | None,
    new: str,
    version: str,
    inline: bool,
) -> FileUpdate:
    label = f"template {version}"
    pristine = new == base or sha256_text(new) == digest  # the snippet did not change it
    if yours is None:
        if pristine:
            return FileUpdate("unchanged", rel, notes=("you deleted it",))
        return FileUpdate("keep", rel, notes=("you deleted it; the snippet changed it",))
    if pristine or yours == new:
        return FileUpdate("unchanged", rel)
    if sha256_text(yours) == digest or yours == base:
        return FileUpdate("update", rel, content=new, diff=diff(rel, yours, new, label))
    notes: list[str] = []
    if base is None:
        notes.append("no recorded base to merge from (added by an older cosactl)")
    else:
        result = merge3(base, yours, new, label=version)
        if result.clean:
            shown = diff(rel, yours, result.text, "merged")
            return FileUpdate("merge", rel, content=result.text, diff=shown)
        notes.append(f"{result.conflicts} conflicting hunk(s)")
    return conflict(rel, base, yours, new, version, inline, notes)


def _origin(update: FileUpdate, what: str) -> FileUpdate:
    """*update* with a note naming the add it belongs to (not on a quiet ``unchanged``)."""
    if update.action == "unchanged":
        return update
    notes = (f"from `cosactl add {what}`", *update.notes)
    return FileUpdate(
        update.action, update.path, update.content, update.sidecar, update.diff, notes
    )


def _entry(
    root: Path,
    template: Path,
    entry: dict[str, Any],
    version: str,
    inline: bool,
    taken: set[str],
) -> tuple[list[FileUpdate], dict[str, Any]]:
    """One add's file updates and its new record entry."""
    import jinja2

    from cosactl.generate import render_add

    digests = _digests(entry)
    what = f"{entry.get('archetype')} {entry.get('name')}"
    if digests is None:  # recorded before cosactl kept the files: nothing known to update
        return [], entry
    options = entry.get("options")
    try:
        new_files, _fragment = render_add(
            root,
            str(entry["archetype"]),
            str(entry["name"]),
            options if isinstance(options, dict) else {},
            frozenset(digests),
            template,
        )
    except (
        GenerateError,
        jinja2.TemplateError,
        KeyError,
        TypeError,
        ValueError,
        SyntaxError,
        OSError,
    ) as exc:
        note = f"cannot render it with the new snippets ({exc}): its files are left as they are"
        return [FileUpdate("keep", f"({what})", notes=(note,))], entry
    texts = recorded_texts(entry)
    files, bases = dict(digests), dict(texts)
    updates: list[FileUpdate] = []
    for rel in sorted(set(digests) | {r for r in new_files if _inside(r)}):
        new = new_files.get(rel)
        if rel in taken or new is None:  # a template file, or no longer in the snippet: kept
            continue
        taken.add(rel)
        yours = read_file(root / rel)
        if rel in digests:
            update = _decide(rel, digests[rel], texts.get(rel), yours, new, version, inline)
        elif yours is None:
            shown = diff(rel, "", new, f"template {version}")
            update = FileUpdate("create", rel, content=new, diff=shown)
        else:  # there before, not the add's: left alone
            continue
        files[rel], bases[rel] = sha256_text(new), new
        updates.append(_origin(update, what))
    fresh = {**entry, "files": dict(sorted(files.items()))}
    if bases or "base" in entry:
        fresh["base"] = dict(sorted(bases.items()))
    return updates, fresh


def plan_added(
    root: Path,
    template: Path,
    record: Mapping[str, Any],
    version: str,
    inline: bool,
    taken: set[str],
) -> tuple[list[FileUpdate], list[Any]]:
    """Every recorded add's file updates, and the record's new ``added`` list. Paths in *taken*
    (the template's files) are left to the template's update."""
    updates: list[FileUpdate] = []
    entries: list[Any] = []
    for entry in record.get("added", []):
        if not isinstance(entry, dict):
            entries.append(entry)
            continue
        found, fresh = _entry(root, template, entry, version, inline, taken)
        updates += found
        entries.append(fresh)
    return updates, entries
