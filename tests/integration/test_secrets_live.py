"""Secrets come from the environment and never appear in logs, even at DEBUG."""

from __future__ import annotations

from pathlib import Path

from _apps import finish, purge_retained, start_app
from _broker import Collector, MosquittoBroker

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
