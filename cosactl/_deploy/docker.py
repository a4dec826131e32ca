"""``cosactl deploy docker``: a Dockerfile, a compose.yaml and the .dockerignore entries.

The image installs ``[project] dependencies`` of the project's pyproject.toml (read while it
builds, so adding a dependency needs no new Dockerfile), copies the project without ``.env``,
runs ``cosactl run`` as a non-root user and has a ``HEALTHCHECK`` with ``cosactl health``. The
health file is ``/tmp/health.json`` (``<APP>_HEALTH__FILE``). compose.yaml passes ``.env`` at
run time, keeps the store in a volume and restarts the container unless it was stopped.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import PurePosixPath

from cosactl._deploy import STOP_MARGIN, ProjectFacts, stop_timeout
from cosactl._edit import Change, GenerateError, file_change
from cosactl._errors import EXIT_USAGE

__all__ = ["DockerPlan", "default_python_version", "plan_docker"]

WORKDIR = PurePosixPath("/app")
HEALTH_FILE = "/tmp/health.json"
USER = "bridge"
UID = 10001
DOCKERIGNORE = (
    ".env",
    ".env.*",
    "**/.env",
    ".venv",
    "venv",
    ".git",
    "**/__pycache__",
    "**/*.py[cod]",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".cosactl",
    "state",
    "deploy",
    "tests",
    "**/*.log",
)
_VERSION = re.compile(r"3\.(\d+)")
# The one line that turns pyproject.toml's dependencies into a requirements file
_REQUIREMENTS = (
    "python -c \"import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))"
    "['project']['dependencies'], sep=chr(10))\" > /tmp/requirements.txt"
)


@dataclass(frozen=True)
class DockerPlan:
    """The changes, and the facts the next steps mention."""

    changes: tuple[Change, ...]
    state_dir: PurePosixPath | None  # the volume's mount point in the container
    local_broker: bool  # settings.toml's broker is localhost: compose points elsewhere


def default_python_version() -> str:
    """The running interpreter's ``3.X``: the one the project is developed and tested with."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def plan_docker(facts: ProjectFacts, *, python_version: str) -> DockerPlan:
    match = _VERSION.fullmatch(python_version)
    if match is None or int(match.group(1)) < 11:
        raise GenerateError(
            f"--python-version {python_version!r}: use 3.11 or newer (3.X), like the project's "
            "requires-python",
            EXIT_USAGE,
        )
    state_dir, store_env = container_store(facts)
    local = not facts.has_hosts and (facts.mqtt_host or "localhost") in (
        "localhost",
        "127.0.0.1",
        "::1",
    )
    changes = (
        file_change(
            facts.root, "Dockerfile", dockerfile(facts, python_version, state_dir, store_env)
        ),
        file_change(facts.root, "compose.yaml", compose(facts, state_dir, local_broker=local)),
        dockerignore_change(facts, state_dir),
    )
    return DockerPlan(
        changes=tuple(c for c in changes if c is not None),
        state_dir=state_dir,
        local_broker=local,
    )


def container_store(facts: ProjectFacts) -> tuple[PurePosixPath | None, str | None]:
    """The store's directory in the container, and the store file to set through
    ``<APP>_STORE_PATH`` when settings.toml's path means nothing there (outside the
    project, or the default store in the user's XDG state directory)."""
    if facts.store_file is not None:
        rel = facts.inside(facts.store_file)
        if rel is not None and PurePosixPath(rel).parent != PurePosixPath("."):
            return WORKDIR / PurePosixPath(rel).parent, None
        # outside the project, or in its root (a volume there would hide the code)
        state = WORKDIR / "state"
        return state, str(state / facts.store_file.name)
    if facts.default_store and facts.backend == "json":
        state = WORKDIR / "state"
        return state, str(state / "store.json")
    return None, None  # memory or none: nothing kept


