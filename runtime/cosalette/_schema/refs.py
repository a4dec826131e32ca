"""Internal ``$ref`` handling: JSON-pointer lookup, inlining and the load-time ref checks.

Inlining follows the contract (section 4.1): a ``$ref`` node that is a mapping value (or the
node being inlined itself) is replaced wholesale by its resolved target, dropping its sibling
keys. A ``$ref`` node that is a *list item* (``oneOf: [{$ref: ...}]``) is kept as it is; other
list items are walked, so refs nested deeper inside them are inlined (our reading of "only refs
that are mapping values").
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["RefError", "inline_refs", "lookup", "ref_problems"]


class RefError(ValueError):
    """An unresolvable or circular ``$ref``."""


def _is_ref(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("$ref"), str)


def _escape(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def lookup(root: Any, ref: str) -> Any:
    """The node *ref* (``#`` or ``#/a/b``) points at in *root*; KeyError when there is none."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        raise KeyError(ref)  # external documents are not supported
    node = root
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(ref)
    return node


class _Inliner:
    """Copies a tree with its mapping-valued refs inlined, recording every problem met."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.problems: list[tuple[str, str, str]] = []  # (kind, ref, where)

    def node(self, value: Any, where: str, stack: tuple[str, ...]) -> Any:
        if _is_ref(value):
            return self.ref(value, where, stack)
        if isinstance(value, dict):
            return {k: self.node(v, f"{where}/{_escape(k)}", stack) for k, v in value.items()}
        if isinstance(value, list):
            return [
                copy.deepcopy(item) if _is_ref(item) else self.node(item, f"{where}/{i}", stack)
                for i, item in enumerate(value)
            ]
        return value

    def ref(self, value: dict[str, Any], where: str, stack: tuple[str, ...]) -> Any:
        ref: str = value["$ref"]
        if ref in stack:
            self.problems.append(("circular", ref, where))
            return copy.deepcopy(value)
        try:
            target = lookup(self.root, ref)
        except KeyError:
            self.problems.append(("unresolvable", ref, where))
            return copy.deepcopy(value)
        return self.node(target, ref, (*stack, ref))


def inline_refs(node: Any, root: Any) -> Any:
    """A copy of *node* with its internal refs (looked up in *root*) inlined; RefError if one
    cannot be resolved or is circular."""
    inliner = _Inliner(root)
    result = inliner.node(node, "#", ())
    if inliner.problems:
        raise RefError(_message(*inliner.problems[0]))
    return result


def _message(kind: str, ref: str, where: str) -> str:
    return f"{kind} $ref {ref!r} at {where}"


def _all_refs(node: Any, where: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.append((node["$ref"], where))
        for key, value in node.items():
            found += _all_refs(value, f"{where}/{_escape(key)}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += _all_refs(item, f"{where}/{i}")
    return found


def ref_problems(doc: Any) -> list[str]:
    """Every unresolvable ``$ref`` (anywhere, list items too) and every circular one (one line
    per ref), in document order."""
    problems: list[str] = []
    for ref, where in _all_refs(doc, "#"):
        try:
            lookup(doc, ref)
        except KeyError:
            problems.append(_message("unresolvable", ref, where))
    inliner = _Inliner(doc)
    inliner.node(doc, "#", ())
    circular: set[str] = set()
    for kind, ref, where in inliner.problems:
        if kind == "circular" and ref not in circular:
            circular.add(ref)
            problems.append(_message(kind, ref, where))
    return problems
