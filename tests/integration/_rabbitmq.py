"""A two-node RabbitMQ cluster with the MQTT plugin on loopback, started by the tests.

Follows the measured recipe (RabbitMQ 3.10 from Debian, run as root without systemd): the
upstream scripts in ``/usr/lib/rabbitmq/bin`` are run directly (the ``/usr/sbin`` wrappers switch
user and so lose the Erlang cookie), every node and every ``rabbitmqctl`` call share a HOME with
``.erlang.cookie``, and the cluster always starts from empty data directories (restarting one
node of a two-node cluster makes the MQTT plugin wait 100 s for a Raft majority).

Every port is a free one and the cluster has its own epmd (``ERL_EPMD_PORT``), so it neither
needs nor disturbs a system RabbitMQ, and two test runs can share a machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from _broker import free_port, port_open

RABBITMQ_BIN = Path(os.environ.get("COSALETTE_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
INSTALL_HINT = (
    "RabbitMQ is needed for the cluster tests: install it with "
    "`apt-get install -y rabbitmq-server` (it provides /usr/lib/rabbitmq/bin/rabbitmq-server)"
)


def rabbitmq_missing() -> str | None:
    """Why the cluster cannot be started here (``None`` when it can)."""
    if not (RABBITMQ_BIN / "rabbitmq-server").is_file():
        return f"{RABBITMQ_BIN / 'rabbitmq-server'} not found; {INSTALL_HINT}"
    if shutil.which("epmd") is None:
        return f"epmd (Erlang) not found; {INSTALL_HINT}"
    return None


def cluster_required() -> bool:
    """Whether ``COSALETTE_REQUIRE_CLUSTER=1`` turns a missing RabbitMQ into a failure."""
    return os.environ.get("COSALETTE_REQUIRE_CLUSTER", "") not in ("", "0")


@dataclass
class RabbitNode:
    """One node: its name, ports and directory."""

    index: int
    name: str
    directory: Path
    amqp_port: int
    dist_port: int
    mqtt_port: int
    script: subprocess.Popen[bytes] | None = None

    @property
    def pid_file(self) -> Path:
        """Where the node writes the PID of its Erlang VM."""
        return self.directory / "beam.pid"

    @property
    def running(self) -> bool:
        """Whether the node's start script is still running."""
        return self.script is not None and self.script.poll() is None

    def vm_pid(self) -> int | None:
        """The Erlang VM's PID, if the node wrote it."""
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def log(self) -> str:
        """The node's console output and the tail of its log files (for failure messages)."""
        parts = []
        for path in [self.directory / "stdout.log", *sorted((self.directory / "log").glob("*"))]:
            with contextlib.suppress(OSError):
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


