"""Reading and editing a project's existing files for `cosactl add`, keeping the user's bytes.

settings.toml gets a ``[devices.<name>]`` section inserted as text (then checked by parsing), so
every comment, blank line and key order outside the new section stays as it was.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosactl._errors import EXIT_PROJECT, EXIT_REFUSED, EXIT_USAGE

RECORD = ".cosactl.json"
_REGISTERING = frozenset({"telemetry", "command", "device", "periodic", "stream"})
_DEVICES_KEY = re.compile(r"""(devices|"devices"|'devices')\s*(\.|$)""")
_HEADER = re.compile(r"^[ \t]*\[\[?([^\[\]]+)\]\]?[ \t]*(?:#[^\r\n]*)?\r?$")


class GenerateError(Exception):
    """A refusal or usage problem; ``exit_code`` is one of cosactl's exit codes."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Change:
    """One planned change: ``action`` is create, identical, conflict, update or exists."""

    action: str
    path: str
    detail: str = ""
    content: str | None = None  # the full new text; None when nothing is written
    diff: str = ""


def camel(name: str) -> str:
    """``magnet_sensor`` → ``MagnetSensor``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def app_name(root: Path) -> str:
    """The ``[app] name`` of settings.toml (the MQTT topic prefix), else the folder name."""
    try:
        data = tomllib.loads((root / "settings.toml").read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise GenerateError(
            f"{root / 'settings.toml'}: invalid TOML: {exc}", EXIT_PROJECT
        ) from None
    app = data.get("app", {})
    name = app.get("name") if isinstance(app, dict) else None
    return name if isinstance(name, str) and name else root.name


def port_of(path: Path, name: str) -> dict[str, str]:
    """The port class and a no-argument method of an existing adapters/<name>.py."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    ports = [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base).split(".")[-1] == "Protocol" for base in node.bases)
    ]
    ports.sort(key=lambda node: node.name != f"{camel(name)}Port")
    for port in ports:
        for item in port.body:
            if (
                isinstance(item, ast.FunctionDef)
                and not item.name.startswith("_")
                and len(item.args.args) == 1
                and not item.args.kwonlyargs
            ):
                return {"module": name, "port": port.name, "method": item.name}
    raise GenerateError(
        f"{path.name}: no Protocol with a method taking no arguments to read from; "
        "add one, or leave out --adapter and write the handler by hand",
        EXIT_USAGE,
    )


def stream_port_of(path: Path, name: str, module: str) -> dict[str, str]:
    """The fake of an existing adapters/<name>.py that feeds ``StreamablePort[Reading]``.

    Refused when another devices/ module (not *module*) streams from it: a port feeds one stream.
    """
    for other in sorted((path.parent.parent / "devices").glob("*.py")):
        text = other.read_text("utf-8", errors="replace")
        feeds = f"from adapters.{name} import" in text and ".stream(" in text
        if feeds and f"devices/{other.name}" != module:
            raise GenerateError(
                f"adapters/{name}.py already feeds the stream in devices/{other.name}; "
                "a StreamablePort feeds one stream: choose another --adapter",
                EXIT_REFUSED,
            )
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found: dict[bool, str] = {}
    for node in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
        for deco in node.decorator_list:
            if not isinstance(deco, ast.Call) or not deco.args:
                continue
            if ast.unparse(deco.args[0]).split(".")[-1] != "StreamablePort[Reading]":
                continue
            fake = any(
                k.arg == "fake" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in deco.keywords
            )
            found.setdefault(fake, node.name)
    if True not in found:
        raise GenerateError(
            f"{path.name}: no fake adapter for StreamablePort[Reading] "
            "(@adapter(StreamablePort[Reading], fake=True)); choose another --adapter",
            EXIT_USAGE,
        )
    return {"module": name, "class_name": found.get(False, camel(name)), "fake": found[True]}


