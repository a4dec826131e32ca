"""The checks that need no network: settings, the project's code and adapters, the store
path and the clock."""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosactl._doctor.report import Check, blocked, failed, not_applicable, passed
from cosalette._project.importer import FOLDERS

if TYPE_CHECKING:
    from cosalette.project import Project, ProjectError

__all__ = [
    "CLOCK_CEILING",
    "CLOCK_FLOOR",
    "adapter_checks",
    "clock_check",
    "load_checks",
    "store_check",
]

CLOCK_FLOOR = datetime(2024, 1, 1, tzinfo=UTC)
"""Earlier than this cosalette release era: the clock was never set."""
CLOCK_CEILING = datetime(2100, 1, 1, tzinfo=UTC)
"""Later than this: the clock is absurdly far ahead."""


def load_checks(
    root: Path, settings_file: str | None, env_file: str | None
) -> tuple[Project | None, list[Check]]:
    """Load the project with its real adapters: the ``settings`` and ``modules`` checks."""
    from cosalette.project import ProjectError, load_project

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            project = load_project(
                root, dry_run=False, settings_file=settings_file, env_file=env_file
            )
    except ProjectError as exc:
        return None, _load_failure(exc)
    shown = [_display(project.settings_path)]
    env = project.env_file or (project.root / ".env")
    if env.is_file():
        shown.append(_display(env))
    detail = f"{', '.join(shown)} and the environment are valid"
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if notes:
        detail += f" (warning: {notes[0]}{f'; {len(notes) - 1} more' if len(notes) > 1 else ''})"
    count = len(project.modules)
    checks = [
        passed("settings", detail),
        passed("modules", f"{count} project module{'' if count == 1 else 's'} import"),
    ]
    return project, checks


def _load_failure(exc: ProjectError) -> list[Check]:
    """A ProjectError at a ``.py`` file is the code's; any other is the settings'."""
    if exc.file is not None and exc.file.suffix == ".py":
        cause = exc.__cause__
        missing = getattr(cause, "name", None) if isinstance(cause, ModuleNotFoundError) else None
        top = (missing or "").partition(".")[0]
        if top and top not in FOLDERS:
            fix = f"install the package that provides {top!r} in this environment"
        else:
            fix = f"correct the code at {_display(exc.file)}{f':{exc.line}' if exc.line else ''}"
        return [
            blocked("settings", "the project's modules must import first"),
            failed("modules", str(exc), fix),
        ]
    return [failed("settings", str(exc), _settings_fix(exc)), blocked("modules", "settings failed")]


def _settings_fix(exc: ProjectError) -> str:
    text = str(exc)
    if exc.file is not None and exc.line:
        return f"correct the value at {_display(exc.file)}:{exc.line} (or its environment variable)"
    if exc.file is not None:
        return f"correct {_display(exc.file)}"
    if text.startswith("environment variable"):
        return "correct or unset that environment variable"
    return "correct the setting named above"


def adapter_checks(project: Project) -> list[Check]:
    """``adapters``: each real adapter resolves (a ``module:Class`` string is imported; nothing
    is constructed); ``wiring``: every handler binds, as ``cosactl run`` checks at start."""
    from cosalette._di.adapters import describe_impl, import_string
    from cosalette._di.plan import type_label
    from cosalette._project.markers import adapter_mark
    from cosalette.project import ProjectError

    adapters = project.app.describe(project.settings).adapters
    problems: list[str] = []
    fixes: list[str] = []
    found: list[str] = []
    for port, entry in adapters.items():
        label = type_label(port)
        impl: Any = entry.impl
        if isinstance(impl, str):
            try:
                impl = import_string(impl)
            except (ImportError, ValueError) as exc:
                problems.append(f"{label}: {exc}")
                fixes.append(f"install the package of {entry.impl!r} or correct the string")
                continue
        mark = adapter_mark(impl)
        if mark is not None and mark.fake:
            problems.append(f"{label} has only a fake adapter ({describe_impl(impl)})")
            fixes.append(f"mark the real class @adapter({label}) in adapters/")
            continue
        found.append(f"{label} → {describe_impl(impl)}")
    checks: list[Check]
    if problems:
        checks = [failed("adapters", "; ".join(problems), "; ".join(fixes))]
    elif found:
        checks = [passed("adapters", f"real adapters import: {', '.join(found)}")]
    else:
        checks = [not_applicable("adapters", "the project declares no adapters")]
    try:
        project.check()
    except ProjectError as exc:
        checks.append(failed("wiring", str(exc), "correct the handler or adapter named above"))
    else:
        checks.append(passed("wiring", "every handler and adapter binds by type"))
    return checks


def store_check(project: Project) -> Check:
    """``store``: a temporary file can be made (and removed) next to the store's file."""
    store = project.app.describe().store
    if store is None:
        return not_applicable("store", 'persistence is off ([store] backend = "none")')
    path = getattr(store, "path", None)
    if not isinstance(path, Path):
        return not_applicable("store", f"{type(store).__name__} keeps no file")
    shown = _display(path)
    key = "[store] path" if project.store_section is not None else "the default store path"
    from cosalette._store_path import store_path_variable

    fix = (
        f"make {shown}'s folder writable for this user, or set {key} "
        f"(or {store_path_variable(project.name)}) to a writable place"
    )
    if path.is_dir():
        return failed("store", f"{shown} is a directory, not a file", fix)
    if path.exists() and not os.access(path, os.W_OK):
        return failed("store", f"{shown} is not writable", fix)
    folder = path.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return failed("store", f"{shown}: {_display(existing)} is not a directory", fix)
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".cosactl-doctor-"):
            pass
    except OSError as exc:
        return failed(
            "store", f"{shown}: cannot write in {_display(existing)}: {exc.strerror}", fix
        )
    later = (
        ""
        if existing == folder
        else f" (the folder {_display(folder)}/ is made at the first start)"
    )
    return passed("store", f"{shown} is writable{later}")


def clock_check(now: datetime | None = None) -> Check:
    """``clock``: the wall clock is not before this release era, nor absurdly far ahead."""
    current = now or datetime.now(UTC)
    shown = current.strftime("%Y-%m-%d %H:%M UTC")
    fix = (
        "set the time and keep it synchronised: enable NTP (`timedatectl set-ntp true`); a "
        "Raspberry Pi has no battery-backed clock (add an RTC module or make sure NTP is "
        "reached at boot); TLS certificates and schedules need the right time"
    )
    if current < CLOCK_FLOOR:
        return failed("clock", f"the clock says {shown}, before {CLOCK_FLOOR:%Y-%m-%d}", fix)
    if current >= CLOCK_CEILING:
        return failed("clock", f"the clock says {shown}, far in the future", fix)
    return passed("clock", f"{shown}")


def _display(path: Path) -> str:
    with contextlib.suppress(ValueError, OSError):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)
