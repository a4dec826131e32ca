"""Finding and loading the project a command acts on, with cosactl's error handling."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosactl._errors import EXIT_NOT_A_PROJECT, EXIT_PROJECT, CosactlError

if TYPE_CHECKING:
    from cosalette.project import Project


def project_root(start: Path | None = None) -> Path:
    """The nearest directory (this one or a parent) with a settings.toml."""
    from cosalette._project.root import find_project_root

    here = (start or Path.cwd()).resolve()
    root = find_project_root(here)
    if root is not None:
        return root
    raise CosactlError(
        f"{here} is not inside a cosalette project (no settings.toml here or above); "
        f"create one with `cosactl new NAME` or point at one with `cosactl -C DIR ...`",
        EXIT_NOT_A_PROJECT,
    )


_PROJECT_STORE: Any = object()  # load(store=...) omitted: the project's own [store]


def load(
    *,
    dry_run: bool = False,
    settings_file: str | None = None,
    env_file: str | None = None,
    check: bool = False,
    store: Any = _PROJECT_STORE,
) -> Project:
    """Load the project around the current directory; errors become exit code 3.

    *store* replaces the project's ``[store]`` (``cosactl run --dry-run`` keeps state in memory).
    """
    from cosalette.project import ProjectError, load_project

    root = project_root()
    overrides: dict[str, Any] = {} if store is _PROJECT_STORE else {"store": store}
    try:
        project = load_project(
            root, dry_run=dry_run, settings_file=settings_file, env_file=env_file, **overrides
        )
        if check:
            project.check()
    except ProjectError as exc:
        raise CosactlError(str(exc), EXIT_PROJECT) from None
    return project
