"""Flattening ``a | b | c`` composites, shared by publish strategies and save policies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def flatten(composite: Any, children: Iterable[Any], *, kind: Any, what: str) -> tuple[Any, ...]:
    """*children* with nested composites of *composite*'s own type expanded in place.

    A composite exposes its flattened children as ``children``.

    Every child must be an instance of *kind* (TypeError otherwise) and there must be at least
    one (ValueError), so a composite can never silently decide nothing.
    """
    flat: list[Any] = []
    for child in children:
        if type(child) is type(composite):
            flat.extend(child.children)
        elif isinstance(child, kind):
            flat.append(child)
        else:
            raise TypeError(f"{type(composite).__name__} children must be {what}s, got {child!r}")
    if not flat:
        raise ValueError(f"{type(composite).__name__} requires at least one child {what}")
    return tuple(flat)
