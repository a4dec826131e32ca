"""Project discovery: read ``settings.toml``, import the project's modules, build one App.

How modules are imported, and so how project code imports its siblings, is described in
:mod:`cosalette._project.importer`: ``from adapters.magnetometer import MagnetometerPort``.

What is collected, from module attributes only (there is no global registry):

* ``devices/*.py``: every module-level ``cosalette.Router`` (included without a prefix), and
  at most one ``DeviceConfig`` subclass defined in the module, the model of
  ``[devices.<file stem>]``; handlers receive that section by annotating the class.
* ``routers/*.py``: every module-level Router, included with ``prefix=<file stem>`` unless the
  Router sets its own. A device module's router imported into a ``routers/`` module moves
  under that prefix (it is included once, there).
* any of the three folders: classes or factories marked with ``@adapter(Port)`` (real) and
  ``@adapter(Port, fake=True)`` (used under ``--dry-run``), defined in that module. Adapters
  that a Router declares itself (``Router(adapters=...)``) take precedence over markers.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosalette._app.app import App
from cosalette._app.registration import _CommandRegistration, _Registration
from cosalette._app.router import Router, included
from cosalette._di.plan import type_label
from cosalette._project.errors import (
    NotAProjectError,
    ProjectError,
    ProjectWarning,
    display_path,
    location_of,
    where,
)
from cosalette._project.importer import import_project
from cosalette._project.markers import AdapterMark, DeviceConfig, adapter_mark
from cosalette._project.settings_model import (
    AppSection,
    check_device_sections,
    check_top_level_tables,
    compose_settings_class,
    load_project_settings,
    read_app_section,
    read_toml,
)
from cosalette._project.store import StoreSection, project_store_entry, read_store_section
from cosalette._settings import Settings
from cosalette._settings_errors import toml_key_line

__all__ = ["CONFIGURED_STORE", "Project", "load_project"]

CONFIGURED_STORE: Any = object()
"""``load_project(store=...)`` omitted: the store ``[store]`` configures (or the App default)."""


@dataclass(eq=False)
class Project:
    """A loaded project: its wired App, its settings and what discovery found."""

    root: Path
    settings_path: Path
    app: App
    settings: Settings
    settings_class: type[Settings]
    dry_run: bool
    device_configs: dict[str, type[DeviceConfig]]
    modules: dict[str, types.ModuleType]
    warnings: list[ProjectWarning] = field(default_factory=list)
    store_section: StoreSection | None = None
    """The ``[store]`` section, or None when settings.toml has none."""
    env_file: Path | None = None
    """The ``.env`` file given to :func:`load_project` (None: the project's ``.env``)."""

    @property
    def name(self) -> str:
        """The app name from ``[app]``."""
        return self.app.name

    def module(self, name: str) -> types.ModuleType:
        """A project module by dotted name, e.g. ``"adapters.magnetometer"``."""
        try:
            return self.modules[name]
        except KeyError:
            known = ", ".join(sorted(self.modules)) or "none"
            raise LookupError(f"no project module {name!r} (modules: {known})") from None

    def check(self) -> None:
        """Bind every handler and adapter by type without running anything.

        Raises :class:`ProjectError` naming the handler's (or adapter's) file and line.
        """
        from cosalette._project.check import check_project

        check_project(self)

    def manifest(self) -> dict[str, Any]:
        """The project's contract: :func:`cosalette.project.build_manifest` with its settings.

        The store's path is relative to the project root, and the App's default store shows
        as ``$<APP>_STORE_PATH or $XDG_STATE_HOME/<app>/store.json``, the same on every machine.
        """
        from cosalette._contract.manifest import build_manifest

        manifest = build_manifest(self.app, self.settings)
        if "store" in manifest:
            manifest["store"] = project_store_entry(self.app, self.root)
        return manifest


@dataclass
class _Found:
    """What the project's modules declare."""

    device_routers: list[tuple[Router, types.ModuleType]] = field(default_factory=list)
    group_routers: list[tuple[Router, types.ModuleType]] = field(default_factory=list)
    configs: dict[str, type[DeviceConfig]] = field(default_factory=dict)
    marks: list[tuple[Any, AdapterMark, str]] = field(default_factory=list)


def _module_file(module: types.ModuleType) -> str:
    return str(getattr(module, "__file__", None) or module.__name__)


def _routers(module: types.ModuleType) -> list[Router]:
    seen: dict[int, Router] = {}
    for value in vars(module).values():
        if isinstance(value, Router):
            seen.setdefault(id(value), value)
    return list(seen.values())


def _config_of(module: types.ModuleType) -> type[DeviceConfig] | None:
    found = [
        v
        for v in vars(module).values()
        if isinstance(v, type)
        and issubclass(v, DeviceConfig)
        and v is not DeviceConfig
        and v.__module__ == module.__name__
    ]
    if len(found) > 1:
        first, second = found[0], found[1]
        file, line = location_of(second, _module_file(module))
        _, first_line = location_of(first, _module_file(module))
        raise ProjectError(
            f"a device module defines at most one DeviceConfig (the model of its "
            f"[devices.<name>] section); found {first.__name__} (line {first_line}) and "
            f"{second.__name__}",
            file=file or _module_file(module),
            line=line,
        )
    return found[0] if found else None


def _collect(by_folder: dict[str, list[types.ModuleType]]) -> _Found:
    found = _Found()
    grouped: dict[int, types.ModuleType] = {}
    for module in by_folder["routers"]:
        for router in _routers(module):
            other = grouped.get(id(router))
            if other is not None:
                raise ProjectError(
                    f"the same Router is included by {display_path(_module_file(other))} and "
                    f"by this module; a router belongs to one group",
                    file=_module_file(module),
                )
            grouped[id(router)] = module
            found.group_routers.append((router, module))
    included: set[int] = set(grouped)
    for module in by_folder["devices"]:
        for router in _routers(module):
            if id(router) not in included:
                included.add(id(router))
                found.device_routers.append((router, module))
        config = _config_of(module)
        if config is not None:
            found.configs[module.__name__.rpartition(".")[2]] = config
    seen: set[int] = set()
    for modules in by_folder.values():
        for module in modules:
            for value in vars(module).values():
                mark = adapter_mark(value)
                if mark is None or id(value) in seen:
                    continue
                if getattr(value, "__module__", None) != module.__name__:
                    continue
                seen.add(id(value))
                found.marks.append((value, mark, _module_file(module)))
    return found


def _reg_where(reg: _Registration) -> tuple[str | None, int | None]:
    return location_of(reg.func)


def _conflicts(new: _Registration, other: _Registration) -> bool:
    if (
        isinstance(new, _CommandRegistration)
        and isinstance(other, _CommandRegistration)
        and new.sub is not None
        and other.sub is not None
        and new.sub != other.sub
    ):
        return False
    return new.name == other.name or (new.is_root and other.is_root)


def _include(app: App, router: Router, module: types.ModuleType, prefix: str | None) -> None:
    """Include *router*; a clash names both definitions."""
    try:
        app.include_router(router, prefix=prefix)
    except (ValueError, TypeError) as exc:
        declared = router.describe()
        existing = app.describe().registrations.all()
        for reg in declared.registrations.all():
            new = included(reg, declared, prefix=prefix)
            if new.name_spec is not None:
                continue
            for other in existing:
                if other.name_spec is None and _conflicts(new, other):
                    file, line = _reg_where(reg)
                    what = "root device" if new.is_root else f"device name '{new.name}'"
                    raise ProjectError(
                        f"the {what} is defined twice: here ({reg.label}) and at "
                        f"{where(*_reg_where(other))} ({other.label})",
                        file=file or _module_file(module),
                        line=line,
                    ) from exc
        raise ProjectError(str(exc), file=_module_file(module)) from exc


def _register_adapters(app: App, marks: list[tuple[Any, AdapterMark, str]]) -> None:
    """Register marked adapters: real normally, fake under ``--dry-run``; fake-only for both."""
    by_port: dict[Any, dict[bool, Any]] = {}
    files: dict[int, str] = {}
    for impl, mark, module_file in marks:
        files[id(impl)] = module_file
        slot = by_port.setdefault(mark.port, {})
        previous = slot.get(mark.fake)
        if previous is not None:
            kind = "fake" if mark.fake else "real"
            file, line = location_of(impl, module_file)
            before = location_of(previous, files.get(id(previous)))
            raise ProjectError(
                f"two {kind} adapters for {type_label(mark.port)}: "
                f"{getattr(impl, '__qualname__', impl)} here and "
                f"{getattr(previous, '__qualname__', previous)} at {where(*before)}",
                file=file,
                line=line,
            )
        slot[mark.fake] = impl
    for port, slot in by_port.items():
        if port in app.adapters:
            continue  # a Router declared this port's adapter itself
        real: Any = slot[False] if False in slot else slot[True]
        app.adapter(port, real, dry_run=slot.get(True))


def _section_getter(stem: str) -> Callable[[Settings], object]:
    def section(settings: Settings) -> object:
        return getattr(settings.devices, stem)  # type: ignore[attr-defined]

    return section


def _build_app(section: AppSection, settings: Settings, text: str, path: Path, **kw: Any) -> App:
    options = section.app_options()
    try:
        app = App(
            section.name,
            section.version,
            description=section.description,
            settings=settings,
            **options,
            **kw,
        )
    except (ValueError, TypeError) as exc:
        key = next((k for k in options if k in str(exc)), None)
        line = toml_key_line(text, ("app", key) if key else ("app",))
        raise ProjectError(f"[app]: {exc}", file=path, line=line) from exc
    return app


def _unused_sections(
    data: dict[str, Any], text: str, path: Path, app: App, found: _Found, stems: Iterable[str]
) -> list[ProjectWarning]:
    sections = data.get("devices")
    if not isinstance(sections, dict):
        return []
    known = set(found.configs) | set(stems)
    for reg in app.describe().registrations.all():
        known.update({reg.name, reg.name.rpartition("/")[2]})
    return [
        ProjectWarning(
            f"[devices.{name}] has no device '{name}' (no devices/{name}.py and no device of "
            f"that name); its settings are not used",
            file=path,
            line=toml_key_line(text, ("devices", name)),
        )
        for name in sections
        if name not in known
    ]


def load_project(
    path: str | Path = ".",
    *,
    dry_run: bool = False,
    settings_file: str | Path | None = None,
    env_file: str | Path | None = None,
    shared_modules: bool = False,
    store: Any = CONFIGURED_STORE,
) -> Project:
    """Discover the project at *path* and wire its App (nothing is started).

    *shared_modules* keeps the project's modules in ``sys.modules`` (used by the testing kit).
    *store* replaces the store ``[store]`` configures (``cosactl dev`` and the testing kit
    pass theirs): a Store, a factory or None, as for ``App(store=...)``; ``[store]`` is still
    checked. Every problem is a :class:`ProjectError` naming the file and line.
    """
    root = Path(path).resolve()
    default = root / "settings.toml"
    if settings_file is None and not default.is_file():
        raise NotAProjectError(
            f"{display_path(root)} is not a cosalette project (no settings.toml); "
            f"create one with `cosactl new NAME`"
        )
    settings_path = Path(settings_file).resolve() if settings_file is not None else default
    if not settings_path.is_file():
        raise ProjectError("settings file not found", file=settings_path)
    if env_file is not None and not Path(env_file).is_file():
        raise ProjectError("env file not found", file=env_file)
    data, text = read_toml(settings_path)
    section = read_app_section(data, text, settings_path)
    store_section = read_store_section(data, text, settings_path)
    by_folder = import_project(root, shared=shared_modules)
    found = _collect(by_folder)
    check_device_sections(data, text, settings_path, found.configs)
    settings_class = compose_settings_class(section.name, root, settings_path, found.configs)
    check_top_level_tables(data, text, settings_path, settings_class)
    settings = load_project_settings(settings_class, settings_path=settings_path, env_file=env_file)
    if store is CONFIGURED_STORE and store_section is not None:
        store = store_section.build(root, section.name)
    extra: dict[str, Any] = {} if store is CONFIGURED_STORE else {"store": store}
    app = _build_app(
        section,
        settings,
        text,
        settings_path,
        settings_class=settings_class,
        dry_run=dry_run,
        **extra,
    )
    for stem, config in found.configs.items():
        app.provide(config, _section_getter(stem))
    for router, module in found.device_routers:
        _include(app, router, module, None)
    for router, module in found.group_routers:
        stem = module.__name__.rpartition(".")[2]
        _include(app, router, module, None if router.prefix else stem)
    _register_adapters(app, found.marks)
    stems = [m.__name__.rpartition(".")[2] for m in by_folder["devices"]]
    project = Project(
        root=root,
        settings_path=settings_path,
        app=app,
        settings=settings,
        settings_class=settings_class,
        dry_run=dry_run,
        device_configs=dict(found.configs),
        modules={m.__name__: m for mods in by_folder.values() for m in mods},
        warnings=_unused_sections(data, text, settings_path, app, found, stems),
        store_section=store_section,
        env_file=Path(env_file).resolve() if env_file is not None else None,
    )
    for warning in project.warnings:
        warnings.warn(warning, stacklevel=2)
    return project
