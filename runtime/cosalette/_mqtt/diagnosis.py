"""Plain-language reasons for what a broker refuses: logins, TLS handshakes, publishes.

A refused login or a rejected certificate is a configuration problem: ``diagnose`` says which
setting to look at, and the client retries it with backoff (as an ERROR each time). Never logs
a password.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from cosalette._mqtt.connection_log import describe_error

if TYPE_CHECKING:
    from cosalette._settings import MqttSettings

__all__ = ["DeniedPublishes", "diagnose", "reason_text", "subscription_refused"]

logger = logging.getLogger("cosalette._mqtt.client")

# MQTT 5 reason codes of a refused CONNACK and their MQTT 3.1.1 return codes (paho reports both
# as the MQTT 5 value).
_V311_CODES = {0x84: 1, 0x85: 2, 0x88: 3, 0x86: 4, 0x87: 5}
_REASONS = {0x86: "bad username or password", 0x87: "not authorised"}
_SSL_NOISE = re.compile(r"^(failed to receive on socket: )?(\[SSL: \w+\] )?|\s*\(_ssl\.c:\d+\)$")


def reason_text(code: object) -> str:
    """A paho reason code as lower-case words ("not authorised" spelled as in MQTT 3.1.1)."""
    value = getattr(code, "value", code)
    return _REASONS.get(value, str(code).lower()) if isinstance(value, int) else str(code)


def subscription_refused(code: object) -> bool:
    """Whether one SUBACK code refuses its subscription (0x80 and above: MQTT 3.1.1's failure,
    MQTT 5's "not authorised" and the like)."""
    if getattr(code, "is_failure", False):
        return True
    value = getattr(code, "value", code)
    return isinstance(value, int) and value >= 0x80


def diagnose(exc: Exception, settings: MqttSettings, host: str | None = None) -> tuple[bool, str]:
    """``(configuration problem, reason)`` for a failed connection attempt to *host* (by
    default ``mqtt.host``; the node tried when ``mqtt.hosts`` is set)."""
    from aiomqtt.exceptions import MqttConnectError

    if isinstance(exc, MqttConnectError):
        return True, _refused(exc.rc, settings)
    text = str(exc)
    tls = _tls_problem(text, settings, host or settings.host)
    if tls is not None:
        return True, tls
    return False, describe_error(exc)


def _refused(rc: object, s: MqttSettings) -> str:
    value = getattr(rc, "value", rc)
    if not isinstance(value, int):
        return f"the broker refused the connection: {rc}"
    code = (
        f"CONNACK reason code 0x{value:02X}"
        if s.protocol == "5"
        else f"CONNACK return code {_V311_CODES.get(value, value)}"
    )
    if value not in _REASONS:
        return f"the broker refused the connection: {reason_text(rc)} ({code})"
    if s.username:
        who, hint = f"of user {s.username!r}", "check mqtt.username and mqtt.password"
    elif s.tls_certfile:
        who, hint = "by client certificate", "check that the broker accepts mqtt.tls_certfile"
    else:
        who, hint = "without a user name", "set mqtt.username and mqtt.password"
        if s.tls:
            hint += ", or mqtt.tls_certfile if the broker takes the user from a certificate"
    return f"the broker refused the login {who}: {reason_text(rc)} ({code}); {hint}"


def _tls_problem(text: str, s: MqttSettings, host: str) -> str | None:
    bare = _SSL_NOISE.sub("", text)
    if "mismatch, certificate is not valid for" in text:
        setting = "mqtt.hosts" if s.hosts else "mqtt.host"
        return (
            f"the broker's TLS certificate does not match the host name {host!r} ({setting}); "
            "connect by a name the certificate lists, or set mqtt.tls_insecure = true to skip "
            "the host name check"
        )
    if "certificate verify failed" in text:
        if "self-signed" in text or "local issuer" in text or "first certificate" in text:
            return (
                f"the broker's TLS certificate is not signed by a trusted CA ({bare}); "
                "set mqtt.tls_ca_cert to the CA that signed it"
            )
        return f"the broker's TLS certificate was rejected: {bare}"
    if "CERTIFICATE_REQUIRED" in text:
        return (
            "the broker requires a client certificate: set mqtt.tls_certfile and mqtt.tls_keyfile"
        )
    if s.tls_certfile and re.search(r"ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_\w+)", text):
        return (
            f"the broker rejected the client certificate (mqtt.tls_certfile): {bare}; it must "
            "be signed by a CA the broker trusts"
        )
    return None


class DeniedPublishes:
    """One WARNING per topic the broker refuses publishes on (an MQTT 5 PUBACK failure)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.topics: set[str] = set()

    def __call__(self, topic: str, code: object) -> None:
        """Report a failed PUBACK for *topic* unless the topic was reported before."""
        if topic in self.topics:
            return
        self.topics.add(topic)
        value = getattr(code, "value", code)
        hint = "check the broker's ACL" if value == 0x87 else f"PUBACK reason code 0x{value:02X}"
        logger.warning(
            "MQTT broker %s denied publish to %s: %s; %s (reported once per topic)",
            self.address,
            topic,
            reason_text(code),
            hint,
        )
