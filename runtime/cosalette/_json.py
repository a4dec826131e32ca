"""One JSON dialect for every payload: compact, UTF-8, no spaces."""

from __future__ import annotations

import json
from typing import Any

_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def dumps(obj: Any) -> str:
    """Serialise *obj* as compact JSON (``{"x":1}``)."""
    return _compact.encode(obj)


def dumps_pretty(obj: Any) -> str:
    """Serialise *obj* as indented JSON for files people read."""
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str)


loads = json.loads
JSONDecodeError = json.JSONDecodeError
