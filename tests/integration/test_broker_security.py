"""Authentication, ACLs and TLS against real mosquitto processes: what a user is told."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _broker import (
    AUTH_PASSWORD,
    AUTH_USER,
    CLIENT_CERT_CN,
    AuthTlsBroker,
    Collector,
    MosquittoBroker,
    create_auth_tls_broker,
    create_dynsec_broker,
    eventually,
    find_dynsec_plugin,
    require_mosquitto,
)

import cosalette
from cosalette._mqtt.client import MqttClient
from cosalette._settings import MqttSettings
from cosalette.testing import make_settings

pytestmark = pytest.mark.integration

OBSERVER, OBSERVER_PASSWORD = "observer", "observer-pw"
WRONG_PASSWORD = "not-the-password"  # must never appear in a log line
ACL = f"""\
user {AUTH_USER}
topic readwrite acl/#
topic deny acl/secret/state
topic readwrite sec/#
user {OBSERVER}
topic readwrite #
user {CLIENT_CERT_CN}
topic readwrite #
"""
_ids = itertools.count()


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthTlsBroker]:
    """Password file, ACL file, TLS, mutual TLS and a server certificate for another name."""
    auth = create_auth_tls_broker(
        require_mosquitto(),
        tmp_path_factory.mktemp("mosquitto-secure"),
        users={OBSERVER: OBSERVER_PASSWORD},
        acl_file=ACL,
        mutual_tls=True,
    )
    auth.broker.start()
    try:
        yield auth
    finally:
        auth.broker.stop()


def settings_for(port: int, **overrides: Any) -> MqttSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "client_id": f"sec-{next(_ids)}",
        "reconnect_interval": 0.05,
        "reconnect_max_interval": 0.1,
    }
    values.update(overrides)
    return MqttSettings(**values)


def observer(b: AuthTlsBroker) -> Collector:
    return Collector(b.host, b.port, username=OBSERVER, password=OBSERVER_PASSWORD)


def loud(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Every WARNING or worse, from any logger."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The ERROR records so far."""
    return [r for r in caplog.records if r.levelno == logging.ERROR]


async def refusals(
    settings: MqttSettings, caplog: pytest.LogCaptureFixture, count: int, within: float = 5.0
) -> list[logging.LogRecord]:
    """Run a client until *count* ERROR records, stop it, and return every loud record."""
    client = MqttClient(settings)
    await client.start()
    await eventually(lambda: len(errors(caplog)) >= count, within, f"{count} ERROR records")
    assert not client.is_connected
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.stop()
    assert loop.time() - started < 1.0, "stop waited for a hanging connect"
    return loud(caplog)


# -- wrong credentials -------------------------------------------------------------------------


