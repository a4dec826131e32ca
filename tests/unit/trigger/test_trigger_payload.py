"""TriggerPayload tells a handler whether MQTT triggered it and what the message said."""

from __future__ import annotations

import dataclasses

import pytest

from cosalette import TriggerPayload


def test_scheduled_runs_are_untriggered_and_shared() -> None:
    scheduled = TriggerPayload.scheduled()
    assert scheduled is TriggerPayload.scheduled()
    assert scheduled == TriggerPayload()
    assert (scheduled.is_triggered, scheduled.raw, scheduled.data) == (False, None, None)
    assert scheduled.get("days", 7) == 7


def test_json_object_payload_is_parsed() -> None:
    trigger = TriggerPayload.from_mqtt('{"days": 3}')
    assert trigger.is_triggered
    assert trigger.raw == '{"days": 3}'
    assert trigger.data == {"days": 3}
    assert trigger.get("days", 7) == 3
    assert trigger.get("other") is None
    assert trigger.get("other", "x") == "x"


@pytest.mark.parametrize("payload", ["refresh", "[1, 2]", "42", "{broken"])
def test_non_object_payload_keeps_raw_only(payload: str) -> None:
    trigger = TriggerPayload.from_mqtt(payload)
    assert trigger.is_triggered
    assert trigger.raw == payload
    assert trigger.data is None
    assert trigger.get("days", 7) == 7


def test_empty_payload_is_still_a_trigger() -> None:
    trigger = TriggerPayload.from_mqtt("")
    assert trigger.is_triggered
    assert trigger.raw is None
    assert trigger.data is None


def test_bytes_payload_is_decoded() -> None:
    assert TriggerPayload.from_mqtt(b'{"a": 1}').data == {"a": 1}


def test_payload_is_immutable() -> None:
    trigger = TriggerPayload.from_mqtt("{}")
    with pytest.raises(dataclasses.FrozenInstanceError):
        trigger.is_triggered = False  # type: ignore[misc]
