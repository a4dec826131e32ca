"""`cosactl remove`: the exact undo of a `cosactl add`, from what the add recorded."""

from __future__ import annotations

from cosactl._remove.plan import RemovePlan, Step, apply_remove, plan_remove

__all__ = ["RemovePlan", "Step", "apply_remove", "plan_remove"]
