"""Fixtures for integration tests against a real mosquitto broker."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from _broker import (
    INSTALL_HINT,
    Collector,
    MosquittoBroker,
    find_mosquitto,
    free_port,
    skip_broker_requested,
)

AUTH_USER = "cosalette"
AUTH_PASSWORD = "s3cret-pw"


def _require_mosquitto() -> str:
    executable = find_mosquitto()
    if executable is None:
        if skip_broker_requested():
            pytest.skip("mosquitto not installed and COSALETTE_SKIP_BROKER=1")
        pytest.fail(INSTALL_HINT, pytrace=False)
    return executable


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """A mosquitto on a free 127.0.0.1 port for the whole session (anonymous, no TLS)."""
    broker = MosquittoBroker(_require_mosquitto(), tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def broker(mosquitto: MosquittoBroker) -> MosquittoBroker:
    """The session broker, restarted first if an earlier test left it stopped."""
    mosquitto.start()
    return mosquitto


@pytest.fixture
def mqtt_collector(broker: MosquittoBroker) -> Callable[..., Collector]:
    """Factory: ``async with mqtt_collector() as c: await c.subscribe("a/#")``."""

    def make(**kwargs: Any) -> Collector:
        return Collector(broker.host, broker.port, **kwargs)

    return make


@dataclass
class AuthTlsBroker:
    """A broker requiring username/password, with a plain and a TLS listener."""

    broker: MosquittoBroker
    tls_port: int
    ca_cert: Path
    username: str = AUTH_USER
    password: str = AUTH_PASSWORD

    @property
    def host(self) -> str:
        """Listening address."""
        return self.broker.host

    @property
    def port(self) -> int:
        """The plain (non-TLS) listener, still with authentication."""
        return self.broker.port


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """Generate a self-signed CA and a server cert for localhost/127.0.0.1; return paths."""
    ext = directory / "server.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    )
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=cosalette test CA", cwd=directory)  # fmt: skip
    _openssl("req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=directory)  # fmt: skip
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", str(ext),
             cwd=directory)  # fmt: skip
    return directory / "ca.crt", directory / "server.crt", directory / "server.key"


@pytest.fixture(scope="module")
def mosquitto_auth_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthTlsBroker]:
    """A separate broker with a password file and a TLS listener (self-signed CA)."""
    executable = _require_mosquitto()
    passwd_tool = shutil.which("mosquitto_passwd")
    if passwd_tool is None or shutil.which("openssl") is None:
        pytest.fail("mosquitto_passwd and openssl are needed for the auth/TLS tests", False)
    workdir = tmp_path_factory.mktemp("mosquitto-auth-tls")
    ca_cert, server_cert, server_key = make_certificates(workdir)
    passwd = workdir / "passwd"
    subprocess.run(
        [passwd_tool, "-c", "-b", str(passwd), AUTH_USER, AUTH_PASSWORD],
        check=True,
        capture_output=True,
    )
    tls_port = free_port()
    # Started as root, mosquitto would switch to its own user and lose access to tmp_path.
    config = "user root\n" if os.geteuid() == 0 else ""
    config += (
        "per_listener_settings false\n"
        f"password_file {passwd}\n"
        f"listener {tls_port} 127.0.0.1\n"
        f"cafile {ca_cert}\n"
        f"certfile {server_cert}\n"
        f"keyfile {server_key}\n"
    )
    broker = MosquittoBroker(executable, workdir, extra_config=config, extra_ports=(tls_port,))
    # The generated config says allow_anonymous true; the auth broker must refuse anonymous.
    broker.config_path.write_text(
        broker.config_path.read_text().replace("allow_anonymous true", "allow_anonymous false")
    )
    broker.start()
    try:
        yield AuthTlsBroker(broker, tls_port, ca_cert)
    finally:
        broker.stop()
