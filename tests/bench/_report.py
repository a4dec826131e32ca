"""Shared output for benchmarks: one aligned line per figure, plus JSON lines for tooling.

Set ``COSALETTE_BENCH_OUT`` to a file path to append every figure there as one JSON object.
"""

from __future__ import annotations

import json
import os

__all__ = ["report"]


def report(
    name: str,
    value: float,
    unit: str,
    floor_name: str,
    floor_value: float,
    target: str,
) -> None:
    """Print *value* and its ratio to the floor measured in the same run; never asserts."""
    ratio = value / floor_value if floor_value > 0 else float("nan")
    print(
        f"{name:<34} {value:10.1f} {unit:<8} {ratio:6.2f}x {floor_name:<22} target {target}",
        flush=True,
    )
    out = os.environ.get("COSALETTE_BENCH_OUT")
    if out:
        record = {
            "name": name,
            "value": value,
            "unit": unit,
            "floor_name": floor_name,
            "floor_value": floor_value,
            "ratio": ratio,
            "target": target,
        }
        with open(out, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
