"""A real mosquitto for integration tests, and a raw aiomqtt collector to observe it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiomqtt

MOSQUITTO_CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
INSTALL_HINT = (
    "mosquitto is needed for the integration tests: install it with "
    "`apt-get install -y mosquitto` (or `brew install mosquitto`), "
    "or set COSALETTE_SKIP_BROKER=1 to skip them"
)


AUTH_USER = "cosalette"
AUTH_PASSWORD = "s3cret-pw"


def find_mosquitto() -> str | None:
    """Return the mosquitto executable (``$COSALETTE_MOSQUITTO`` first), or ``None``."""
    override = os.environ.get("COSALETTE_MOSQUITTO")
    if override:
        return shutil.which(override)
    for candidate in MOSQUITTO_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    """Whether *host*:*port* accepts a TCP connection."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class MosquittoBroker:
    """One mosquitto process with a generated config; ``stop()``/``start()`` keep the ports."""

    host = "127.0.0.1"

    def __init__(
        self,
        executable: str,
        workdir: Path,
        *,
        anonymous: bool = True,
        extra_config: str = "",
        extra_ports: tuple[int, ...] = (),
    ) -> None:
        self.executable = executable
        self.workdir = workdir
        self.port = free_port()
        self.extra_ports = extra_ports
        self.config_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        self.config_path.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if anonymous else 'false'}\n"
            "persistence false\n"
            "set_tcp_nodelay true\n" + extra_config
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start mosquitto and return once every listener accepts connections."""
        if self.running:
            return
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [self.executable, "-c", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        for port in (self.port, *self.extra_ports):
            while not port_open(self.host, port):
                if self._process.poll() is not None:
                    raise RuntimeError(f"mosquitto exited at start:\n{self.log()}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"mosquitto not listening on {port}:\n{self.log()}")
                time.sleep(0.01)

    def stop(self) -> None:
        """Terminate mosquitto (SIGTERM, then SIGKILL) and wait for it to exit."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def log(self) -> str:
        """The broker's log so far (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@dataclass(frozen=True)
class Received:
    """A message seen by a ``Collector``."""

    topic: str
    payload: str
    retain: bool
    qos: int


@dataclass
class Collector:
    """A raw aiomqtt client that records every message on its subscriptions."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    client_kwargs: dict[str, Any] = field(default_factory=dict)
    messages: list[Received] = field(default_factory=list)
    _client: aiomqtt.Client | None = field(default=None, repr=False)
    _reader: asyncio.Task[None] | None = field(default=None, repr=False)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    async def __aenter__(self) -> Collector:
        self._client = aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            **self.client_kwargs,
        )
        await self._client.__aenter__()
        self._reader = asyncio.create_task(self._read(self._client))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._reader
        if self._client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.__aexit__(None, None, None)

    @property
    def client(self) -> aiomqtt.Client:
        """The underlying aiomqtt client (connected inside ``async with``)."""
        assert self._client is not None, "use the collector inside `async with`"
        return self._client

    async def subscribe(self, *topics: str) -> None:
        """Subscribe (QoS 1) and return once the broker acknowledged."""
        for topic in topics:
            await self.client.subscribe(topic, qos=1)

    async def publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        """Publish with QoS 1 and wait for the PUBACK."""
        await self.client.publish(topic, payload, qos=1, retain=retain)

    def received(self, topic: str) -> list[Received]:
        """Every message so far whose topic matches *topic* (wildcards allowed)."""
        return [m for m in self.messages if _matches(m.topic, topic)]

    def payloads(self, topic: str) -> list[str]:
        """The payloads of ``received(topic)``."""
        return [m.payload for m in self.received(topic)]

    def clear(self) -> None:
        """Forget the messages received so far."""
        self.messages.clear()

    async def wait_for(
        self,
        topic: str,
        predicate: Callable[[str], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Received:
        """Return the first message on *topic* whose payload satisfies *predicate*.

        Fails with ``AssertionError`` listing what did arrive when *timeout* seconds pass.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        checked = 0
        while True:
            while checked < len(self.messages):
                message = self.messages[checked]
                checked += 1
                if _matches(message.topic, topic) and (
                    predicate is None or predicate(message.payload)
                ):
                    return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [(m.topic, m.payload) for m in self.messages][-20:]
                raise AssertionError(f"no matching message on {topic!r} in {timeout}s; got {seen}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            if isinstance(payload, bytes | bytearray):
                text = bytes(payload).decode("utf-8", errors="replace")
            else:
                text = "" if payload is None else str(payload)
            self.messages.append(Received(message.topic.value, text, message.retain, message.qos))
            self._arrived.set()


def _matches(topic: str, pattern: str) -> bool:
    return topic == pattern or aiomqtt.Topic(topic).matches(pattern)


def skip_broker_requested() -> bool:
    """Whether ``COSALETTE_SKIP_BROKER=1`` asks to skip broker tests."""
    return os.environ.get("COSALETTE_SKIP_BROKER", "") not in ("", "0")


@dataclass
class AuthTlsBroker:
    """A broker requiring username/password, with a plain and a TLS listener.

    ``create_auth_tls_broker(..., mutual_tls=True)`` adds listeners that take the user from a
    client certificate (``mtls_port``: required; ``identity_port``: optional, so a client
    without one is refused with "bad username or password") and one whose server certificate
    names only ``other.example`` (``mismatch_port``).
    """

    broker: MosquittoBroker
    tls_port: int
    ca_cert: Path
    username: str = AUTH_USER
    password: str = AUTH_PASSWORD
    mtls_port: int = 0
    identity_port: int = 0
    mismatch_port: int = 0
    client_cert: Path | None = None
    client_key: Path | None = None
    acl_file: Path | None = None

    @property
    def host(self) -> str:
        """Listening address."""
        return self.broker.host

    @property
    def port(self) -> int:
        """The plain (non-TLS) listener, still with authentication."""
        return self.broker.port


CLIENT_CERT_CN = "bridge-cert"
"""The common name of the client certificate: the user name on the ``mtls_port``."""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """Generate a self-signed CA and a server cert for localhost/127.0.0.1; return paths."""
    _openssl("req", "-x509", *_EC, "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=cosalette test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)  # fmt: skip
    cert, key = sign_certificate(
        directory, "server", "/CN=localhost", "serverAuth", "DNS:localhost,IP:127.0.0.1"
    )
    return directory / "ca.crt", cert, key


def sign_certificate(
    directory: Path, name: str, subject: str, usage: str, alt_names: str = ""
) -> tuple[Path, Path]:
    """A key and a certificate signed by the CA in *directory*: ``<name>.crt``, ``<name>.key``."""
    ext = directory / f"{name}.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage={usage}\n" + (f"subjectAltName={alt_names}\n" if alt_names else "")
    )
    _openssl("req", "-new", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", subject, cwd=directory)  # fmt: skip
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", str(ext),
             cwd=directory)  # fmt: skip
    return directory / f"{name}.crt", directory / f"{name}.key"


def create_auth_tls_broker(
    executable: str,
    workdir: Path,
    *,
    users: dict[str, str] | None = None,
    acl_file: str | None = None,
    mutual_tls: bool = False,
) -> AuthTlsBroker:
    """Configure (not start) a broker with a password file and an extra TLS listener.

    *users* are added to the password file next to ``AUTH_USER``; *acl_file* is the text of a
    mosquitto ACL file (``user <name>`` then ``topic read|write|readwrite|deny <filter>``).
    """
    passwd_tool = shutil.which("mosquitto_passwd")
    if passwd_tool is None or shutil.which("openssl") is None:
        raise RuntimeError("mosquitto_passwd and openssl are needed for the auth/TLS broker")
    ca_cert, server_cert, server_key = make_certificates(workdir)
    passwd = workdir / "passwd"
    for i, (user, password) in enumerate({AUTH_USER: AUTH_PASSWORD, **(users or {})}.items()):
        subprocess.run(
            [passwd_tool, *(["-c"] if i == 0 else []), "-b", str(passwd), user, password],
            check=True,
            capture_output=True,
        )
    tls_port = free_port()
    # Started as root, mosquitto would switch to its own user and lose access to tmp_path.
    config = "user root\n" if os.geteuid() == 0 else ""
    config += f"per_listener_settings false\npassword_file {passwd}\n"
    acl_path = None
    if acl_file is not None:
        acl_path = workdir / "acl"
        acl_path.write_text(acl_file)
        config += f"acl_file {acl_path}\n"
    tls = f"cafile {ca_cert}\ncertfile {server_cert}\nkeyfile {server_key}\n"
    config += f"listener {tls_port} 127.0.0.1\n{tls}"
    mtls_port = identity_port = mismatch_port = 0
    client_cert = client_key = None
    if mutual_tls:
        mtls_port, identity_port, mismatch_port = free_port(), free_port(), free_port()
        client_cert, client_key = sign_certificate(
            workdir, "client", f"/CN={CLIENT_CERT_CN}", "clientAuth"
        )
        other_cert, other_key = sign_certificate(
            workdir, "other", "/CN=other.example", "serverAuth", "DNS:other.example"
        )
        config += (
            f"listener {mtls_port} 127.0.0.1\n{tls}"
            "require_certificate true\nuse_identity_as_username true\n"
            f"listener {identity_port} 127.0.0.1\n{tls}"
            "require_certificate false\nuse_identity_as_username true\n"
            f"listener {mismatch_port} 127.0.0.1\n"
            f"cafile {ca_cert}\ncertfile {other_cert}\nkeyfile {other_key}\n"
        )
    ports = (tls_port, mtls_port, identity_port, mismatch_port)
    broker = MosquittoBroker(
        executable,
        workdir,
        anonymous=False,
        extra_config=config,
        extra_ports=tuple(p for p in ports if p),
    )
    return AuthTlsBroker(
        broker,
        tls_port,
        ca_cert,
        mtls_port=mtls_port,
        identity_port=identity_port,
        mismatch_port=mismatch_port,
        client_cert=client_cert,
        client_key=client_key,
        acl_file=acl_path,
    )


DYNSEC_PLUGIN_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
    "/opt/homebrew/lib/mosquitto_dynamic_security.so",
)


def find_dynsec_plugin() -> Path | None:
    """mosquitto's dynamic-security plugin (``$COSALETTE_MOSQUITTO_DYNSEC`` first), or ``None``."""
    override = os.environ.get("COSALETTE_MOSQUITTO_DYNSEC")
    for candidate in (override,) if override else DYNSEC_PLUGIN_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def create_dynsec_broker(
    executable: str, workdir: Path, plugin: Path, clients: dict[str, tuple[str, list[str]]]
) -> MosquittoBroker:
    """Configure (not start) a broker whose logins and ACLs come from the dynamic-security plugin.

    *clients* maps a user name to its password and ACL lines ``"<acltype> <filter>"`` (allowed),
    e.g. ``"subscribePattern ok/#"``; anything else is denied (mosquitto's ``acl_file`` cannot
    refuse a SUBSCRIBE, this plugin can).
    """
    users, roles = [], []
    for name, (password, acls) in clients.items():
        salt = os.urandom(12)
        digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101)
        users.append(
            {
                "username": name,
                "password": base64.b64encode(digest).decode(),
                "salt": base64.b64encode(salt).decode(),
                "iterations": 101,
                "roles": [{"rolename": name}],
            }
        )
        rules = [dict(zip(("acltype", "topic"), acl.split(), strict=True)) for acl in acls]
        roles.append({"rolename": name, "acls": [{**rule, "allow": True} for rule in rules]})
    defaults = {
        "publishClientSend": False,
        "publishClientReceive": True,
        "subscribe": False,
        "unsubscribe": True,
    }
    state = workdir / "dynsec.json"
    state.write_text(json.dumps({"clients": users, "roles": roles, "defaultACLAccess": defaults}))
    config = "user root\n" if os.geteuid() == 0 else ""
    config += f"plugin {plugin}\nplugin_opt_config_file {state}\n"
    return MosquittoBroker(executable, workdir, anonymous=False, extra_config=config)


async def eventually(condition: Callable[[], bool], within: float = 5.0, what: str = "") -> None:
    """Poll *condition* until it holds, failing after *within* seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what or condition}")
        await asyncio.sleep(0.01)


def require_mosquitto() -> str:
    """The mosquitto executable; a skip when it is missing and COSALETTE_SKIP_BROKER=1 (an
    opt-in, so CI always runs), else a failure with the install hint."""
    import pytest

    executable = find_mosquitto()
    if executable is None:
        if skip_broker_requested():
            pytest.skip("mosquitto not installed and COSALETTE_SKIP_BROKER=1")
        pytest.fail(INSTALL_HINT, pytrace=False)
    return executable
