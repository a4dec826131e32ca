"""Specified features this runtime does not build yet fail loudly, never silently."""

import pytest

import cosalette
from cosalette import App


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
