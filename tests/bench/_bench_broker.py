"""The benchmarks' mosquitto: one per module, on a free port (like the integration tests')."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))  # mosquitto helper
from _broker import MosquittoBroker, require_mosquitto


def module_broker(
    tmp_path_factory: pytest.TempPathFactory, extra_config: str = ""
) -> Iterator[MosquittoBroker]:
    """Body of a module-scoped ``broker`` fixture; *extra_config* adds mosquitto.conf lines."""
    executable = require_mosquitto()
    server = MosquittoBroker(
        executable, tmp_path_factory.mktemp("bench-mosquitto"), extra_config=extra_config
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
