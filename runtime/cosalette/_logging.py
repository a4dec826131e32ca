"""Root logger setup: JSON lines or text, stderr plus optional rotating file, secrets redacted
(registered ones, and passwords in URLs)."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosalette._secrets import MASK, redact_url_credentials

if TYPE_CHECKING:
    from pydantic import SecretStr

    from cosalette._settings import LoggingSettings

__all__ = [
    "REDACTED",
    "JsonFormatter",
    "SecretRedactor",
    "clear_secrets",
    "configure_logging",
    "redact_secrets",
    "register_secret",
]

REDACTED = MASK
TEXT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_plain_formatter = logging.Formatter()
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
# Characters str.splitlines() treats as line breaks that JSON leaves unescaped.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def register_secret(value: str | SecretStr | None) -> None:
    """Mask *value* in every log line written through :func:`configure_logging` handlers."""
    if value is None:
        return
    text = value if isinstance(value, str) else value.get_secret_value()
    if text:
        with _secrets_lock:
            _secrets.add(text)


def clear_secrets() -> None:
    """Forget every registered secret (for tests)."""
    with _secrets_lock:
        _secrets.clear()


def redact_secrets(text: str) -> str:
    """*text* with every registered secret, and every password in a URL, replaced by
    ``**********``."""
    with _secrets_lock:
        found = sorted(_secrets, key=len, reverse=True)
    return _redact(text, found)


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return redact_url_credentials(text)


class SecretRedactor(logging.Filter):
    """Replace registered secrets (and *extra* ones) and passwords in URLs in the message,
    traceback and stack."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        super().__init__()
        self._extra = {s for s in extra if s}

    def _secrets(self) -> list[str]:
        with _secrets_lock:
            found = _secrets | self._extra
        # Longest first, so a secret containing another is masked whole.
        return sorted(found, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite *record* in place; never drops it."""
        secrets = self._secrets()
        message = record.getMessage()
        redacted = _redact(message, secrets)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = _plain_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = _redact(record.stack_info, secrets)
        return True


class JsonFormatter(logging.Formatter):
    """Format each record as one JSON object on one line (NDJSON)."""

    def __init__(self, *, service: str = "", version: str = "") -> None:
        super().__init__()
        self._service = service
        self._version = version

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a single-line JSON string."""
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self._service,
        }
        if self._version:
            entry["version"] = self._version
        if record.exc_info and record.exc_info[0] is not None:
            if not record.exc_text:
                record.exc_text = self.formatException(record.exc_info)
            entry["exception"] = record.exc_text
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return _json.encode(entry).translate(_LINE_BREAKS)


def configure_logging(settings: LoggingSettings, *, service: str, version: str = "") -> None:
    """Replace the root logger's handlers with stderr (and a rotating file) per *settings*."""
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        with contextlib.suppress(Exception):
            handler.close()

    formatter: logging.Formatter
    if settings.format == "json":
        formatter = JsonFormatter(service=service, version=version)
    else:
        formatter = logging.Formatter(TEXT_FORMAT)

    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.file is not None:
        path = Path(settings.file)
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            RotatingFileHandler(
                path,
                maxBytes=settings.max_file_size_mb * 1024 * 1024,
                backupCount=settings.backup_count,
                encoding="utf-8",
            )
        )
    redactor = SecretRedactor()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        root.addHandler(handler)
    root.setLevel(settings.level)
