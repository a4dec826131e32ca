"""The ``project_harness`` pytest fixture: a harness over the project the tests belong to."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cosalette.testing._project import ProjectHarness


@pytest.fixture
def project_harness(request: pytest.FixtureRequest) -> ProjectHarness:
    """A ProjectHarness over the nearest project above the test file (or the rootdir).

    The app runs with its fake adapters, a MockMqttClient and a FakeClock; start it with
    ``async with project_harness:`` or ``await project_harness.start()``.
    """
    from cosalette.testing._project import find_project_root, project_harness as make

    root = find_project_root(request.path.parent, request.config.rootpath)
    if root is None:
        pytest.fail(
            f"project_harness: no settings.toml in {request.path.parent} or above, nor above "
            f"{request.config.rootpath}; run the tests inside a cosalette project",
            pytrace=False,
        )
    return make(root)
