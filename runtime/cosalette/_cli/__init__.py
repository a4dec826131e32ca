"""``python -m cosalette``: schema tooling for cosalette apps (AsyncAPI export, checks, ACLs).

Only click is imported here and by the root group: a command's module, and what it needs
(pydantic, PyYAML, the app), is imported when that command runs.
"""

from __future__ import annotations

from typing import IO, Any

import click

EXIT_FAILED = 1
"""Every failure a command reports itself (click's usage errors keep exit code 2)."""


class Failure(click.ClickException):
    """A failure whose text is printed exactly as given (no ``Error:`` added), exit code 1.

    *err* False prints it on stdout (``manifest``'s ``❌`` lines go there).
    """

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, err: bool = True) -> None:
        super().__init__(message)
        self.err = err

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.message, file=file, err=self.err)
