"""configure_logging: handlers, formats, rotation and secret redaction."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest
from pydantic import SecretStr

from cosalette._logging import (
    JsonFormatter,
    SecretRedactor,
    clear_secrets,
    configure_logging,
    register_secret,
)
from cosalette._settings import LoggingSettings

SECRET = "pa55-w0rd-xyz"


@pytest.fixture(autouse=True)
def _restore_root() -> Iterator[None]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        handler.close()
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)
    clear_secrets()


def _file_lines(path: Path) -> list[str]:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8").splitlines()


def test_stderr_handler_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(level="DEBUG"), service="gas2mqtt", version="0.3")
    root = logging.getLogger()
    assert len(root.handlers) == 1
    assert root.level == logging.DEBUG
    logging.getLogger("gas2mqtt.meter").debug("reading %d", 42)
    entry = json.loads(capsys.readouterr().err.strip())
    assert entry["message"] == "reading 42"
    assert entry["service"] == "gas2mqtt"
    assert entry["version"] == "0.3"
    assert entry["logger"] == "gas2mqtt.meter"


def test_text_format(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(format="text"), service="svc")
    logging.getLogger("svc.x").warning("careful")
    err = capsys.readouterr().err
    assert "WARNING  svc.x: careful" in err
    assert not err.lstrip().startswith("{")


def test_level_filters(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(level="ERROR"), service="svc")
    logging.getLogger("svc").warning("hidden")
    assert capsys.readouterr().err == ""


def test_replaces_existing_handlers() -> None:
    root = logging.getLogger()
    stale = logging.StreamHandler()
    root.addHandler(stale)
    configure_logging(LoggingSettings(), service="svc")
    configure_logging(LoggingSettings(), service="svc")
    assert stale not in root.handlers
    assert len(root.handlers) == 1
    assert isinstance(root.handlers[0].formatter, JsonFormatter)
    assert any(isinstance(f, SecretRedactor) for f in root.handlers[0].filters)


def test_rotating_file_written_and_rotated(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "app.log"
    configure_logging(
        LoggingSettings(file=str(path), max_file_size_mb=1, backup_count=2),
        service="svc",
    )
    handlers = logging.getLogger().handlers
    file_handlers = [h for h in handlers if isinstance(h, RotatingFileHandler)]
    assert len(handlers) == 2 and len(file_handlers) == 1
    assert file_handlers[0].maxBytes == 1024 * 1024
    assert file_handlers[0].backupCount == 2

    logging.getLogger("svc").info("first line")
    lines = _file_lines(path)
    assert len(lines) == 1 and json.loads(lines[0])["message"] == "first line"

    big = "x" * 200_000
    for _ in range(12):
        logging.getLogger("svc").info(big)
    assert (tmp_path / "logs" / "app.log.1").exists()
    assert not (tmp_path / "logs" / "app.log.3").exists()


def test_text_format_to_file(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    configure_logging(LoggingSettings(file=str(path), format="text"), service="svc")
    logging.getLogger("svc").error("plain")
    assert _file_lines(path)[0].endswith("ERROR    svc: plain")


def test_registered_secret_redacted_in_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "app.log"
    configure_logging(LoggingSettings(file=str(path)), service="svc")
    register_secret(SECRET)
    logging.getLogger("svc").warning("connecting with password=%s", SECRET)
    logging.getLogger("svc").warning(f"inline {SECRET} too")
    err = capsys.readouterr().err
    text = "\n".join(_file_lines(path))
    for out in (err, text):
        assert SECRET not in out
        assert "password=**********" in out
        assert "inline ********** too" in out


def test_registered_secret_redacted_in_exception(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "app.log"
    configure_logging(LoggingSettings(file=str(path), format="text"), service="svc")
    register_secret(SecretStr(SECRET))
    try:
        raise ConnectionError(f"auth failed for password {SECRET}")
    except ConnectionError:
        logging.getLogger("svc").exception("broker refused")
    err = capsys.readouterr().err
    text = "\n".join(_file_lines(path))
    for out in (err, text):
        assert SECRET not in out
        assert "auth failed for password **********" in out
        assert "broker refused" in out


def test_secret_redacted_in_json_exception(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(), service="svc")
    register_secret(SECRET)
    try:
        raise ValueError(SECRET)
    except ValueError:
        logging.getLogger("svc").error("oops", exc_info=True, stack_info=True)
    entry = json.loads(capsys.readouterr().err.strip())
    assert SECRET not in json.dumps(entry)
    assert "ValueError: **********" in entry["exception"]


def test_empty_and_none_secrets_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(), service="svc")
    register_secret("")
    register_secret(None)
    logging.getLogger("svc").warning("nothing to hide")
    assert json.loads(capsys.readouterr().err)["message"] == "nothing to hide"


def test_overlapping_secrets_masked_whole() -> None:
    register_secret("abc")
    register_secret("abcdef")
    record = logging.LogRecord("x", logging.INFO, "f", 1, "v=%s", ("abcdef",), None)
    assert SecretRedactor().filter(record)
    assert record.getMessage() == "v=**********"
