"""One JSON dialect for every payload: compact, UTF-8, no spaces; inbound nesting bounded."""

from __future__ import annotations

import json
from typing import Any

_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)

MAX_DEPTH = 64
"""How deeply arrays and objects of an inbound JSON payload may nest (``[[1]]`` is 2)."""


class NestingError(ValueError):
    """A JSON document nested deeper than :data:`MAX_DEPTH`, or too deep for the parser."""


def dumps(obj: Any) -> str:
    """Serialise *obj* as compact JSON (``{"x":1}``)."""
    return _compact.encode(obj)


def dumps_pretty(obj: Any) -> str:
    """Serialise *obj* as indented JSON for files people read."""
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str)


def loads_bounded(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse *text* like ``json.loads``; deeper than *max_depth* is a :class:`NestingError`.

    Never a ``RecursionError``: a document too deep for the parser is a NestingError too.
    """
    try:
        data = json.loads(text)
    except RecursionError:
        raise NestingError(f"nested deeper than {max_depth} levels") from None
    if text.count("[") + text.count("{") > max_depth and depth_exceeds(data, max_depth):
        raise NestingError(f"nested deeper than {max_depth} levels")
    return data


def depth_exceeds(data: Any, max_depth: int) -> bool:
    """Whether lists and dicts in *data* nest deeper than *max_depth* (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in node if isinstance(child, dict | list))
    return False


loads = json.loads
JSONDecodeError = json.JSONDecodeError
