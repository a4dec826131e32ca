"""What counts as a secret, and masking it: secret fields and values, credentials in URLs.

A setting is secret when it is a ``SecretStr``/``SecretBytes`` or its name says so
(``password``, ``token``, ``api_key`` ...); the password of a ``scheme://user:password@host``
URL is secret wherever it appears. Logs, error payloads, settings reprs, validation errors and
contract documents show each as ``**********``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "MASK",
    "SECRET_NAME",
    "mask_inputs",
    "redact_schema",
    "redact_url_credentials",
    "secret_values",
]

MASK = "**********"
SECRET_NAME = re.compile(
    r"password|passwd|passphrase|secret|token|api_?key|credential", re.IGNORECASE
)
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:]*):([^\s/@]+)@")
_MIN_NAMED = 4
"""Shortest plain value registered as a secret (a str named like one, a number as a password):
shorter ones are too common to mask in every log line."""
_EXAMPLES = ("default", "examples", "example", "const", "enum")


def redact_url_credentials(text: str) -> str:
    """*text* with the password of every ``scheme://user:password@`` URL masked."""
    if "://" not in text:
        return text
    return _URL_PASSWORD.sub(rf"\1:{MASK}@", text)


def _url_password(value: object) -> str | None:
    """The password of a pydantic URL value (``AnyUrl``, ``MultiHostUrl``), if it has one."""
    hosts = getattr(value, "hosts", None)
    if callable(hosts) and not isinstance(value, str):
        for host in hosts():
            if host.get("password"):
                return str(host["password"])
        return None
    password = getattr(value, "password", None)
    return password if isinstance(password, str) and password else None


def secret_values(value: Any, name: str | None = None) -> Iterator[str]:
    """Every secret inside settings *value*: secret values, values of secret-named fields,
    passwords of URLs; models, mappings and sequences are searched through."""
    from pydantic import BaseModel, SecretBytes, SecretStr

    if isinstance(value, SecretStr):
        if value.get_secret_value():
            yield value.get_secret_value()
    elif isinstance(value, SecretBytes):
        if value.get_secret_value():
            yield value.get_secret_value().decode("utf-8", "replace")
    elif isinstance(value, BaseModel):
        for field in type(value).model_fields:
            yield from secret_values(getattr(value, field, None), field)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from secret_values(item, str(key))
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from secret_values(item, name)
    elif isinstance(value, str):
        if name and SECRET_NAME.search(name) and len(value) >= _MIN_NAMED:
            yield value
        yield from _url_passwords_in(value)
    else:
        password = _url_password(value)
        if password:
            yield password


def _url_passwords_in(text: str) -> Iterator[str]:
    if "://" in text:
        for m in _URL_PASSWORD.finditer(text):
            yield m.group(2)


def _strings(value: Any) -> Iterator[str]:
    from pydantic import SecretBytes, SecretStr

    if isinstance(value, SecretStr | SecretBytes):
        yield from secret_values(value)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if len(str(value)) >= _MIN_NAMED:  # a number as a password; short ones are too common
            yield str(value)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def mask_inputs(text: str, value: Any) -> str:
    """*text* with every string inside *value* (a rejected secret input) masked, longest first."""
    for secret in sorted({s for s in _strings(value) if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redact_schema(value: Any) -> Any:
    """A JSON schema with URL credentials masked in every string, and the defaults and
    examples of secret-named properties masked (a contract shows no developer's secret)."""
    if isinstance(value, str):
        return redact_url_credentials(value)
    if isinstance(value, list):
        return [redact_schema(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: redact_schema(item) for key, item in value.items()}
    properties = out.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {
            name: _masked_examples(prop) if SECRET_NAME.search(name) else prop
            for name, prop in properties.items()
        }
    return out


def _masked_examples(prop: Any) -> Any:
    if not isinstance(prop, dict):
        return prop
    masked = dict(prop)
    for key in _EXAMPLES:
        if masked.get(key) is not None:
            masked[key] = [MASK] if isinstance(masked[key], list) else MASK
    return masked
