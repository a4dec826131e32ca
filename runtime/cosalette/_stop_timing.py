"""How long stopping a bridge may take: the teardown's budgets, which the runtime, the
process watchdog and ``cosactl deploy`` (stop timeouts of units and containers) all follow.
Import-light on purpose: cosactl reads it without loading the runtime.
"""

from __future__ import annotations

__all__ = ["CANCEL_GRACE", "STOP_LIMIT", "TEARDOWN_GRACE", "TEARDOWN_MARGIN"]

TEARDOWN_GRACE = 5.0
"""Seconds the handlers get to finish once shutdown is requested."""
CANCEL_GRACE = 1.0
"""Seconds a cancelled handler gets to end before it is abandoned."""
TEARDOWN_MARGIN = 5.0
"""Seconds the rest of teardown may take (offline status, lifespan, adapters, disconnect)."""
STOP_LIMIT = TEARDOWN_GRACE + TEARDOWN_MARGIN
"""The longest a stop takes before the process watchdog ends the process."""
