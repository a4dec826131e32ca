"""Specified features this runtime does not build yet fail loudly, never silently."""

import pytest

import cosalette
from cosalette import App


def test_streams_are_not_supported_yet() -> None:
    app = App("bridge")
    with pytest.raises(NotImplementedError, match="not supported yet"):

        @app.stream("scanner")
        async def scan() -> None:
            return None


def test_not_supported_yet_error_is_exported() -> None:
    assert issubclass(cosalette.NotSupportedYetError, NotImplementedError)
