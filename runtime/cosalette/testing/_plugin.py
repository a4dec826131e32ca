"""pytest plugin (entry point ``cosalette``): fixtures and plain ``async def`` tests."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from cosalette._mqtt.doubles import MockMqttClient
from cosalette.testing._clock import FakeClock
from cosalette.testing._harness import AppHarness


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh event loop, unless pytest-asyncio claims them."""
    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    if _claimed_by_pytest_asyncio(pyfuncitem):
        return None
    wanted = inspect.signature(func).parameters
    kwargs = {name: value for name, value in pyfuncitem.funcargs.items() if name in wanted}
    asyncio.run(func(**kwargs))
    return True


def _claimed_by_pytest_asyncio(item: pytest.Function) -> bool:
    """pytest-asyncio runs marked tests, and every async test in its auto mode."""
    config = item.config
    if not config.pluginmanager.has_plugin("asyncio"):
        return False
    if item.get_closest_marker("asyncio") is not None:
        return True
    try:
        return bool(config.getini("asyncio_mode") == "auto")
    except ValueError:
        return False


@pytest.fixture
def fake_clock() -> FakeClock:
    """A FakeClock starting at 0."""
    return FakeClock()


@pytest.fixture
def mock_mqtt() -> Iterator[MockMqttClient]:
    """A fresh MockMqttClient."""
    client = MockMqttClient()
    yield client
    client.reset()


@pytest.fixture
def app_harness() -> AppHarness:
    """An AppHarness around a fresh App named ``testapp``."""
    return AppHarness.create()


def pytest_configure(config: Any) -> None:
    """Declare the marker users may put on async tests."""
    config.addinivalue_line("markers", "cosalette: test uses the cosalette testing kit")


from cosalette.testing._project_plugin import (  # noqa: E402, F401
    project_harness,
    pytest_runtest_makereport,
)
