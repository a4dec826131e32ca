"""Importing the App an ``APP_SPEC``/``--app`` names (``module.path:attribute``), and what the
schema commands refuse or resolve about it (settings-derived names, ``--resolve-settings``).

The schema commands report a bad spec on stderr as ``Error: …``; ``manifest`` prints its own
``❌ …`` lines on stdout. Both exit 1.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

from cosalette._cli import Failure

if TYPE_CHECKING:
    from cosalette._app.app import App
    from cosalette._settings import Settings

__all__ = ["build_resolved_asyncapi", "load_app", "refuse_settings_derived_names"]

# reason → (schema commands' message on stderr, manifest's message on stdout)
_MESSAGES: dict[str, tuple[str, str]] = {
    "spec": (
        "Error: Invalid app spec '{spec}'. Expected format: 'module.path:attribute'",
        "❌ Invalid spec '{spec}'. Expected format: 'module.path:attribute'",
    ),
    "not_found": (
        "Error: Could not import module '{module}': {exc}",
        "❌ Could not import module '{module}': {exc}",
    ),
    "import": (
        "Error: Failed to import module '{module}': {exc}",
        "❌ Error importing '{spec}': {exc}",
    ),
    "attribute": (
        "Error: Module '{module}' has no attribute '{attr}'",
        "❌ Module '{module}' has no attribute '{attr}'",
    ),
    "type": (
        "Error: '{spec}' is not an App instance (got {type})",
        "❌ '{spec}' is not an App instance (found {type})",
    ),
}


def _fail(reason: str, *, manifest: bool, **fields: Any) -> Failure:
    schema_text, manifest_text = _MESSAGES[reason]
    text = manifest_text if manifest else schema_text
    return Failure(text.format(**fields), err=not manifest)


def load_app(spec: str, *, manifest: bool = False) -> App:
    """Import the App *spec* names, the current directory first on ``sys.path``.

    Raises :class:`Failure` with the schema commands' message (``manifest``: its own, stdout).
    """
    from cosalette._app.app import App

    spec = spec.strip()
    module_name, sep, attr = (part.strip() for part in spec.rpartition(":"))
    if not sep or not module_name or not attr:
        raise _fail("spec", manifest=manifest, spec=spec)
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise _fail("not_found", manifest=manifest, module=module_name, exc=exc) from None
    except ImportError as exc:  # manifest counts every ImportError as "could not import"
        reason = "not_found" if manifest else "import"
        raise _fail(reason, manifest=manifest, module=module_name, spec=spec, exc=exc) from None
    except Exception as exc:
        raise _fail("import", manifest=manifest, module=module_name, spec=spec, exc=exc) from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise _fail("attribute", manifest=manifest, module=module_name, attr=attr) from None
    if not isinstance(obj, App):
        raise _fail("type", manifest=manifest, spec=spec, type=type(obj).__name__)
    return obj


def refuse_settings_derived_names(app: App) -> None:
    """Fail when a registration's name comes from settings (a callable ``name=``): a static
    schema cannot list entities that only exist once settings are loaded."""
    derived = [r for r in app.describe().registrations.all() if r.name_spec is not None]
    if not derived:
        return
    handlers = "\n".join(f"  - {r.name!r}" for r in derived)
    raise Failure(
        "Error: one or more registrations use a settings-derived entity set (a callable "
        "name=) that cannot be represented in a static schema artifact: their names are "
        "known only once settings are loaded ('schema dump --resolve-settings' loads them).\n\n"
        f"Offending handlers:\n{handlers}"
    )


def _load_settings(app: App, env_file: str) -> Settings:
    from pydantic import ValidationError

    try:
        return app.settings_class(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        fields = ", ".join(".".join(str(part) for part in e["loc"]) for e in exc.errors())
        raise Failure(
            f"Error: Configuration validation failed ({exc.error_count()} error(s)): {fields}"
        ) from None
    except (ValueError, OSError) as exc:  # e.g. an unreadable or malformed settings file
        raise Failure(f"Error: {exc}") from None


def build_resolved_asyncapi(app: App, env_file: str) -> dict[str, Any]:
    """The AsyncAPI document of *app* with its settings from *env_file* (a missing file is
    fine): configure hooks run, settings-derived names expanded, disabled registrations left
    out."""
    from cosalette._contract.asyncapi import build_asyncapi

    settings = _load_settings(app, env_file)
    try:
        return build_asyncapi(app, settings)
    except Exception as exc:
        raise Failure(
            "Error: settings resolution failed after expanding settings-derived "
            f"name=/enabled= specs: {exc!r}"
        ) from None