def registered_names(root: Path) -> dict[str, str]:
    """Device names registered in devices/*.py → ``"devices/x.py:LINE"`` (read, not imported)."""
    found: dict[str, str] = {}
    for path in sorted((root / "devices").glob("*.py")):
        try:
            tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method = node.func.attr.removeprefix("add_")
            first = node.args[0] if node.args else None
            if (
                method in _REGISTERING
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.setdefault(first.value, f"devices/{path.name}:{node.lineno}")
    return found


def file_change(root: Path, rel: str, text: str) -> Change:
    """Create *rel*, or report it identical, or a conflict with a diff of yours → template."""
    target = root / rel
    if not target.exists():
        return Change("create", rel, content=text)
    try:
        current = target.read_text("utf-8")
    except (UnicodeDecodeError, IsADirectoryError):
        current = None
    if current == text:
        return Change("identical", rel)
    diff = text_diff(rel, current or "", text, "yours", "template")
    return Change("conflict", rel, content=text, diff=diff)


def text_diff(rel: str, before: str, after: str, before_label: str, after_label: str) -> str:
    """A unified diff of two versions of *rel*, each side labelled (``rel (yours)``)."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"{rel} ({before_label})",
            f"{rel} ({after_label})",
        )
    )


def settings_change(root: Path, name: str, fragment: str) -> Change:
    """Add ``[devices.<name>]`` to settings.toml, leaving every other byte as it was."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    path = root / "settings.toml"
    text = path.read_bytes().decode("utf-8")
    detail = f"[devices.{name}]"
    try:
        devices = tomlkit.parse(text).get("devices", {})
    except TOMLKitError as exc:
        raise GenerateError(f"{path}: invalid TOML: {exc}", EXIT_PROJECT) from None
    if not isinstance(devices, Mapping):
        raise GenerateError(f"{path}: 'devices' must be a table of sections", EXIT_PROJECT)
    if name in devices:
        return Change("exists", "settings.toml", detail)
    if "\r\n" in text:
        fragment = fragment.replace("\n", "\r\n")
    expected = tomllib.loads(text)
    expected.setdefault("devices", {})[name] = tomllib.loads(fragment)["devices"][name]
    for make in (_insert_section, _tomlkit_append):
        try:
            new_text = make(text, name, fragment)
            if new_text is not None and tomllib.loads(new_text) == expected:
                return Change("update", "settings.toml", detail, content=new_text)
        except (ValueError, TypeError, TOMLKitError):  # tomllib's and tomlkit's refusals
            continue
    raise GenerateError(
        f"{path}: cannot add {detail} here (is 'devices' an inline table?); add it by hand",
        EXIT_REFUSED,
    )


def _insert_section(text: str, name: str, fragment: str) -> str:
    """*text* with *fragment* inserted after the last ``[devices...]`` table, else at the end.

    Only inserts: removing the fragment again gives back *text* byte for byte.
    """
    lines = text.splitlines(keepends=True)
    headers = [
        (i, m.group(1).strip()) for i, line in enumerate(lines) if (m := _HEADER.match(line))
    ]
    devices = [i for i, key in headers if _DEVICES_KEY.match(key)]
    floor = devices[-1] + 1 if devices else 0
    later = [i for i, _ in headers if i >= floor] if devices else []
    end = later[0] if later else len(lines)
    if later:  # a comment block right above the next header belongs to that header
        start = end
        while start > floor and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        if start < end and start > floor and not lines[start - 1].strip():
            end = start
    while end > floor and not lines[end - 1].strip():
        end -= 1
    newline = "\r\n" if "\r\n" in text else "\n"
    head, tail = "".join(lines[:end]), "".join(lines[end:])
    if head and not head.endswith("\n"):
        head += newline
    gap = newline if tail.strip() and not tail.startswith(("\n", "\r\n")) else ""
    return f"{head}{newline if head else ''}{fragment}{gap}{tail}"


def _tomlkit_append(text: str, name: str, fragment: str) -> str | None:
    """The fallback: let tomlkit place the table (it may move blank lines around)."""
    import tomlkit

    doc = tomlkit.parse(text)
    part = tomlkit.parse(fragment)["devices"]
    devices = doc.get("devices")
    if devices is None:
        doc.append("devices", part)
    else:
        devices[name] = part[name]
    return tomlkit.dumps(doc)


def record_change(
    root: Path,
    archetype: str,
    name: str,
    opts: Mapping[str, Any],
    changes: Sequence[Change] = (),
) -> Change | None:
    """Note the add in .cosactl.json, if the project has one: its options, the files it creates
    (``files``: path → sha256 of the text written; ``base``: path → that text) and the
    ``[devices.<name>]`` section it inserts, so `cosactl remove` can undo exactly that and
    `cosactl update` can merge a newer snippet into them. Entries from before ``base`` have
    only ``files``.

    Running the same add again keeps what the first one recorded: files it finds identical,
    overwrites with ``--force`` or leaves alone (an adapter it created, now used as it is), and
    a section it finds already there.
    """
    path = root / RECORD
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    added = [e for e in data.get("added", []) if isinstance(e, dict)]
    same = [e for e in added if (e.get("archetype"), e.get("name")) == (archetype, name)]
    before = same[-1] if same else {}
    recorded = before.get("files")
    known: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
    known_base = recorded_texts(before)
    files: dict[str, str] = {}
    texts: dict[str, str] = {}
    section: dict[str, Any] | None = None
    kept: set[str] = set()
    for change in changes:
        if change.path == "settings.toml" and change.action == "update":
            section = _section_record(root, name, change.content or "")
        elif change.path == "settings.toml" and change.action == "exists":
            section = before.get("settings") if isinstance(before.get("settings"), dict) else None
        elif change.action == "create" or (change.action == "conflict" and change.path in known):
            files[change.path] = sha256_text(change.content or "")
            texts[change.path] = change.content or ""
        elif change.action == "identical" and isinstance(known.get(change.path), str):
            kept.add(change.path)
    planned = {change.path for change in changes}
    kept |= {rel for rel in known if rel not in planned}  # e.g. an adapter it created, used as is
    for rel in kept:
        if isinstance(known.get(rel), str):
            files[rel] = known[rel]
            if rel in known_base:
                texts[rel] = known_base[rel]
    entry = {
        "archetype": archetype,
        "name": name,
        "options": dict(sorted(opts.items())),
        "files": dict(sorted(files.items())),
        "base": dict(sorted(texts.items())),
        "settings": section,
    }
    if same == [entry]:
        return None
    data["added"] = [e for e in added if e not in same] + [entry]
    return Change("update", RECORD, content=record_text(data))


def recorded_texts(entry: Mapping[str, Any]) -> dict[str, str]:
    """An add entry's ``base``: path → the exact text the add (or the last update) wrote; empty
    for entries recorded before cosactl kept it."""
    base = entry.get("base")
    if not isinstance(base, dict):
        return {}
    return {k: v for k, v in base.items() if isinstance(k, str) and isinstance(v, str)}


def record_text(data: Mapping[str, Any]) -> str:
    """The text of .cosactl.json for *data*: one format for every command that writes it
    (keys sorted, non-ASCII as is), so a remove gives back the bytes an add started from."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def sha256_text(text: str) -> str:
    """The sha256 of *text* as written to disk (UTF-8, newlines as they are)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _common(a: str, b: str) -> int:
    """The length of the longest common prefix of *a* and *b*."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _section_record(root: Path, name: str, new_text: str) -> dict[str, Any]:
    """What inserting ``[devices.<name>]`` added to settings.toml: the section's sha256 and the
    blank lines inserted before (``before``) and after (``after``) it; ``None`` for both when
    the edit was not a pure insertion (tomlkit's fallback)."""
    old = (root / "settings.toml").read_bytes().decode("utf-8")
    n = len(new_text) - len(old)
    prefix = _common(old, new_text)
    suffix = _common(old[::-1], new_text[::-1])
    header = f"[devices.{name}]"
    for split in range(max(0, len(old) - suffix), min(prefix, len(old)) + 1):
        if n <= 0 or (0 < split < len(old) and old[split - 1] != "\n"):  # at a line's start
            continue
        if new_text[:split] != old[:split] or new_text[split + n :] != old[split:]:
            continue
        inserted = new_text[split : split + n]
        at = inserted.find(header)
        rest = inserted[at:]
        tail = rest[len(rest.rstrip("\r\n")) :]
        if at < 0 or not tail or inserted[:at].strip():
            continue  # the section must be whole lines, with only blank lines around it
        ending = "\r\n" if tail.startswith("\r\n") else "\n"
        body = rest[: len(rest) - len(tail)] + ending
        post = tail[len(ending) :]
        if not post.strip():
            return {"sha256": sha256_text(body), "before": inserted[:at], "after": post}
    return {"sha256": None, "before": None, "after": None}


def write_atomic(path: Path, text: str) -> None:
    """Write *text* to *path* atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.cosactl-tmp")
    with open(temporary, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    if path.exists():
        os.chmod(temporary, path.stat().st_mode & 0o7777)
    os.replace(temporary, path)
