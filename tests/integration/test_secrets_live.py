"""Secrets come from the environment and never appear in logs, even at DEBUG."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from _apps import finish, purge_retained, start_app
from _broker import AuthTlsBroker, Collector, MosquittoBroker
from pydantic import SecretStr

from cosalette._mqtt.client import MqttClient
from cosalette._settings import MqttSettings

SECRET = "s3cr3t-Pa55-word"

APP = """
import logging
import cosalette

app = cosalette.App(name="secretive")

@app.telemetry("probe", interval=0.2)
async def probe(settings: cosalette.Settings, logger: logging.Logger) -> dict[str, object]:
    logger.info("running with %r", settings)
    logger.info("password field: %s", settings.mqtt.password)
    raise RuntimeError(f"failed while using {settings.mqtt.password.get_secret_value()}")

if __name__ == "__main__":
    app.cli()
"""


async def test_password_never_reaches_logs_or_error_topics(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    script = tmp_path / "secretive.py"
    script.write_text(APP)
    await purge_retained(broker.host, broker.port, "secretive/#")
    async with Collector(broker.host, broker.port) as seen:
        await seen.subscribe("secretive/#")
        process = start_app(
            script,
            broker.port,
            "--log-level",
            "DEBUG",
            "--log-format",
            "json",
            extra={"MQTT__USERNAME": "bridge", "MQTT__PASSWORD": SECRET},
        )
        try:
            await seen.wait_for("secretive/probe/error", None, 10)
            await process.wait_for_output("password field")
        finally:
            code, output = finish(process)
        assert code == 0, output
    assert "running with" in output
    assert SECRET not in output
    assert "**********" in output
    assert all(SECRET not in m.payload for m in seen.messages)


class _Refusals(logging.Handler):
    """Every record at DEBUG and above; an event once the broker's refusal was logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.refused = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if record.levelno >= logging.WARNING and "refused" in record.getMessage():
            self.refused.set()

    def text(self) -> str:
        formatter = logging.Formatter("%(name)s %(message)s")
        return "\n".join(formatter.format(r) for r in self.records)


async def test_a_refused_login_is_logged_without_the_password(
    mosquitto_auth_tls: AuthTlsBroker,
) -> None:
    """The MQTT client's own lines (no redacting filter here), paho's included, at DEBUG."""
    b = mosquitto_auth_tls
    settings = MqttSettings(
        host=b.host,
        port=b.port,
        username=b.username,
        password=SecretStr(SECRET),
        reconnect_interval=0.05,
    )
    handler = _Refusals()
    root, paho = logging.getLogger(), logging.getLogger("cosalette._mqtt.paho")
    levels = root.level, paho.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    paho.setLevel(logging.DEBUG)
    client = MqttClient(settings)
    try:
        await client.start()
        await asyncio.wait_for(handler.refused.wait(), 10)
    finally:
        await client.stop()
        root.removeHandler(handler)
        root.setLevel(levels[0])
        paho.setLevel(levels[1])
    text = handler.text()
    assert "refused" in text and b.username in text
    assert SECRET not in text, text
