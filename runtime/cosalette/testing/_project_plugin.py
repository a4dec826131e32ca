"""The ``project_harness`` pytest fixture: a harness over the project the tests belong to."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from cosalette._project.errors import ProjectError

if TYPE_CHECKING:
    from cosalette.testing._project import ProjectHarness


def _chosen_store(request: pytest.FixtureRequest) -> Any:
    """A ``project_store`` fixture's value when the tests define one, else a MemoryStore."""
    try:
        return request.getfixturevalue("project_store")
    except pytest.FixtureLookupError:
        from cosalette.stores import MemoryStore

        return MemoryStore()


@pytest.fixture
def project_harness(request: pytest.FixtureRequest) -> ProjectHarness:
    """A ProjectHarness over the nearest project above the test file (or the rootdir).

    The app runs with its fake adapters, a MockMqttClient, a FakeClock and a fresh
    MemoryStore (``project_harness.store``, never the project's state files); a
    ``project_store`` fixture of the tests' own chooses another store (or None: no
    persistence). Start it with ``async with project_harness:`` or
    ``await project_harness.start()``.
    """
    from cosalette.testing._project import find_project_root, project_harness as make

    root = find_project_root(request.path.parent, request.config.rootpath)
    if root is None:
        pytest.fail(
            f"project_harness: no settings.toml in {request.path.parent} or above, nor above "
            f"{request.config.rootpath}; run the tests inside a cosalette project",
            pytrace=False,
        )
    return make(root, store=_chosen_store(request))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A ProjectError is reported as its located message alone (``settings.toml:12: ...``),
    not as a traceback through the framework."""
    report = yield
    if report.failed and call.excinfo is not None and call.excinfo.errisinstance(ProjectError):
        report.longrepr = str(call.excinfo.value)
    return report
