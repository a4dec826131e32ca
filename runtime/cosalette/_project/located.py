"""A check's errors in the project's words: hints name ``adapters/`` and ``cosactl add``, and a
deferred value that fails is reported where it came from (``settings.toml:<line>``, the
environment variable or the ``.env`` line), not at the decorator that referenced it."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import TYPE_CHECKING

from cosalette._app.registration import _Registration, resolve_interval
from cosalette._di.plan import InjectionError, type_label
from cosalette._project.errors import ProjectError, display_path, location_of, where
from cosalette._settings import SettingRef, Settings
from cosalette._streams import StreamablePort

if TYPE_CHECKING:
    from cosalette._project.discovery import Project

__all__ = ["project_message", "setting_error"]

_SECONDS = ("interval", "timeout")  # the registration fields a setting_ref may fill
_ERRORS = (TypeError, ValueError)


def project_message(exc: BaseException) -> str:
    """*exc*'s message, with a hint about the project's ``adapters/`` for a missing type."""
    if not isinstance(exc, InjectionError) or exc.missing is None:
        return str(exc)
    label = type_label(exc.missing)
    if typing.get_origin(exc.missing) is StreamablePort:
        hint = (
            f"mark its adapter class @adapter({label}) in adapters/ "
            f"(`cosactl add stream NAME --adapter PORT` writes one)"
        )
    else:
        hint = (
            f"add its adapter with `cosactl add adapter NAME` and mark the class "
            f"@adapter({label}) in adapters/, or ask for a framework type (DeviceContext, "
            f"Settings, Logger, ClockPort)"
        )
    return f"{exc.detail}; {hint}"


def setting_error(project: Project, reg: _Registration, settings: Settings) -> ProjectError | None:
    """A ProjectError at the setting whose value makes *reg* fail to resolve, if one does."""
    for what in _SECONDS:
        ref = getattr(reg, what, None)
        if not isinstance(ref, SettingRef):
            continue
        try:
            ref.resolve(settings)
        except (LookupError, AttributeError):
            continue  # the reference itself is wrong: the decorator's line says so
        try:
            resolve_interval(ref, settings, what=what, owner=reg.label)
        except _ERRORS as exc:
            return _at_setting(project, reg, ref, str(exc).removeprefix(f"{reg.label}: "))
    return None


def _at_setting(
    project: Project, reg: _Registration, ref: SettingRef, reason: str
) -> ProjectError | None:
    from cosalette._settings_errors import SettingLocator

    locator = SettingLocator(project.settings_class, project.settings_path, _env_files(project), {})
    used_by = f"read by {reg.label.split(' (')[0]} at {where(*location_of(reg.func))}"
    problem = locator.describe(tuple(ref.field.split(".")), f"{reason} ({used_by})", "value_error")
    if problem.file is None and problem.source is None:  # a default: the decorator is the place
        return None
    shown = problem._replace(file=Path(display_path(problem.file))) if problem.file else problem
    return ProjectError(str(shown), file=problem.file, line=problem.line)


def _env_files(project: Project) -> list[Path]:
    if project.env_file is not None:
        return [project.env_file] if project.env_file.is_file() else []
    default = project.settings_class.model_config.get("env_file")
    return [Path(default)] if isinstance(default, str) and Path(default).is_file() else []
