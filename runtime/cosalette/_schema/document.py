"""Loading an AsyncAPI 3.0 schema file, the checks every ``schema`` command runs first, and the
``validate`` summary (contract sections 3.3 and 3.4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cosalette._schema.refs import inline_refs, ref_problems

__all__ = [
    "SchemaLoadError",
    "app_names",
    "is_network_level",
    "load_schema",
    "resolve_refs",
    "validate_summary",
]

HINT = "Hint: Install schema dependencies with: pip install cosalette[schema]"
ENFORCEMENT_MODES = ("strict", "warn", "off")
ARCHETYPES = ("telemetry", "command", "device")


class SchemaLoadError(Exception):
    """A schema file that could not be read or failed the load checks; *errors* lists why."""

    def __init__(self, path: Path, errors: list[str]) -> None:
        self.path = path
        self.errors = errors
        super().__init__(self.headline())

    def headline(self) -> str:
        """The ``Error: Failed to load schema from file://...`` line(s), without the hint."""
        prefix = f"Error: Failed to load schema from file://{self.path}"
        if len(self.errors) == 1:
            return f"{prefix}: {self.errors[0]}"
        bullets = "".join(f"\n  - {error}" for error in self.errors)
        return f"{prefix} ({len(self.errors)} errors):{bullets}"

    def render(self) -> str:
        """The whole stderr text of a failed load (headline, blank line, hint), no final newline."""
        return f"{self.headline()}\n\n{HINT}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _read(path: Path) -> Any:
    """The parsed file; SchemaLoadError when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaLoadError(path, [f"cannot read file: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise SchemaLoadError(path, ["cannot read file: not UTF-8 text"]) from exc
    import yaml  # here: a running bridge imports this package without reading YAML

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise SchemaLoadError(path, [f"invalid YAML/JSON: {problem}{where}"]) from exc


def _channel_errors(cid: str, channel: Any) -> list[str]:
    if not isinstance(channel, dict):
        return [f"channel {cid!r} must be a mapping, not {_kind(channel)}"]
    errors: list[str] = []
    archetype = channel.get("x-cosalette-archetype")
    if "x-cosalette-archetype" in channel and archetype not in ARCHETYPES:
        errors.append(
            f"channel {cid!r}: x-cosalette-archetype must be one of "
            f"{', '.join(ARCHETYPES)} (got {archetype!r})"
        )
    requires = channel.get("x-cosalette-requires")
    if "x-cosalette-requires" in channel and not (
        isinstance(requires, list)
        and all(isinstance(r, dict) and isinstance(r.get("tag"), str) for r in requires)
    ):
        errors.append(f"channel {cid!r}: x-cosalette-requires must be a list of {{tag: ...}}")
    for key in ("x-cosalette-app", "x-cosalette-coalescing-group"):
        value = channel.get(key)
        if key in channel and not (isinstance(value, str) and value.strip()):
            errors.append(f"channel {cid!r}: {key} must be a non-empty string")
    scope = channel.get("x-cosalette-scope")
    if "x-cosalette-scope" in channel and not isinstance(scope, str):
        errors.append(f"channel {cid!r}: x-cosalette-scope must be a string, not {_kind(scope)}")
    return errors


def _document_errors(doc: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    version = doc.get("asyncapi")
    if not (isinstance(version, str) and version.startswith("3.0.")):
        errors.append(f"unsupported AsyncAPI version {version!r}: expected 3.0.x")
    enforcement = doc.get("x-cosalette-enforcement")
    if "x-cosalette-enforcement" in doc and not isinstance(enforcement, dict):
        errors.append("x-cosalette-enforcement must be a mapping")
    elif isinstance(enforcement, dict) and enforcement.get("mode", "warn") not in ENFORCEMENT_MODES:
        errors.append(
            "x-cosalette-enforcement.mode must be one of "
            f"{', '.join(ENFORCEMENT_MODES)} (got {enforcement['mode']!r})"
        )
    for key in ("info", "channels", "operations", "components"):
        if key in doc and not isinstance(doc[key], dict):
            errors.append(f"{key!r} must be a mapping, not {_kind(doc[key])}")
    channels = doc.get("channels")
    if isinstance(channels, dict):
        for cid, channel in channels.items():
            errors += _channel_errors(str(cid), channel)
    return errors + ref_problems(doc)


def load_schema(path: str | Path) -> dict[str, Any]:
    """The parsed schema file (YAML or JSON, refs not inlined); SchemaLoadError listing every
    problem when it cannot be read or fails the load checks."""
    path = Path(path).resolve()
    doc = _read(path)
    if not isinstance(doc, dict):
        raise SchemaLoadError(path, [f"the document must be a mapping, not {_kind(doc)}"])
    errors = _document_errors(doc)
    if errors:
        raise SchemaLoadError(path, errors)
    return doc


def resolve_refs(doc: dict[str, Any]) -> dict[str, Any]:
    """A new document with every internal ``$ref`` that is a mapping value inlined (contract
    4.1); ValueError on an unresolvable or circular one (load_schema rejects those already)."""
    resolved: dict[str, Any] = inline_refs(doc, doc)
    return resolved


def is_network_level(doc: dict[str, Any]) -> bool:
    """Whether ``x-cosalette-enforcement.network_level`` is true (a schema of several apps)."""
    enforcement = doc.get("x-cosalette-enforcement")
    return isinstance(enforcement, dict) and enforcement.get("network_level") is True


def app_names(doc: dict[str, Any]) -> list[str]:
    """The distinct ``x-cosalette-app`` values of the channels, sorted."""
    channels = doc.get("channels") or {}
    apps = {c.get("x-cosalette-app") for c in channels.values() if isinstance(c, dict)}
    return sorted(a for a in apps if isinstance(a, str))


def validate_summary(doc: dict[str, Any]) -> list[str]:
    """The lines ``schema validate`` prints (4 lines; 5 for a network-level schema)."""
    info = doc.get("info") or {}
    lines = [
        f"✅ Schema validated: {info.get('title', '')} v{info.get('version', '')}",
        f"   AsyncAPI version: {doc.get('asyncapi')}",
        f"   Channels: {len(doc.get('channels') or {})}",
    ]
    if is_network_level(doc):
        lines += [f"   Apps in network: {len(app_names(doc))}", "   Schema type: network-level"]
    else:
        lines.append("   Schema type: single-app")
    return lines
