"""The RabbitMQ cluster tests: opt-in (``tox -e cluster`` sets ``COSALETTE_CLUSTER=1``).

Without ``COSALETTE_CLUSTER=1`` every test here is skipped with the reason shown (``-ra``), so
the normal ``pytest -q`` run does not boot RabbitMQ. One two-node cluster serves the whole
session: the tests on node 1 run first, the failover test (which kills node 1; a node of a
two-node cluster cannot be restarted in reasonable time) runs last.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))  # broker, app helpers

from _rabbitmq import RabbitCluster, cluster_required, rabbitmq_missing

HERE = Path(__file__).resolve().parent
OPT_IN = "COSALETTE_CLUSTER"


def pytest_configure(config: pytest.Config) -> None:
    """Declare ``cluster`` so ``--strict-markers`` accepts it and ``-m cluster`` selects these."""
    config.addinivalue_line(
        "markers",
        "cluster: needs a two-node RabbitMQ cluster started by the tests (tox -e cluster)",
    )


def _enabled() -> bool:
    return os.environ.get(OPT_IN, "") not in ("", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests here ``cluster``, skip them unless opted in, and run failover last."""
    mine = [item for item in items if HERE in item.path.resolve().parents]
    if not mine:
        return
    skip = pytest.mark.skip(
        reason=f"RabbitMQ cluster tests are opt-in: run `tox -e cluster` or set {OPT_IN}=1"
    )
    for item in mine:
        item.add_marker(pytest.mark.cluster)
        if not _enabled():
            item.add_marker(skip)
    last = [item for item in mine if item.path.name == "test_failover.py"]
    items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def rabbit_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitCluster]:
    """Two clustered RabbitMQ nodes with MQTT on free 127.0.0.1 ports, for the whole session."""
    missing = rabbitmq_missing()
    if missing is not None:
        if cluster_required():
            pytest.fail(f"{missing} (COSALETTE_REQUIRE_CLUSTER=1)", pytrace=False)
        pytest.skip(missing)
    cluster = RabbitCluster(tmp_path_factory.mktemp("rabbitmq") / "cluster")
    started = time.monotonic()
    cluster.start()
    print(f"\n[cluster] 2 RabbitMQ nodes up and clustered in {time.monotonic() - started:.1f} s")
    try:
        yield cluster
    finally:
        started = time.monotonic()
        cluster.teardown()
        print(f"\n[cluster] torn down in {time.monotonic() - started:.1f} s")
