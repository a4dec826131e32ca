"""Fuzzed ``@app.command`` input: raw text, ``payload: dict``, payload models, sub-commands.

Every bad message is answered by exactly one error payload on the device's and on the app's
error topic (``payload_too_large``, ``invalid_payload`` or ``unknown_command``), the app keeps
running, and the next good message is handled.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from _fuzz_kit import (
    LIMIT,
    decode,
    driving,
    fuzz_settings,
    json_object,
    nasty_payloads,
    too_deep,
    too_large,
)
from hypothesis import example, given, strategies as st
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from cosalette import App
from cosalette.mqtt import Payload
from cosalette.testing import AppHarness, make_settings

DEEP_1000 = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT_1000 = b'{"a":' * 1000 + b"1" + b"}" * 1000


class Level(BaseModel):
    """A dimmer command."""

    level: int = Field(ge=0, le=100)
    note: str = ""


def _harness(seen: list[str]) -> AppHarness:
    app = App("fz", heartbeat_interval=None, health_check_interval=None, store=None)

    @app.command("raw")
    async def raw(payload: str) -> dict[str, object]:
        seen.append(payload)
        return {"n": len(payload)}

    @app.command("dct")
    async def dct(payload: dict) -> dict[str, object]:  # type: ignore[type-arg]
        return {"n": len(payload)}

    @app.command("typed")
    async def typed(payload: dict[str, int]) -> dict[str, object]:
        return {"n": len(payload)}

    @app.command("mdl", payload_model=Level)
    async def mdl(payload: Level) -> Level:
        return payload

    @app.command("ann")
    async def ann(cmd: Annotated[Level, Payload()]) -> Level:
        return cmd

    @app.command("light", sub="on")
    async def on(payload: dict[str, Any]) -> dict[str, object]:
        return {"on": True}

    @app.command("light", sub="off")
    async def off(payload: dict[str, Any]) -> dict[str, object]:
        return {"on": False}

    return AppHarness(app=app, settings=make_settings(mqtt={"max_payload_bytes": LIMIT}))


def _model_error(model: Any, text: str) -> str | None:
    if too_deep(text):
        return "invalid_payload"
    try:
        TypeAdapter(model).validate_json(text)
    except ValidationError:
        return "invalid_payload"
    return None


def expected_error(device: str, text: str) -> str | None:
    """The error type the runtime must answer *text* with on *device* (None: handled)."""
    if too_large(text):
        return "payload_too_large"
    if device == "raw":
        return None
    if device in ("mdl", "ann"):
        return _model_error(Level, text)
    if device == "typed":
        return _model_error(dict[str, int], text)
    data = json_object(text)
    if data is None:
        return "invalid_payload"
    if device == "light" and data.get("command") not in ("on", "off"):
        return "unknown_command"
    return None


GOOD = {
    "raw": b"40",
    "dct": b'{"a":1}',
    "typed": b'{"a":1}',
    "mdl": b'{"level":5}',
    "ann": b'{"level":6}',
    "light": b'{"command":"on"}',
}

_GOOD_ISH: dict[str, st.SearchStrategy[str]] = {
    "raw": st.text(max_size=40),
    "dct": st.dictionaries(st.text(max_size=5), st.integers()).map(json.dumps),
    "typed": st.dictionaries(st.text(max_size=5), st.integers() | st.text()).map(json.dumps),
    "mdl": st.integers(-5, 105).map(lambda n: json.dumps({"level": n})),
    "ann": st.integers(-5, 105).map(lambda n: json.dumps({"level": n, "note": "x"})),
    "light": st.sampled_from(["on", "off", "dim", "", 1, None]).map(
        lambda c: json.dumps({"command": c})
    ),
}
"""Payloads near the good ones, so both outcomes are exercised."""


@pytest.mark.parametrize("device", ["raw", "dct", "typed", "mdl", "ann", "light"])
def test_each_bad_message_gets_one_error_and_the_next_good_one_is_handled(device: str) -> None:
    seen: list[str] = []
    with driving(_harness(seen)) as kit:
        topic = f"fz/{device}/set"

        @fuzz_settings(250)
        @given(raw=nasty_payloads() | _GOOD_ISH[device].map(str.encode))
        @example(raw=DEEP_1000)
        @example(raw=DEEP_OBJECT_1000)
        @example(raw=b"\xc3\x28\xa0\xa1")
        @example(raw=b"")
        @example(raw=b"x" * (LIMIT + 1))
        def check(raw: bytes) -> None:
            text = decode(raw)
            error = expected_error(device, text)
            out = kit.send(topic, raw, device=device)
            if error is None:
                out.handled()
                if device == "raw":
                    assert seen[-1] == text  # the handler got the text intact
            else:
                out.rejected(error)
                assert out.app_errors[0]["details"] == {"topic": topic}
            kit.send(topic, GOOD[device], device=device).handled()
            kit.assert_alive(collect=False)

        check()


def test_a_1000_deep_payload_for_a_dict_command_is_an_invalid_payload_error() -> None:
    """The bug: RecursionError was only logged, nothing reached the error topics."""
    with driving(_harness([])) as kit:
        for raw in (DEEP_1000, DEEP_OBJECT_1000, b'{"a":' + b"[" * 65 + b"]" * 65 + b"}"):
            out = kit.send("fz/dct/set", raw, device="dct")
            out.rejected("invalid_payload")
            assert "nested deeper than 64 levels" in out.app_errors[0]["message"]
        for raw in (b'{"command":' + DEEP_1000 + b"}", DEEP_OBJECT_1000):
            kit.send("fz/light/set", raw, device="light").rejected("invalid_payload")
        kit.send("fz/dct/set", b'{"a":' * 63 + b"1" + b"}" * 63, device="dct").handled()
        for device in ("typed", "mdl"):  # a model parses these: the same limit applies
            kit.send(f"fz/{device}/set", DEEP_OBJECT_1000, device=device).rejected(
                "invalid_payload"
            )
            deep = b'{"level":1,"x":' + b"[" * 65 + b"]" * 65 + b"}"
            out = kit.send(f"fz/{device}/set", deep, device=device)
            out.rejected("invalid_payload")
            assert "nested deeper than 64 levels" in out.app_errors[0]["message"]
