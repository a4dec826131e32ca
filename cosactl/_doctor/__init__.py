"""``cosactl doctor``: check a deployment, one line per check with a fix hint."""

from __future__ import annotations

from pathlib import Path

from cosactl._doctor.report import Report, blocked

__all__ = ["DEFAULT_TIMEOUT", "Report", "run_checks"]

DEFAULT_TIMEOUT = 5.0


def run_checks(
    root: Path,
    *,
    settings_file: str | None = None,
    env_file: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Report:
    """Run every check in order; a check whose prerequisite failed is skipped, not failed."""
    from cosactl._doctor.broker_checks import BROKER_CHECKS, broker_checks
    from cosactl._doctor.project_checks import (
        adapter_checks,
        clock_check,
        load_checks,
        store_check,
    )

    project, checks = load_checks(root, settings_file, env_file)
    if project is None:
        why = next(f"{c.name} failed" for c in checks if c.status == "fail")
        checks += [blocked(name, why) for name in ("adapters", "wiring", "store")]
        checks.append(clock_check())
        checks += [blocked(name, why) for name in BROKER_CHECKS]
        return Report(tuple(checks))
    checks += adapter_checks(project)
    checks.append(store_check(project))
    checks.append(clock_check())
    checks += broker_checks(project, timeout)
    return Report(tuple(checks))
