"""A line-based three-way merge (diff3 style), for `cosactl update`.

Both sides are diffed against the base with :class:`difflib.SequenceMatcher`. A change made on
one side only is taken; changes on both sides whose base ranges overlap (or touch, when one of
them inserts lines) form one hunk: taken once when both sides made the same change, otherwise a
conflict, written between markers::

    <<<<<<< yours
    your lines
    ||||||| base            (only with show_base=True)
    the base lines
    =======
    the template's lines
    >>>>>>> template 2
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MergeResult", "merge3"]

YOURS = "<<<<<<< yours"
BASE = "||||||| base"
SEPARATOR = "======="
THEIRS = ">>>>>>> template"


@dataclass(frozen=True)
class MergeResult:
    """The merged text and how many hunks conflict (0: a clean merge)."""

    text: str
    conflicts: int

    @property
    def clean(self) -> bool:
        return self.conflicts == 0


@dataclass(frozen=True)
class _Edit:
    """Base lines ``[start, end)`` replaced by *lines* on one side (0: yours, 1: template)."""

    start: int
    end: int
    lines: tuple[str, ...]
    side: int


def _edits(base: Sequence[str], other: Sequence[str], side: int) -> list[_Edit]:
    matcher = difflib.SequenceMatcher(None, base, other, autojunk=False)
    return [
        _Edit(i1, i2, tuple(other[j1:j2]), side)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _touch(a: _Edit, b: _Edit) -> bool:
    """Whether two edits concern the same base lines (an insertion touches its neighbours)."""
    if a.start < b.end and b.start < a.end:
        return True
    inserts = a.start == a.end or b.start == b.end
    return inserts and a.start <= b.end and b.start <= a.end


def _clusters(edits: list[_Edit]) -> list[list[_Edit]]:
    """*edits* grouped into runs where each touches another edit of its run."""
    clusters: list[list[_Edit]] = []
    for edit in sorted(edits, key=lambda e: (e.start, e.end, e.side)):
        if clusters and any(_touch(edit, other) for other in clusters[-1]):
            clusters[-1].append(edit)
        else:
            clusters.append([edit])
    return clusters


def _apply(base: Sequence[str], lo: int, hi: int, edits: list[_Edit]) -> list[str]:
    """Base lines ``[lo, hi)`` with one side's *edits* (sorted, disjoint) applied."""
    out: list[str] = []
    position = lo
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        out.extend(base[position : edit.start])
        out.extend(edit.lines)
        position = edit.end
    out.extend(base[position:hi])
    return out


def _terminated(lines: list[str], newline: str) -> list[str]:
    """*lines* with a line end on the last one, so a marker after it starts its own line."""
    if lines and not lines[-1].endswith(("\n", "\r")):
        return [*lines[:-1], lines[-1] + newline]
    return lines


def merge3(
    base: str,
    yours: str,
    theirs: str,
    *,
    label: str = "",
    show_base: bool = False,
) -> MergeResult:
    """Merge the changes base → *yours* and base → *theirs*.

    *label* follows ``>>>>>>> template`` (e.g. the template version); *show_base* adds the
    base's lines to each conflict (diff3 style).
    """
    if yours == theirs:
        return MergeResult(yours, 0)
    if base == yours:
        return MergeResult(theirs, 0)
    if base == theirs:
        return MergeResult(yours, 0)
    old = base.splitlines(keepends=True)
    newline = "\r\n" if "\r\n" in yours else "\n"
    edits = _edits(old, yours.splitlines(keepends=True), 0)
    edits += _edits(old, theirs.splitlines(keepends=True), 1)
    out: list[str] = []
    conflicts = 0
    position = 0
    for cluster in _clusters(edits):
        lo = min(e.start for e in cluster)
        hi = max(e.end for e in cluster)
        out.extend(old[position:lo])
        position = hi
        mine = [e for e in cluster if e.side == 0]
        other = [e for e in cluster if e.side == 1]
        ours_region = _apply(old, lo, hi, mine)
        theirs_region = _apply(old, lo, hi, other)
        if not mine or not other or ours_region == theirs_region:
            out.extend(theirs_region if not mine else ours_region)
            continue
        conflicts += 1
        out = _terminated(out, newline)
        out.append(YOURS + newline)
        out.extend(_terminated(ours_region, newline))
        if show_base:
            out.append(BASE + newline)
            out.extend(_terminated(old[lo:hi], newline))
        out.append(SEPARATOR + newline)
        out.extend(_terminated(theirs_region, newline))
        out.append(f"{THEIRS} {label}".rstrip() + newline)
    out.extend(old[position:])
    return MergeResult("".join(out), conflicts)
