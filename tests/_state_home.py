"""A pytest plugin (``-p _state_home`` in pyproject): the tests' own XDG state directory.

Default stores never touch ~/.local. Set at import, before test modules build their Apps
(the default store path is read then). Not a conftest.py: mypy checks tests/ as top-level
modules, and tests/integration has the one conftest.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_STATE_HOME = tempfile.mkdtemp(prefix="cosalette-test-state-")
os.environ["XDG_STATE_HOME"] = _STATE_HOME


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the state directory the session's default stores wrote into."""
    shutil.rmtree(_STATE_HOME, ignore_errors=True)
