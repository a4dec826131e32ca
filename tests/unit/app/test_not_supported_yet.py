"""``NotSupportedYetError`` stays exported (every specified feature is built now)."""

import cosalette


def test_not_supported_yet_error_is_exported() -> None:
    assert issubclass(cosalette.NotSupportedYetError, NotImplementedError)
