"""What ``cosactl deploy`` writes: a systemd unit set or a Dockerfile + compose file.

Planning reads the project (settings.toml: ``[app] name``, ``[store]``, ``[logging] file``,
``[mqtt] host``) and renders text; nothing is written until :func:`apply_changes`, which refuses
to overwrite a file that differs (exit 4) unless ``force``, and writes nothing under ``pretend``.
The generated files never hold a secret: those stay in the project's ``.env``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosactl._edit import Change, GenerateError, app_name, write_atomic
from cosactl._errors import EXIT_PROJECT, EXIT_REFUSED
from cosalette._names import env_prefix_for
from cosalette._stop_timing import STOP_LIMIT

__all__ = [
    "RUNTIME_STOP_LIMIT",
    "STOP_MARGIN",
    "Change",
    "DeployError",
    "ProjectFacts",
    "apply_changes",
    "project_facts",
    "stop_timeout",
]

DeployError = GenerateError

_UNIT_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
STOP_MARGIN = 5  # seconds beyond the runtime's own teardown limit before a hard kill
RUNTIME_STOP_LIMIT = STOP_LIMIT  # the longest a stop takes before the watchdog ends it


@dataclass(frozen=True)
class ProjectFacts:
    """What the deploy files need to know about a project.

    ``store_file`` is the store's file as settings.toml names it (absolute; ``None`` for the
    memory and none backends); ``default_store`` is true when there is no ``[store]`` section,
    so the App's default store (``$<APP>_STORE_PATH`` or the XDG state directory) is used.
    """

    root: Path
    app: str
    env_prefix: str
    store_variable: str
    backend: str
    store_file: Path | None
    default_store: bool
    log_file: Path | None
    mqtt_host: str | None
    has_hosts: bool

    @property
    def health_variable(self) -> str:
        """The environment variable the runtime and ``cosactl health`` read the file from."""
        return f"{self.env_prefix}HEALTH__FILE"

    def inside(self, path: Path) -> str | None:
        """*path* relative to the project root (POSIX), or None when it is outside."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return None


def stop_timeout() -> int:
    """Seconds a service manager should wait after SIGTERM: the runtime's own limit, after
    which its watchdog ends the process, plus a margin."""
    return int(RUNTIME_STOP_LIMIT + 0.999) + STOP_MARGIN


def project_facts(root: Path) -> ProjectFacts:
    """Read the facts from *root*'s settings.toml (no project code is imported)."""
    from cosalette._project.errors import ProjectError
    from cosalette._project.store import DEFAULT_STORE_FILES, read_store_section
    from cosalette._store_path import store_path_variable

    root = root.resolve()
    app = app_name(root)
    if not _UNIT_SAFE_NAME.fullmatch(app):
        raise GenerateError(
            f"[app] name {app!r} cannot name a service, a container or a directory: "
            "use letters, digits, '_', '.' and '-'",
            EXIT_PROJECT,
        )
    path = root / "settings.toml"
    text = path.read_text("utf-8")
    data = tomllib.loads(text)  # app_name() has already refused invalid TOML
    try:
        section = read_store_section(data, text, path)
    except ProjectError as exc:
        raise GenerateError(str(exc), EXIT_PROJECT) from None
    backend = section.backend if section is not None else "json"
    store_file: Path | None = None
    default = DEFAULT_STORE_FILES.get(backend)
    if section is not None and default is not None:
        store_file = root / Path(section.path or default).expanduser()
    logging_section = _table(data, "logging")
    log_name = logging_section.get("file")
    log_file = (
        root / Path(log_name).expanduser() if isinstance(log_name, str) and log_name else None
    )
    mqtt = _table(data, "mqtt")
    host = mqtt.get("host")
    return ProjectFacts(
        root=root,
        app=app,
        env_prefix=env_prefix_for(app),
        store_variable=store_path_variable(app),
        backend=backend,
        store_file=store_file,
        default_store=section is None,
        log_file=log_file,
        mqtt_host=host if isinstance(host, str) else None,
        has_hosts=bool(mqtt.get("hosts")),
    )


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    return value if isinstance(value, dict) else {}


def apply_changes(
    root: Path, changes: Sequence[Change], *, force: bool, pretend: bool
) -> Sequence[Change]:
    """Write *changes* (nothing under *pretend*); a conflict is refused unless *force*."""
    conflicts = [c for c in changes if c.action == "conflict"]
    if conflicts and not force:
        diffs = "".join(c.diff for c in conflicts)
        paths = " and ".join(c.path for c in conflicts)
        raise GenerateError(
            f"refusing to overwrite {paths}: your version differs from what "
            f"`cosactl deploy` writes (diff below); nothing was written. --force overwrites."
            f"\n{diffs.rstrip()}",
            EXIT_REFUSED,
        )
    if not pretend:
        for change in changes:
            if change.content is not None:
                write_atomic(root / change.path, change.content)
    return changes
