"""What every runner does with an error: log it, publish it, mark the device."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cosalette._errors import ErrorPublisher
from cosalette._health import HealthReporter


@dataclass
class DeviceReporting:
    """Error publication and heartbeat status for one device."""

    name: str
    is_root: bool
    errors: ErrorPublisher
    health: HealthReporter
    logger: logging.Logger

    async def error(self, exc: Exception, *, what: str) -> None:
        """Log *exc* with its traceback, publish it, and mark the device ``error``."""
        self.logger.error("%s failed: %s", what, exc, exc_info=exc)
        self.health.set_device_status(self.name, "error")
        await self.errors.publish(exc, device=self.name, is_root=self.is_root)

    async def bad_input(self, exc: Exception, *, topic: str) -> None:
        """Publish a rejected inbound message; the device's own status is unaffected."""
        self.logger.warning("Rejected message on %s: %s", topic, exc)
        await self.errors.publish(
            exc, device=self.name, is_root=self.is_root, details={"topic": topic}
        )

    def recovered(self, what: str) -> None:
        """Log a recovery and mark the device ``ok`` again."""
        self.logger.info("%s recovered", what)
        self.health.set_device_status(self.name, "ok")
