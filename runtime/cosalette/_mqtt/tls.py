"""SSL context for the broker connection, built from ``MqttSettings``."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cosalette._settings import MqttSettings


def build_ssl_context(settings: MqttSettings) -> ssl.SSLContext | None:
    """Return a client SSL context when TLS is enabled, else ``None``.

    ``tls_insecure`` only disables the hostname check; the certificate chain is still verified.
    """
    if not settings.tls:
        return None
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.tls_ca_cert)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(_unreadable("mqtt.tls_ca_cert", settings.tls_ca_cert, exc)) from None
    if settings.tls_certfile:
        try:
            context.load_cert_chain(settings.tls_certfile, settings.tls_keyfile or None)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                _unreadable("mqtt.tls_certfile/tls_keyfile", settings.tls_certfile, exc)
            ) from None
    elif settings.tls_keyfile:
        msg = "mqtt.tls_keyfile is set but mqtt.tls_certfile is not"
        raise ValueError(msg)
    if settings.tls_insecure:
        context.check_hostname = False
    return context


def _unreadable(key: str, path: str | None, exc: Exception) -> str:
    reason = getattr(exc, "strerror", None) or str(exc)
    return f"{key}: cannot use {path!r}: {reason}"
