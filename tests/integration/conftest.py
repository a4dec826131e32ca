"""Fixtures for integration tests against a real mosquitto broker (see ``_broker.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _broker import (
    AuthTlsBroker,
    Collector,
    MosquittoBroker,
    create_auth_tls_broker,
    require_mosquitto,
)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """A mosquitto on a free 127.0.0.1 port for the whole session (anonymous, no TLS).

    ``.stop()`` and ``.start()`` restart it on the same port.
    """
    broker = MosquittoBroker(require_mosquitto(), tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def broker(mosquitto: MosquittoBroker) -> MosquittoBroker:
    """The session broker, started again first if an earlier test left it stopped."""
    mosquitto.start()
    return mosquitto


@pytest.fixture
def mqtt_collector(broker: MosquittoBroker) -> Callable[..., Collector]:
    """Factory for raw observers: ``async with mqtt_collector() as c: await c.subscribe("#")``."""

    def make(**kwargs: Any) -> Collector:
        return Collector(broker.host, broker.port, **kwargs)

    return make


@pytest.fixture(scope="module")
def mosquitto_auth_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthTlsBroker]:
    """A separate broker with a password file, a plain and a TLS listener (self-signed CA)."""
    executable = require_mosquitto()
    try:
        auth = create_auth_tls_broker(executable, tmp_path_factory.mktemp("mosquitto-auth-tls"))
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    auth.broker.start()
    try:
        yield auth
    finally:
        auth.broker.stop()