async def test_wrong_password_is_one_error_per_attempt_with_capped_backoff(
    secure: AuthTlsBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first, cap = 0.15, 1.2
    settings = settings_for(
        secure.port,
        username=AUTH_USER,
        password=WRONG_PASSWORD,
        reconnect_interval=first,
        reconnect_max_interval=cap,
    )
    log_start = len(secure.broker.log())
    records = await refusals(settings, caplog, 6, within=10)

    assert [r.levelno for r in records] == [logging.ERROR] * 6, records
    for record in records:
        message = record.getMessage()
        assert f"MQTT broker 127.0.0.1:{secure.port}" in message
        assert f"refused the login of user {AUTH_USER!r}: not authorised" in message
        assert "(CONNACK return code 5)" in message
        assert "check mqtt.username and mqtt.password" in message
        assert record.exc_info is None and record.exc_text is None
    assert WRONG_PASSWORD not in caplog.text

    gaps = [b.created - a.created for a, b in itertools.pairwise(records)]
    stated = [float(re.findall(r"retrying in ([\d.]+) s", r.getMessage())[0]) for r in records]
    assert gaps[0] < gaps[1] < gaps[2], gaps  # 0.15, 0.3, 0.6 s (±20 %): backing off at once
    assert all(gap <= cap * 1.2 + 0.15 for gap in gaps), gaps  # never above cap + jitter
    assert all(gap >= cap * 0.8 - 0.05 for gap in gaps[3:]), gaps  # and it stays there
    assert all(gap >= pause - 0.06 for gap, pause in zip(gaps, stated, strict=False)), (
        gaps,
        stated,
    )
    # The broker saw exactly one connection per ERROR line: none retried silently.
    marker = "disconnected, not authorised."  # the client id is <unknown> to mosquitto

    def refused_in_broker_log() -> int:
        return secure.broker.log()[log_start:].count(marker)

    await eventually(lambda: refused_in_broker_log() >= 6, what="broker log")
    assert refused_in_broker_log() == 6


@pytest.mark.parametrize(
    ("protocol", "user", "expected"),
    [
        ("5", AUTH_USER, f"login of user {AUTH_USER!r}: not authorised (CONNACK reason code 0x87)"),
        ("3.1.1", "nobody", "login of user 'nobody': not authorised (CONNACK return code 5)"),
        ("5", "nobody", "login of user 'nobody': not authorised (CONNACK reason code 0x87)"),
    ],
)
async def test_refused_login_names_the_user_and_the_code(
    secure: AuthTlsBroker,
    caplog: pytest.LogCaptureFixture,
    protocol: str,
    user: str,
    expected: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_for(secure.port, username=user, password=WRONG_PASSWORD, protocol=protocol)
    records = await refusals(settings, caplog, 2)
    assert [r.levelno for r in records] == [logging.ERROR] * len(records)
    assert all(expected in r.getMessage() and r.exc_info is None for r in records), records
    assert WRONG_PASSWORD not in caplog.text


@pytest.mark.parametrize(("protocol", "code"), [("3.1.1", "return code 4"), ("5", "0x86")])
async def test_bad_username_or_password_is_explained(
    secure: AuthTlsBroker, caplog: pytest.LogCaptureFixture, protocol: str, code: str
) -> None:
    # This listener takes the user from a client certificate; without one mosquitto answers
    # "bad username or password" (3.1.1 return code 4, MQTT 5 reason 0x86).
    settings = settings_for(
        secure.identity_port, tls=True, tls_ca_cert=str(secure.ca_cert), protocol=protocol
    )
    records = await refusals(settings, caplog, 2)
    assert [r.levelno for r in records] == [logging.ERROR] * len(records)
    message = records[0].getMessage()
    assert "refused the login without a user name: bad username or password" in message
    assert code in message
    assert "set mqtt.username and mqtt.password, or mqtt.tls_certfile" in message


# -- ACL ---------------------------------------------------------------------------------------


def acl_app() -> cosalette.App:
    app = cosalette.App(name="acl", heartbeat_interval=None)
    polls = itertools.count()

    @app.telemetry("meter", interval=0.05)
    async def meter() -> dict[str, object]:
        return {"n": next(polls)}

    @app.telemetry("secret", interval=0.05)  # its state topic is denied by the ACL
    async def secret() -> dict[str, object]:
        return {"n": next(polls)}

    @app.command("valve")
    async def valve(payload: str) -> dict[str, object]:
        return {"state": payload}

    return app


async def test_a_publish_the_acl_denies_is_reported_once_and_the_bridge_goes_on(
    secure: AuthTlsBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings: cosalette.Settings = make_settings(
        mqtt={
            "host": secure.host,
            "port": secure.port,
            "username": AUTH_USER,
            "password": AUTH_PASSWORD,
            "protocol": "5",
        },
        homeassistant={"discovery": False},
    )

    def denials() -> list[logging.LogRecord]:
        return [r for r in loud(caplog) if "denied publish" in r.getMessage()]

    stop = asyncio.Event()
    runner = asyncio.create_task(acl_app()._run_async(settings=settings, shutdown_event=stop))
    try:
        async with observer(secure) as seen:
            await seen.subscribe("acl/#")
            await seen.wait_for("acl/valve/availability", lambda p: p == "online", 10)
            await eventually(lambda: bool(denials()), what="the denial warning")
            first = json.loads((await seen.wait_for("acl/meter/state")).payload)["n"]
            # Later states still flow (several more denied publishes happen meanwhile) ...
            await seen.wait_for("acl/meter/state", lambda p: json.loads(p)["n"] > first + 10)
            # ... and commands are still handled.
            await seen.subscribe("acl/valve/state")
            await seen.publish("acl/valve/set", "open")
            await seen.wait_for("acl/valve/state", lambda p: json.loads(p) == {"state": "open"})
            assert seen.payloads("acl/secret/state") == []
            assert seen.payloads("acl/secret/availability") == ["online"]
    finally:
        stop.set()
        await asyncio.wait_for(runner, 10)

    assert [r.getMessage() for r in denials()] == [
        f"MQTT broker {secure.host}:{secure.port} denied publish to acl/secret/state: "
        "not authorised; check the broker's ACL (reported once per topic)"
    ]
    assert [r for r in loud(caplog) if r not in denials()] == []


@pytest.fixture(scope="module")
def dynsec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """A broker whose ACL can refuse subscriptions (mosquitto's ``acl_file`` never does)."""
    plugin = find_dynsec_plugin()
    if plugin is None:
        pytest.skip("mosquitto's dynamic-security plugin is not installed")
    broker = create_dynsec_broker(
        require_mosquitto(),
        tmp_path_factory.mktemp("mosquitto-dynsec"),
        plugin,
        {
            AUTH_USER: (AUTH_PASSWORD, ["subscribePattern dyn/ok/#"]),
            OBSERVER: (OBSERVER_PASSWORD, ["publishClientSend #"]),
        },
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.mark.parametrize(
    ("protocol", "reason"), [("3.1.1", "unspecified error"), ("5", "not authorised")]
)
async def test_a_refused_subscription_is_reported_and_the_others_work(
    dynsec: MosquittoBroker, caplog: pytest.LogCaptureFixture, protocol: str, reason: str
) -> None:
    caplog.set_level(logging.INFO)
    settings = settings_for(
        dynsec.port, username=AUTH_USER, password=AUTH_PASSWORD, protocol=protocol
    )
    client = MqttClient(settings)
    received: list[tuple[str, str]] = []

    async def inbox(topic: str, payload: str) -> None:
        received.append((topic, payload))

    client.on_message(inbox)
    await client.subscribe("dyn/ok/in")
    await client.subscribe("dyn/secret/in")
    await client.start()
    assert await client.wait_connected(5)
    async with Collector(
        dynsec.host, dynsec.port, username=OBSERVER, password=OBSERVER_PASSWORD
    ) as sender:
        await sender.publish("dyn/secret/in", "hidden")
        await sender.publish("dyn/ok/in", "hello")
        await eventually(lambda: ("dyn/ok/in", "hello") in received, what="the allowed topic")
    await client.stop()
    assert received == [("dyn/ok/in", "hello")]
    assert [r.getMessage() for r in loud(caplog)] == [
        f"MQTT broker 127.0.0.1:{dynsec.port} refused subscription to dyn/secret/in: "
        f"{reason}; check the broker's ACL"
    ]


# -- TLS ---------------------------------------------------------------------------------------


async def round_trip(b: AuthTlsBroker, settings: MqttSettings, topic: str) -> None:
    """Connect with *settings*, publish on *topic* and see it arrive at an observer."""
    client = MqttClient(settings)
    await client.start()
    assert await client.wait_connected(5)
    async with observer(b) as seen:
        await seen.subscribe(topic)
        await client.publish(topic, "over tls")
        assert (await seen.wait_for(topic)).payload == "over tls"
    await client.stop()


async def test_mutual_tls_connects_with_the_client_certificate(
    secure: AuthTlsBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert secure.client_cert is not None and secure.client_key is not None
    settings = settings_for(
        secure.mtls_port,
        tls=True,
        tls_ca_cert=str(secure.ca_cert),
        tls_certfile=str(secure.client_cert),
        tls_keyfile=str(secure.client_key),
    )
    await round_trip(secure, settings, "sec/mtls")  # the ACL user is the certificate's CN
    assert loud(caplog) == []


async def test_mutual_tls_without_a_client_certificate_says_so(
    secure: AuthTlsBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = settings_for(secure.mtls_port, tls=True, tls_ca_cert=str(secure.ca_cert))
    # Without the fail-fast on a closed connection this waits 10 s for a CONNACK per attempt.
    records = await refusals(settings, caplog, 2, within=3)
    assert [r.levelno for r in records] == [logging.ERROR] * len(records)
    assert all(r.exc_info is None for r in records)
    message = records[0].getMessage()
    assert f"Cannot connect to MQTT broker 127.0.0.1:{secure.mtls_port}" in message
    assert "the broker requires a client certificate" in message
    assert "set mqtt.tls_certfile and mqtt.tls_keyfile" in message


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A client certificate and key no CA of the broker signed."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", "self.key", "-out", "self.crt", "-days", "2", "-subj", "/CN=x"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    return tmp_path / "self.crt", tmp_path / "self.key"


async def test_a_client_certificate_the_broker_does_not_trust_says_so(
    secure: AuthTlsBroker, caplog: pytest.LogCaptureFixture, self_signed: tuple[Path, Path]
) -> None:
    caplog.set_level(logging.INFO)
    settings = settings_for(
        secure.mtls_port,
        tls=True,
        tls_ca_cert=str(secure.ca_cert),
        tls_certfile=str(self_signed[0]),
        tls_keyfile=str(self_signed[1]),
    )
    records = await refusals(settings, caplog, 2, within=3)
    assert [r.levelno for r in records] == [logging.ERROR] * len(records)
    message = records[0].getMessage()
    assert "the broker rejected the client certificate (mqtt.tls_certfile)" in message
    assert "unknown ca" in message


async def test_a_host_name_the_certificate_does_not_carry_fails_clearly(
    secure: AuthTlsBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # This listener's certificate names only other.example; we connect to 127.0.0.1.
    settings = settings_for(
        secure.mismatch_port,
        username=AUTH_USER,
        password=AUTH_PASSWORD,
        tls=True,
        tls_ca_cert=str(secure.ca_cert),
    )
    records = await refusals(settings, caplog, 2)
    assert [r.levelno for r in records] == [logging.ERROR] * len(records)
    assert all(r.exc_info is None for r in records)
    message = records[0].getMessage()
    assert "the broker's TLS certificate does not match the host name '127.0.0.1'" in message
    assert "set mqtt.tls_insecure = true" in message
    assert AUTH_PASSWORD not in caplog.text

    caplog.clear()
    insecure = settings.model_copy(update={"tls_insecure": True})
    await round_trip(secure, insecure, "sec/insecure")  # the chain is still verified
    assert loud(caplog) == []


async def test_an_unknown_ca_points_at_tls_ca_cert(
    secure: AuthTlsBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = settings_for(secure.tls_port, username=AUTH_USER, password="x", tls=True)
    records = await refusals(settings, caplog, 2)
    assert [r.levelno for r in records] == [logging.ERROR] * len(records)
    message = records[0].getMessage()
    assert "the broker's TLS certificate is not signed by a trusted CA" in message
    assert "set mqtt.tls_ca_cert" in message


async def test_the_server_certificate_names_connect(secure: AuthTlsBroker) -> None:
    for host in ("localhost", "127.0.0.1"):  # the certificate's DNS and IP names
        settings = settings_for(
            secure.tls_port,
            host=host,
            username=AUTH_USER,
            password=AUTH_PASSWORD,
            tls=True,
            tls_ca_cert=str(secure.ca_cert),
        )
        await round_trip(secure, settings, f"sec/{host}")
