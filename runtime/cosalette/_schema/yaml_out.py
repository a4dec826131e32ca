"""YAML text as the schema commands print it (contract section 3.1)."""

from __future__ import annotations

from typing import Any

__all__ = ["dump_yaml"]


def dump_yaml(data: Any) -> str:
    """*data* as block-style YAML in source key order with Unicode written literally, and PyYAML's
    ``&id001``/``*id001`` anchors for objects that appear twice; no trailing newline."""
    import yaml  # here: a running bridge imports this package without writing YAML

    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return text.rstrip("\n")