class RabbitCluster:
    """Two (or more) clustered RabbitMQ nodes with MQTT on 127.0.0.1, in *base*.

    ``start()`` boots every node in parallel, waits for them and joins the others to the first
    (about 17 s); ``stop_node(i)`` kills node *i*'s VM (``kill -9``) or stops it gracefully;
    ``teardown()`` stops everything left, the cluster's epmd, and removes *base*.
    """

    host = "127.0.0.1"

    def __init__(self, base: Path, nodes: int = 2, *, cluster: bool = True) -> None:
        self.base = base
        self.home = base / "home"
        self.cluster = cluster
        self.epmd_port = free_port()
        self._epmd: subprocess.Popen[bytes] | None = None
        tag = f"{os.getpid()}x{time.monotonic_ns() % 1_000_000}"
        self.nodes = [
            RabbitNode(
                index=i,
                name=f"cos{tag}n{i}@localhost",
                directory=base / f"rabbit{i}",
                amqp_port=free_port(),
                dist_port=free_port(),
                mqtt_port=free_port(),
            )
            for i in range(1, nodes + 1)
        ]

    def node(self, index: int) -> RabbitNode:
        """Node *index* (1-based, as in the recipe)."""
        return self.nodes[index - 1]

    def mqtt_address(self, index: int) -> str:
        """``host:port`` of node *index*'s MQTT listener."""
        return f"{self.host}:{self.node(index).mqtt_port}"

    # ------------------------------------------------------------------ environment
    def _env(self, node: RabbitNode) -> dict[str, str]:
        d = node.directory
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RABBITMQ_", "ERL_", "MQTT__", "LOGGING__"))
        }
        env.update(
            HOME=str(self.home),
            ERL_EPMD_ADDRESS="127.0.0.1",
            ERL_EPMD_PORT=str(self.epmd_port),
            RABBITMQ_NODENAME=node.name,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(node.amqp_port),
            RABBITMQ_DIST_PORT=str(node.dist_port),
            RABBITMQ_CONF_ENV_FILE=str(d / "rabbitmq-env.conf"),
            RABBITMQ_CONFIG_FILE=str(d / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(d / "advanced.config"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(d / "enabled_plugins"),
            RABBITMQ_MNESIA_BASE=str(d / "mnesia"),
            RABBITMQ_LOG_BASE=str(d / "log"),
            RABBITMQ_PID_FILE=str(node.pid_file),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )
        return env

    def ctl(self, index: int, *args: str, timeout: float = 130.0) -> str:
        """Run ``rabbitmqctl -n <node i> ARGS``; its output, or ``RuntimeError`` with the logs."""
        node = self.node(index)
        result = subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", node.name, *args],
            env=self._env(node),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} on {node.name} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n{node.log()}"
            )
        return result.stdout

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Boot every node from empty directories, wait for them, and cluster them."""
        shutil.rmtree(self.base, ignore_errors=True)
        self.home.mkdir(parents=True)
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(os.urandom(18).hex().upper())
        cookie.chmod(0o400)
        self._epmd = subprocess.Popen(
            ["epmd", "-port", str(self.epmd_port), "-address", "127.0.0.1"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not port_open(self.host, self.epmd_port):
            if self._epmd.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"epmd did not listen on {self.epmd_port}")
            time.sleep(0.01)
        for node in self.nodes:
            self._prepare(node)
            self._launch(node)
        try:
            with ThreadPoolExecutor(len(self.nodes)) as pool:
                waits = [
                    pool.submit(self.ctl, n.index, "wait", str(n.pid_file), "--timeout", "120")
                    for n in self.nodes
                ]
                for wait in waits:
                    wait.result()
            if self.cluster:
                first = self.nodes[0].name
                for node in self.nodes[1:]:
                    self.ctl(node.index, "stop_app")
                    self.ctl(node.index, "join_cluster", first)
                    self.ctl(node.index, "start_app")
            for node in self.nodes:
                self.wait_mqtt(node.index)
        except BaseException:
            self.teardown()
            raise

    def _prepare(self, node: RabbitNode) -> None:
        d = node.directory
        (d / "mnesia").mkdir(parents=True)
        (d / "log").mkdir()
        (d / "rabbitmq-env.conf").write_text("")
        (d / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        (d / "rabbitmq.conf").write_text(
            f"mqtt.listeners.tcp.1 = 127.0.0.1:{node.mqtt_port}\n"
            "mqtt.allow_anonymous = true\n"
            "mqtt.default_user = guest\n"
            "mqtt.default_pass = guest\n"
            "log.console = false\n"
        )

    def _launch(self, node: RabbitNode) -> None:
        with (node.directory / "stdout.log").open("ab") as out:
            node.script = subprocess.Popen(
                [str(RABBITMQ_BIN / "rabbitmq-server")],
                env=self._env(node),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop_node can reach the VM
            )

    def wait_mqtt(self, index: int, timeout: float = 30.0) -> None:
        """Return once node *index* accepts TCP connections on its MQTT port."""
        node = self.node(index)
        deadline = time.monotonic() + timeout
        while not port_open(self.host, node.mqtt_port):
            if not node.running or time.monotonic() > deadline:
                raise RuntimeError(f"{node.name} not listening on MQTT:\n{node.log()}")
            time.sleep(0.05)

    def stop_node(self, index: int, *, kill: bool = True, timeout: float = 30.0) -> float:
        """Stop node *index*: ``kill -9`` of its VM (default) or a graceful SIGTERM.

        Returns ``time.monotonic()`` of the moment the signal was sent (the loss).
        """
        node = self.node(index)
        script = node.script
        if script is None:
            return time.monotonic()
        vm = node.vm_pid()
        lost = time.monotonic()
        if kill and vm is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(vm, signal.SIGKILL)
        else:
            with contextlib.suppress(ProcessLookupError):
                script.terminate()
        try:
            script.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(script.pid, signal.SIGKILL)
            script.wait(timeout=10)
        # Helpers of the node left in its group (e.g. erl_child_setup) go with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(script.pid, signal.SIGKILL)
        node.script = None
        return lost

    def teardown(self) -> None:
        """Stop every node still running (gracefully, in parallel), epmd, and remove *base*."""
        running = [n for n in self.nodes if n.script is not None]
        if running:
            with ThreadPoolExecutor(len(running)) as pool:
                list(pool.map(lambda n: self.stop_node(n.index, kill=False), running))
        if self._epmd is not None:
            self._epmd.terminate()
            try:
                self._epmd.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._epmd.kill()
                self._epmd.wait(timeout=5)
            self._epmd = None
        shutil.rmtree(self.base, ignore_errors=True)

    def logs(self) -> str:
        """Every node's logs (for failure messages)."""
        return "\n".join(f"=== {n.name}\n{n.log()}" for n in self.nodes)
