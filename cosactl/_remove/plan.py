"""What `cosactl remove` does, worked out before anything is touched, then done.

The undo comes from the add's entry in .cosactl.json: the files it created (path → sha256 of
what it wrote) and the ``[devices.<name>]`` section it inserted (see
``cosactl._edit.record_change``). An entry written by an older cosactl has neither; its files
and section are then re-rendered from the recorded options and taken out only when they still
read exactly like that.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from cosactl._edit import RECORD, GenerateError, record_text, sha256_text, text_diff, write_atomic
from cosactl._errors import EXIT_PROJECT, EXIT_REFUSED, EXIT_USAGE
from cosactl._remove.section import remove_section, section_changed


@dataclass(frozen=True)
class Step:
    """One line of the report: ``action`` is remove, gone, update or keep."""

    action: str
    path: str
    detail: str = ""


@dataclass(frozen=True)
class RemovePlan:
    """Everything ``cosactl remove`` would do, computed without writing anything."""

    root: Path
    archetype: str
    name: str
    steps: tuple[Step, ...]
    deletes: tuple[str, ...] = ()
    writes: tuple[tuple[str, str], ...] = field(default=())  # (path, new text)


def _read_record(root: Path) -> dict[str, Any]:
    path = root / RECORD
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise GenerateError(
            f"{path} is missing: `cosactl remove` undoes what `cosactl add` recorded there, "
            "and this project has no record; remove the files by hand",
            EXIT_PROJECT,
        ) from None
    except ValueError as exc:
        raise GenerateError(f"{path}: invalid JSON: {exc}", EXIT_PROJECT) from None
    if not isinstance(data, dict) or not isinstance(data.get("added", []), list):
        raise GenerateError(f"{path}: not a cosactl record", EXIT_PROJECT)
    return data


def _find_entry(entries: list[dict[str, Any]], name: str, archetype: str | None) -> dict[str, Any]:
    matches = [
        e for e in entries if e.get("name") == name and archetype in (None, e.get("archetype"))
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        kinds = " and ".join(str(e.get("archetype")) for e in matches)
        raise GenerateError(
            f"{name!r} was added as {kinds}: say which with --archetype", EXIT_USAGE
        )
    known = ", ".join(f"{e.get('name')} ({e.get('archetype')})" for e in entries)
    what = f"{archetype} {name!r}" if archetype else repr(name)
    raise GenerateError(
        f"nothing named {what} was added with `cosactl add`; recorded: {known or 'nothing yet'}",
        EXIT_USAGE,
    )


def _safe(root: Path, rel: str) -> Path:
    """``root/rel``, refusing a recorded path that leads outside the project."""
    pure = PurePosixPath(rel)
    target = (root / rel).resolve()
    if pure.is_absolute() or ".." in pure.parts or not target.is_relative_to(root.resolve()):
        raise GenerateError(f"{RECORD}: refusing the recorded path {rel!r}", EXIT_PROJECT)
    return root / rel


def _rendered(root: Path, entry: Mapping[str, Any], absent: frozenset[str]) -> dict[str, str]:
    """The add's files re-rendered from its options (key "settings.toml": its fragment)."""
    from cosactl.generate import render_add

    try:
        files, fragment = render_add(
            root, str(entry["archetype"]), str(entry["name"]), entry.get("options", {}), absent
        )
    except (GenerateError, KeyError, TypeError, ValueError, SyntaxError):
        return {}
    if fragment is not None:
        files["settings.toml"] = fragment
    return files


def _diff(rel: str, old: str | None, new: str) -> str:
    if old is None:
        return f"--- {rel}: changed since `cosactl add` (its original cannot be re-rendered)\n"
    return text_diff(rel, old, new, "as added", "yours")


def _users(
    root: Path, entries: list[dict[str, Any]], entry: Mapping[str, Any], deletes: list[str]
) -> list[str]:
    """Other adds and project files that use an adapter module about to be deleted."""
    modules = {
        PurePosixPath(rel).stem
        for rel in deletes
        if PurePosixPath(rel).parent.as_posix() == "adapters" and rel.endswith(".py")
    }
    users: list[str] = []
    for other in entries:
        adapter = (other.get("options") or {}).get("adapter")
        if other is not entry and adapter in modules:
            users.append(f"{other.get('archetype')} {other.get('name')} (--adapter {adapter})")
    for module in sorted(modules):
        uses = re.compile(
            rf"^\s*(from\s+adapters\.{module}\s+import|import\s+adapters\.{module}\b)", re.M
        )
        for folder in ("devices", "routers", "adapters"):
            for path in sorted((root / folder).glob("*.py")):
                rel = f"{folder}/{path.name}"
                text = path.read_text("utf-8", errors="replace")
                if rel not in deletes and uses.search(text):
                    users.append(rel)
    return users


