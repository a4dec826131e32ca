"""``cosactl deploy systemd``: a service unit, and a health-check service run by a timer.

* ``<app>.service`` runs ``<python> -m cosactl run`` in the project directory as ``User=``,
  with the secrets from the project's ``.env`` (``EnvironmentFile=``; the unit holds none),
  restarts it when it ends, and gives it time to stop cleanly after SIGTERM.
* ``<app>-health.service`` (oneshot) runs ``cosactl health`` while ``<app>.service`` is active;
  when it fails, its ``ExecStopPost=`` (privileged, ``+``) restarts ``<app>.service``.
* ``<app>-health.timer`` starts it a minute after ``<app>.service`` starts, then every minute;
  it is ``PartOf=`` the service, so it stops and restarts with it.

The runtime writes its health file to ``/run/<app>/health.json`` (``RuntimeDirectory=``), named
explicitly in both services through ``<APP>_HEALTH__FILE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cosactl._deploy import STOP_MARGIN, ProjectFacts, stop_timeout
from cosactl._edit import Change, GenerateError, file_change
from cosactl._errors import EXIT_USAGE

__all__ = ["SystemdPlan", "plan_systemd"]

HEALTH_INTERVAL = 60  # seconds between health checks, and after a start before the first
_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


@dataclass(frozen=True)
class SystemdPlan:
    """The changes, and what the user must do to install them."""

    changes: tuple[Change, ...]
    units: tuple[Path, ...]  # absolute paths of the unit files, in install order
    writable: tuple[Path, ...]  # directories that must exist, owned by the user
    user: str
    python: Path


def _check(text: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise GenerateError(f"{text!r}: a control character cannot go into a unit", EXIT_USAGE)
    return text


def _value(text: str) -> str:
    """A setting taken whole (WorkingDirectory=, EnvironmentFile=): specifiers escaped."""
    return _check(text).replace("%", "%%")


def _word(text: str, *, command: bool = False) -> str:
    """One word of a list setting or (*command*) of a command line, quoted when needed."""
    _check(text)
    if not _PLAIN.fullmatch(text):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    text = text.replace("%", "%%")
    return text.replace("$", "$$") if command else text


def _command(*words: str) -> str:
    return " ".join(_word(w, command=True) for w in words)


def plan_systemd(facts: ProjectFacts, *, user: str, python: Path, output: Path) -> SystemdPlan:
    """The three unit files under *output* (absolute, or relative to the project root)."""
    app = facts.app
    out = output if output.is_absolute() else facts.root / output
    rel = facts.inside(out.resolve()) or str(out.resolve())
    names = (f"{app}.service", f"{app}-health.service", f"{app}-health.timer")
    texts = (
        main_unit(facts, user=user, python=python),
        health_service(facts, user=user, python=python),
        health_timer(facts),
    )
    changes = tuple(
        file_change(facts.root, f"{rel}/{name}", text)
        for name, text in zip(names, texts, strict=True)
    )
    return SystemdPlan(
        changes=changes,
        units=tuple(out.resolve() / name for name in names),
        writable=writable_dirs(facts),
        user=user,
        python=python,
    )


def writable_dirs(facts: ProjectFacts) -> tuple[Path, ...]:
    """The directories the daemon writes to besides /run/<app>: the store's, the log file's."""
    found: list[Path] = []
    for file in (facts.store_file, facts.log_file):
        if file is not None and file.parent not in found:
            found.append(file.parent)
    return tuple(found)


def _environment(facts: ProjectFacts) -> list[str]:
    lines = [
        "Environment=PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1",
        f"Environment={facts.health_variable}=/run/{facts.app}/health.json",
    ]
    return lines


def main_unit(facts: ProjectFacts, *, user: str, python: Path) -> str:
    """``<app>.service``."""
    app, root = facts.app, str(facts.root)
    env_file = str(facts.root / ".env")
    timeout = stop_timeout()
    state: list[str] = []
    writable = writable_dirs(facts)
    if writable:
        state.append(
            "# The only paths it may write besides /run/"
            f"{app}: they must exist (see `cosactl deploy systemd`)"
        )
        state.append("ReadWritePaths=" + " ".join(_word(str(p)) for p in writable))
    if facts.default_store and facts.backend == "json":
        state += [
            "# No [store] in settings.toml: the default store goes to /var/lib/" + app,
            f"StateDirectory={app}",
            f"Environment={facts.store_variable}=/var/lib/{app}/store.json",
        ]
    lines = [
        f"# {app}.service: the {app} bridge (cosalette), written by `cosactl deploy systemd`.",
        f"# Secrets come from {env_file} (EnvironmentFile=); this file holds none.",
        "[Unit]",
        f"Description={app}: IoT-to-MQTT bridge (cosalette)",
        "Wants=network-online.target",
        "After=network-online.target",
        "# Give up after 5 failed starts in 5 minutes (`systemctl reset-failed` to retry)",
        "StartLimitIntervalSec=300",
        "StartLimitBurst=5",
        "",
        "[Service]",
        "Type=exec",
        f"User={_value(user)}",
        f"WorkingDirectory={_value(root)}",
        f"EnvironmentFile=-{_value(env_file)}",
        *_environment(facts),
        f"ExecStart={_command(str(python), '-m', 'cosactl', 'run')}",
        f"SyslogIdentifier={app}",
        "Restart=always",
        "RestartSec=5",
        "# SIGTERM starts a clean shutdown (status offline, state saved); the runtime ends",
        f"# itself within {timeout - STOP_MARGIN} s; the kill after {timeout} s is a last resort",
        "KillSignal=SIGTERM",
        f"TimeoutStopSec={timeout}",
        f"RuntimeDirectory={app}",
        "# Hardening that leaves the network and devices alone (serial, GPIO, Bluetooth: add",
        "# SupplementaryGroups=dialout gpio bluetooth as needed)",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        *state,
        "PrivateTmp=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectControlGroups=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]
    return "\n".join(lines) + "\n"


def health_service(facts: ProjectFacts, *, user: str, python: Path) -> str:
    """``<app>-health.service``: ``cosactl health``; a failure restarts ``<app>.service``."""
    app = facts.app
    unit = f"{app}.service"
    # $$ is a literal $ for the shell; "$0" "$@" are the words after the script, so the
    # python path is never parsed by the shell
    check = f'systemctl is-active --quiet {unit} || exit 0; exec "$$0" "$$@"'
    restart = (
        f'[ "$$SERVICE_RESULT" = success ] || '
        f'{{ echo "{app} is unhealthy: restarting {unit}"; systemctl --no-block restart {unit}; }}'
    )
    health = _command(str(python), "-m", "cosactl", "health")
    lines = [
        f"# {app}-health.service: run by {app}-health.timer, written by `cosactl deploy systemd`.",
        f"# Checks {unit} (`cosactl health`: stale, broker unreachable too long, a device in",
        "# error) while it is active, and restarts it when the check fails.",
        "[Unit]",
        f"Description={app}: health check",
        f"After={unit}",
        "",
        "[Service]",
        "Type=oneshot",
        f"User={_value(user)}",
        f"WorkingDirectory={_value(str(facts.root))}",
        f"EnvironmentFile=-{_value(str(facts.root / '.env'))}",
        *_environment(facts),
        f"ExecStart=/bin/sh -c '{check}' {health}",
        "# '+': runs as root, to restart the service",
        f"ExecStopPost=+/bin/sh -c '{restart}'",
        "TimeoutStartSec=30",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
    ]
    return "\n".join(lines) + "\n"


def health_timer(facts: ProjectFacts) -> str:
    """``<app>-health.timer``: started with ``<app>.service`` (enable it), stopped with it."""
    app = facts.app
    lines = [
        f"# {app}-health.timer: runs {app}-health.service every {HEALTH_INTERVAL} s while",
        f"# {app}.service runs (the first check {HEALTH_INTERVAL} s after it starts).",
        "[Unit]",
        f"Description={app}: health check every {HEALTH_INTERVAL} s",
        f"PartOf={app}.service",
        f"After={app}.service",
        "",
        "[Timer]",
        f"OnActiveSec={HEALTH_INTERVAL}",
        f"OnUnitActiveSec={HEALTH_INTERVAL}",
        "AccuracySec=5",
        f"Unit={app}-health.service",
        "",
        "[Install]",
        f"WantedBy={app}.service",
    ]
    return "\n".join(lines) + "\n"