def dockerfile(
    facts: ProjectFacts,
    python_version: str,
    state_dir: PurePosixPath | None,
    store_env: str | None,
) -> str:
    app = facts.app
    env = [f"{facts.health_variable}={HEALTH_FILE}"]
    if store_env is not None:
        env.append(f"{facts.store_variable}={store_env}")
    state = []
    if state_dir is not None:
        state = [
            "# The store's directory, the volume's mount point: the only one the user may write",
            f"RUN mkdir -p {state_dir} && chown {USER}:{USER} {state_dir}",
        ]
    lines = [
        f"# The {app} bridge (cosalette), written by `cosactl deploy docker`.",
        f"#   docker build -t {app} .      or     docker compose up -d --build",
        "# No secret is built in: .dockerignore keeps .env out; compose.yaml passes it at run",
        "# time (env_file).",
        f"ARG PYTHON_VERSION={python_version}",
        "FROM python:${PYTHON_VERSION}-slim",
        "",
        "ENV PYTHONUNBUFFERED=1 \\",
        "    PYTHONDONTWRITEBYTECODE=1 \\",
        "    PIP_NO_CACHE_DIR=1 \\",
        "    PIP_DISABLE_PIP_VERSION_CHECK=1",
        "",
        f"RUN useradd --system --uid {UID} --user-group --no-create-home \\",
        f"    --home-dir /nonexistent --shell /usr/sbin/nologin {USER}",
        f"WORKDIR {WORKDIR}",
        "",
        "# [project] dependencies of pyproject.toml (cosalette, ...), in a layer of their own",
        "COPY pyproject.toml ./",
        f"RUN {_REQUIREMENTS} \\",
        "    && pip install -r /tmp/requirements.txt \\",
        "    && rm /tmp/requirements.txt",
        "",
        "COPY . .",
        *state,
        "",
        "# Where the runtime writes its health file and `cosactl health` reads it",
        "ENV " + " ".join(env),
        f"USER {USER}",
        "",
        "# SIGTERM: a clean shutdown (status offline, state saved) within "
        f"{stop_timeout() - STOP_MARGIN} s",
        "STOPSIGNAL SIGTERM",
        "# Unhealthy when stale, when the broker has been unreachable too long, or a device is",
        "# in error",
        "HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \\",
        '    CMD ["cosactl", "health"]',
        'CMD ["cosactl", "run"]',
    ]
    return "\n".join(lines) + "\n"


def compose(facts: ProjectFacts, state_dir: PurePosixPath | None, *, local_broker: bool) -> str:
    app = facts.app
    variable = f"{facts.env_prefix}MQTT__HOST"
    lines = [
        f"# The {app} bridge (cosalette), written by `cosactl deploy docker`.",
        "#   cp .env.example .env   # then fill in the secrets: read at run time, never built in",
        "#   docker compose up -d --build",
        "services:",
        f"  {app}:",
        "    build: .",
        f"    image: {app.lower()}",
        "    restart: unless-stopped",
        "    env_file: .env",
    ]
    if local_broker:
        lines += [
            "    # settings.toml's broker is localhost, which in a container is the container:",
            f"    # this is the Docker host unless {variable} is set (in .env or the shell)",
            "    environment:",
            f"      {variable}: ${{{variable}:-host.docker.internal}}",
            "    extra_hosts:",
            '      - "host.docker.internal:host-gateway"',
        ]
    if state_dir is not None:
        lines += [
            "    volumes:",
            f"      - state:{state_dir}",
        ]
    lines += [
        "    stop_signal: SIGTERM",
        f"    stop_grace_period: {stop_timeout()}s",
    ]
    if state_dir is not None:
        lines += ["", "volumes:", "  state:"]
    return "\n".join(lines) + "\n"


def dockerignore_change(facts: ProjectFacts, state_dir: PurePosixPath | None) -> Change | None:
    """Create .dockerignore, or append the entries it lacks (the user's lines stay)."""
    wanted = list(DOCKERIGNORE)
    if state_dir is not None and state_dir != WORKDIR:
        rel = state_dir.relative_to(WORKDIR).as_posix()
        if rel not in wanted:
            wanted.append(rel)  # local state never goes into the image
    header = "# Never in the image (cosactl deploy docker): secrets, local state, caches"
    path = facts.root / ".dockerignore"
    if not path.exists():
        return file_change(facts.root, ".dockerignore", "\n".join([header, *wanted]) + "\n")
    text = path.read_text("utf-8")
    have = {line.strip().rstrip("/") for line in text.splitlines()}
    missing = [entry for entry in wanted if entry not in have]
    if not missing:
        return Change("identical", ".dockerignore")
    if text and not text.endswith("\n"):
        text += "\n"
    new = text + "\n".join(["", header, *missing]) + "\n"
    return Change("update", ".dockerignore", f"+{len(missing)} entries", content=new)
