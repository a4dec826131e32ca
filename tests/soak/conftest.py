"""Registers the ``soak`` marker (pyproject's marker list is kept by the runtime's owners)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Declare ``soak`` so ``--strict-markers`` accepts it and ``-m soak`` selects the soak."""
    config.addinivalue_line(
        "markers", "soak: long run against a broker killed and restarted (tox -e soak)"
    )
