"""Turning handler results into state dicts and inbound payloads into handler arguments."""

from __future__ import annotations

import dataclasses
from typing import Any

from cosalette._di.plan import Param
from cosalette._json import MAX_DEPTH, JSONDecodeError, NestingError, loads_bounded


class InvalidPayloadError(ValueError):
    """An inbound payload that is not valid JSON or fails its model."""


class UnknownCommandError(LookupError):
    """A payload or topic that names no registered command."""


class PayloadTooLargeError(ValueError):
    """An inbound payload over ``mqtt.max_payload_bytes``."""


class StoreCorruptError(OSError):
    """The store file could not be read; it was kept aside and the state starts empty."""


FRAMEWORK_ERROR_TYPES: dict[type[Exception], str] = {
    StoreCorruptError: "store_corrupt",
    InvalidPayloadError: "invalid_payload",
    UnknownCommandError: "unknown_command",
    PayloadTooLargeError: "payload_too_large",
}


def to_state(result: Any, owner: str) -> dict[str, object]:
    """A handler's return value as a JSON-ready dict (models dumped, scalars wrapped)."""
    if isinstance(result, dict):
        return result
    dump = getattr(result, "model_dump", None)
    if callable(dump):
        dumped = dump(mode="json")
        return dumped if isinstance(dumped, dict) else {"value": dumped}
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    if isinstance(result, str | int | float | bool | list | tuple):
        return {"value": list(result) if isinstance(result, tuple) else result}
    raise TypeError(f"{owner} returned {type(result).__qualname__}; return a dict, a model or None")


def parse_json_object(payload: str) -> dict[str, Any]:
    """Parse *payload* as a JSON object (nested at most ``MAX_DEPTH``) or raise
    InvalidPayloadError."""
    try:
        data = loads_bounded(payload)
    except NestingError as exc:
        raise InvalidPayloadError(f"payload is {exc}") from None
    except ValueError as exc:
        detail = exc.msg if isinstance(exc, JSONDecodeError) else exc
        raise InvalidPayloadError(f"payload is not valid JSON: {detail}") from None
    if not isinstance(data, dict):
        raise InvalidPayloadError(f"payload must be a JSON object, got {type(data).__name__}")
    return data


def parse_model(payload: str, model: Any) -> Any:
    """Parse *payload* into *model* (a pydantic model, ``dict``, or a TypeAdapter-able type)."""
    if model is dict or model is None:
        return parse_json_object(payload)
    _refuse_deep(payload)
    validate_json = getattr(model, "model_validate_json", None)
    try:
        if callable(validate_json):
            return validate_json(payload)
        from pydantic import TypeAdapter

        return TypeAdapter(model).validate_json(payload)
    except ValueError as exc:
        raise InvalidPayloadError(_first_lines(str(exc))) from None


def _refuse_deep(payload: str) -> None:
    """The nesting limit of ``parse_json_object``, for payloads a model parses (dict[str, X])."""
    if payload.count("[") + payload.count("{") <= MAX_DEPTH:
        return  # the common case: too few brackets to nest too deeply
    try:
        loads_bounded(payload)
    except NestingError as exc:
        raise InvalidPayloadError(f"payload is {exc}") from None
    except ValueError:
        pass  # not JSON at all: the model says why


def _first_lines(text: str, limit: int = 5) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[:limit])


def payload_argument(param: Param, payload: str, parsed_model: Any, model: Any) -> Any:
    """The value for a ``payload`` parameter: raw text, a dict, or the validated model."""
    target = param.model
    if target is None:
        return payload
    if target is model and parsed_model is not None:
        return parsed_model
    return parse_model(payload, target)