def plan_remove(
    root: Path, name: str, archetype: str | None = None, force: bool = False
) -> RemovePlan:
    """Work out the undo of the add of *name*; refusals are :class:`GenerateError`."""
    data = _read_record(root)
    entries = [e for e in data.get("added", []) if isinstance(e, dict)]
    entry = _find_entry(entries, name, archetype)
    kind = str(entry.get("archetype"))
    legacy = not isinstance(entry.get("files"), dict)
    if legacy:
        pristine = _rendered(root, entry, frozenset())
        files = {rel: sha256_text(t) for rel, t in pristine.items() if rel != "settings.toml"}
    else:
        files = {str(k): str(v) for k, v in entry["files"].items()}
        pristine = _rendered(root, entry, frozenset(files))
    steps: list[Step] = []
    if legacy and not pristine:
        steps.append(
            Step(
                "keep",
                f"{kind} {name}",
                "(an older record that cannot be re-rendered: remove its files by hand)",
            )
        )
    deletes: list[str] = []
    conflicts: list[str] = []
    for rel, digest in sorted(files.items()):
        path = _safe(root, rel)
        if not path.is_file():
            steps.append(Step("gone", rel, "(already deleted)"))
            continue
        current = path.read_bytes().decode("utf-8", errors="replace")
        if sha256_text(current) != digest:
            if legacy:  # an older record: it may have been there before the add
                steps.append(Step("keep", rel, "(differs from what add would write)"))
                continue
            old = pristine.get(rel)
            if old is not None and sha256_text(old) != digest:
                old = None
            conflicts.append(_diff(rel, old, current))
            if not force:
                continue
        steps.append(Step("remove", rel))
        deletes.append(rel)
    writes: list[tuple[str, str]] = []
    section = entry.get("settings")
    if legacy and "settings.toml" in pristine:
        section = {"sha256": sha256_text(pristine["settings.toml"]), "legacy": True}
    if isinstance(section, dict):
        writes += _section(root, name, section, pristine, force, steps, conflicts)
    if conflicts and not force:
        raise GenerateError(
            f"refusing to remove {name}: you changed what `cosactl add` wrote (diff below); "
            f"nothing was removed. --force removes it anyway.\n{''.join(conflicts).rstrip()}",
            EXIT_REFUSED,
        )
    users = _users(root, entries, entry, deletes)
    if users and not force:
        adapters = ", ".join(d for d in deletes if d.startswith("adapters/"))
        raise GenerateError(
            f"refusing to remove {name}: {adapters} "
            f"is used by {', '.join(users)}; nothing was removed. Remove those first, or "
            "--force removes it anyway (they then break).",
            EXIT_REFUSED,
        )
    data["added"] = [e for e in data.get("added", []) if e is not entry]
    writes.append((RECORD, record_text(data)))
    steps.append(Step("update", RECORD, f"(forget {kind} {name})"))
    return RemovePlan(root, kind, name, tuple(steps), tuple(deletes), tuple(writes))


def _section(
    root: Path,
    name: str,
    record: dict[str, Any],
    pristine: Mapping[str, str],
    force: bool,
    steps: list[Step],
    conflicts: list[str],
) -> list[tuple[str, str]]:
    """The settings.toml write that takes ``[devices.<name>]`` out, if it is still there."""
    path = root / "settings.toml"
    text = path.read_bytes().decode("utf-8")
    if record.get("legacy") and "\r\n" in text:
        record["sha256"] = sha256_text(pristine["settings.toml"].replace("\n", "\r\n"))
    try:
        devices = tomllib.loads(text).get("devices", {})
    except tomllib.TOMLDecodeError as exc:
        raise GenerateError(f"{path}: invalid TOML: {exc}", EXIT_PROJECT) from None
    if not isinstance(devices, dict) or name not in devices:
        steps.append(Step("gone", "settings.toml", f"[devices.{name}] (already taken out)"))
        return []
    changed = section_changed(text, name, record)
    if changed is not None:
        if record.get("legacy"):
            steps.append(Step("keep", "settings.toml", f"[devices.{name}] (differs from add's)"))
            return []
        old = pristine.get("settings.toml")
        if old is not None and "\r\n" in text:
            old = old.replace("\n", "\r\n")
        if old is not None and sha256_text(old) != record.get("sha256"):
            old = None
        conflicts.append(_diff(f"settings.toml [devices.{name}]", old, changed))
        if not force:
            return []
    new_text, _ = remove_section(text, name, record)
    steps.append(Step("update", "settings.toml", f"[devices.{name}] (taken out)"))
    return [("settings.toml", new_text)]


def apply_remove(plan: RemovePlan, pretend: bool = False) -> None:
    """Delete the files, then write settings.toml and the record (nothing under *pretend*).

    The record goes last: if anything fails midway, running remove again finishes the job.
    """
    if pretend:
        return
    for rel in plan.deletes:
        (plan.root / rel).unlink(missing_ok=True)
    for rel, text in plan.writes:
        write_atomic(plan.root / rel, text)
