"""What `cosactl update` does, worked out before anything is written, then applied.

Per template file, with *base* the recorded pristine rendering, *yours* the project's file and
*new* the new template's rendering:

* yours == base: the file is replaced by the new version (``update``);
* new == base, or yours == new: nothing to do (``unchanged``);
* both changed: a line-based three-way merge (``merge``), or a ``conflict``; settings.toml is
  merged key by key instead (new keys added, your values kept);
* new in the template: ``create``d (an existing different file of that path is a conflict);
* gone from the template: ``remove``d when you never changed it, else kept.

A conflict leaves your file as it is and writes the template's version next to it
(``<file>.cosactl-new``), or, inline, writes the merge with conflict markers into the file.

The files `cosactl add` created are updated from the new snippets the same way
(:mod:`cosactl._update.added`), so a project already at the template's version still gets
them: the update is "up to date" only when no template file, no added file and no record
would change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosactl._edit import GenerateError, record_text, write_atomic
from cosactl._errors import EXIT_REFUSED
from cosactl._update.added import added_paths, plan_added
from cosactl._update.base import RECORD, read_record, recorded_base, render_template
from cosactl._update.files import SIDECAR, FileUpdate, conflict, diff as _diff, read_file
from cosactl._update.merge import YOURS, merge3
from cosactl._update.settings_merge import merge_settings

__all__ = ["SIDECAR", "FileUpdate", "UpdatePlan", "apply_update", "plan_update"]

SETTINGS = "settings.toml"


@dataclass(frozen=True)
class UpdatePlan:
    """Everything ``cosactl update`` would do, computed without writing anything."""

    root: Path
    old_version: str
    new_version: str
    files: tuple[FileUpdate, ...]
    record: str  # the new .cosactl.json
    record_changed: bool
    had_base: bool

    @property
    def conflicts(self) -> tuple[FileUpdate, ...]:
        return tuple(f for f in self.files if f.action == "conflict")

    @property
    def up_to_date(self) -> bool:
        """Nothing to write: every file (the template's and the added ones) is as the new
        template and snippets have it, the record too."""
        return not self.record_changed and all(f.action == "unchanged" for f in self.files)

    @property
    def writes_files(self) -> bool:
        """Whether any file other than the record is written."""
        return any(f.content is not None or f.sidecar is not None for f in self.files) or any(
            f.action == "remove" for f in self.files
        )


def _decide(
    rel: str, base: str | None, yours: str | None, new: str | None, version: str, inline: bool
) -> FileUpdate | None:
    label = f"template {version}"
    notes: list[str] = []
    if new is None:  # not (or no longer) a template file
        if base is None or yours is None:
            return None
        if yours == base:
            return FileUpdate("remove", rel, diff=_diff(rel, yours, "", label))
        return FileUpdate("keep", rel, notes=("gone from the template; you changed it: kept",))
    if yours is None:
        if base is None:
            return FileUpdate("create", rel, content=new, diff=_diff(rel, "", new, label))
        if new == base:
            return FileUpdate("unchanged", rel, notes=("you deleted it",))
        return FileUpdate("keep", rel, notes=("you deleted it; the template changed it",))
    if yours == new:
        return FileUpdate("unchanged", rel)
    if base is None:
        notes.append("no recorded base to merge from")
    elif yours == base:
        return FileUpdate("update", rel, content=new, diff=_diff(rel, yours, new, label))
    elif new == base:
        return FileUpdate("unchanged", rel)
    else:
        if rel == SETTINGS:
            try:
                merged = merge_settings(base, yours, new)
            except ValueError as exc:
                notes.append(f"key-by-key merge failed ({exc}); merged by lines")
            else:
                added = tuple(f"added {key}" for key in merged.added)
                if merged.text == yours:
                    return FileUpdate("unchanged", rel, notes=merged.notes)
                return FileUpdate(
                    "merge",
                    rel,
                    content=merged.text,
                    diff=_diff(rel, yours, merged.text, "merged"),
                    notes=added + merged.notes,
                )
        result = merge3(base, yours, new, label=version)
        if result.clean:
            diff = _diff(rel, yours, result.text, "merged")
            return FileUpdate("merge", rel, content=result.text, diff=diff, notes=tuple(notes))
        notes.append(f"{result.conflicts} conflicting hunk(s)")
    return conflict(rel, base, yours, new, version, inline, notes)


def _new_record(record: dict[str, Any], rendered: str, files: dict[str, str]) -> dict[str, Any]:
    """The project's record with the new version and base; its answers and adds are kept."""
    try:
        fresh = json.loads(rendered)
    except ValueError:
        fresh = {}
    data = dict(record)
    if isinstance(fresh, dict):
        for key, value in fresh.items():
            if key == "answers" and isinstance(value, dict):
                data["answers"] = {**value, **data["answers"]}
            elif key == "template_version" or key not in data:
                data[key] = value
    data["base"] = dict(sorted(files.items()))
    return data


def plan_update(root: Path, template: Path, inline: bool = False) -> UpdatePlan:
    """Work out what updating *root* to *template* changes; writes nothing."""
    record = read_record(root)
    old_version = str(record.get("template_version", ""))
    new_files, rendered_record = render_template(template, record["answers"])
    new_record = _new_record(record, rendered_record, new_files)
    new_version = str(new_record.get("template_version", ""))
    base = recorded_base(record)
    paths = sorted(set(base or {}) | set(new_files) | added_paths(record))
    leftovers = [f"{rel}{SIDECAR}" for rel in paths if (root / f"{rel}{SIDECAR}").is_file()]
    if leftovers:
        raise GenerateError(
            f"{', '.join(leftovers)}: left by an earlier update; merge each into its file by "
            "hand and delete it, then run cosactl update again",
            EXIT_REFUSED,
        )
    marked = [rel for rel in paths if YOURS in (read_file(root / rel) or "").splitlines()]
    if marked:
        raise GenerateError(
            f"{', '.join(marked)}: still has conflict markers from an earlier update "
            f"({YOURS}); resolve them, then run cosactl update again",
            EXIT_REFUSED,
        )
    had_base = base is not None
    if base is None and old_version == new_version:
        base = dict(new_files)  # the same template: its rendering is the base
    files: list[FileUpdate] = []
    taken = set(base or {}) | set(new_files)
    for rel in sorted(taken):
        old, new = (base or {}).get(rel), new_files.get(rel)
        decided = _decide(rel, old, read_file(root / rel), new, new_version, inline)
        if decided is not None:
            files.append(decided)
    added, entries = plan_added(root, template, record, new_version, inline, taken)
    files += added
    if "added" in record:
        new_record["added"] = entries
    return UpdatePlan(
        root,
        old_version,
        new_version,
        tuple(files),
        record_text(new_record),
        new_record != record,
        had_base,
    )


def apply_update(plan: UpdatePlan) -> None:
    """Write the plan: each file atomically, the record (the new base) last."""
    for update in plan.files:
        target = plan.root / update.path
        if update.action == "remove":
            target.unlink(missing_ok=True)
        if update.content is not None:
            write_atomic(target, update.content)
        if update.sidecar is not None:
            write_atomic(target.with_name(target.name + SIDECAR), update.sidecar)
    if plan.record_changed:
        write_atomic(plan.root / RECORD, plan.record)
