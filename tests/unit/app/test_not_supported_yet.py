"""Specified features this runtime does not build yet fail loudly, never silently."""

from typing import Any

import pytest

import cosalette
from cosalette import App


async def _poll() -> dict[str, object]:
    return {"v": 1}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"retry": 3},
        {"schedule": "0 0 6 * * ?"},
        {"group": "optolink"},
        {"triggerable": True},
    ],
)
def test_unsupported_telemetry_options_say_not_supported_yet(kwargs: dict[str, Any]) -> None:
    app = App("bridge")
    with pytest.raises(NotImplementedError, match="not supported yet"):
        app.telemetry("t", interval=1, **kwargs)(_poll)
    with pytest.raises(NotImplementedError, match="not supported yet"):
        app.add_telemetry("t", _poll, interval=1, **kwargs)
    assert app.registered_names() == frozenset()


def test_state_react_and_stream_are_not_supported_yet() -> None:
    app = App("bridge")

    class Shared:
        pass

    with pytest.raises(NotImplementedError, match="not supported yet"):

        @app.state
        def make_shared() -> Shared:
            return Shared()

    async def on_event(event: object) -> None:
        return None

    with pytest.raises(NotImplementedError, match="not supported yet"):
        app.react(Shared, drain=lambda s: [])(on_event)

    with pytest.raises(NotImplementedError, match="not supported yet"):

        @app.stream("scanner")
        async def scan() -> None:
            return None


def test_not_supported_yet_error_is_exported() -> None:
    assert issubclass(cosalette.NotSupportedYetError, NotImplementedError)
