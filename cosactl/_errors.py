"""Exit codes and error output shared by every cosactl command."""

from __future__ import annotations

import click

EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # manifest --check found a difference; tests failed
EXIT_USAGE = 2  # click's own code for bad options/arguments
EXIT_PROJECT = 3  # the project cannot be loaded: settings, imports, wiring
EXIT_REFUSED = 4  # would overwrite a user's file or duplicate a name (use --force)
EXIT_NOT_A_PROJECT = 5  # no settings.toml here (use -C DIR)
EXIT_MISSING_EXTRA = 6  # the command needs an extra that is not installed (cosalette[dev])


class CosactlError(click.ClickException):
    """An error with its own exit code; printed on stderr as 'Error: ...'."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click reads it as the exit status
