"""Importing a project's ``adapters/``, ``devices/`` and ``routers/`` modules.

The import rule (what project code may rely on):

* Every ``*.py`` file of the three folders is imported under its natural dotted name:
  ``adapters/magnetometer.py`` is the module ``adapters.magnetometer``, ``devices/counter.py``
  is ``devices.counter``. The folders are packages whether or not they have an ``__init__.py``.
  Folders are imported in the order adapters, devices, routers, files sorted by name.
* Project modules import each other absolutely, at module level:
  ``from adapters.magnetometer import MagnetometerPort``. Relative imports inside one folder
  (``from .helpers import scale``) work too. The project root itself is *not* put on
  ``sys.path``; only these three packages are importable.
* An isolated load (``load_project``, the default) binds ``adapters``, ``devices`` and
  ``routers`` in ``sys.modules`` only while the project is being imported, and restores
  whatever was there before; so loading the same project twice gives two independent sets of
  modules, and an import done lazily inside a handler at run time will not find them.
* A shared load (the testing kit) leaves the modules in ``sys.modules`` and reuses modules
  already imported from the same folders, so a project's tests that write
  ``from adapters.magnetometer import FakeMagnetometer`` get the very classes the app uses.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import threading
import traceback
import types
from pathlib import Path

from cosalette._project.errors import ProjectError

__all__ = ["FOLDERS", "import_project"]

FOLDERS = ("adapters", "devices", "routers")

_LOCK = threading.RLock()


def _owned(name: str) -> bool:
    return name.partition(".")[0] in FOLDERS


def _take_entries() -> dict[str, types.ModuleType]:
    """Remove and return every ``sys.modules`` entry under the three folder names."""
    taken = {name: mod for name, mod in list(sys.modules.items()) if _owned(name)}
    for name in taken:
        del sys.modules[name]
    return taken


def _same_folder(module: types.ModuleType | None, folder: Path) -> bool:
    paths = list(getattr(module, "__path__", None) or ())
    return bool(paths) and Path(paths[0]).resolve() == folder.resolve()


def _make_package(name: str, folder: Path) -> types.ModuleType:
    """A package module over *folder*, executing its ``__init__.py`` when there is one."""
    init = folder / "__init__.py"
    if init.is_file():
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(folder)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = [str(folder)]
    module = importlib.util.module_from_spec(spec)
    module.__path__ = [str(folder)]
    sys.modules[name] = module
    return module


def _import_error(exc: BaseException, module: str, root: Path, fallback: Path) -> ProjectError:
    """A ProjectError at the last line inside the project that the failure went through."""
    file: str | None = None
    line: int | None = None
    root_text = str(root.resolve()) + os.sep
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(root_text):
        file, line = exc.filename, exc.lineno
    else:
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename.startswith(root_text):
                file, line = frame.filename, frame.lineno
    if file is None:
        file = str(fallback)
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return ProjectError(
        f"cannot import {module}: {type(exc).__name__}: {detail}", file=file, line=line
    )


def _module_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.glob("*.py") if p.name != "__init__.py")
    for path in files:
        if not path.stem.isidentifier():
            raise ProjectError(
                f"'{path.name}' is not a valid module name; use letters, digits and "
                f"underscores (e.g. '{path.stem.replace('-', '_')}.py')",
                file=path,
            )
    return files


def _import_all(root: Path) -> dict[str, list[types.ModuleType]]:
    by_folder: dict[str, list[types.ModuleType]] = {}
    for folder_name in FOLDERS:
        folder = root / folder_name
        by_folder[folder_name] = []
        if not folder.is_dir():
            continue
        files = _module_files(folder)
        if folder_name not in sys.modules:
            try:
                _make_package(folder_name, folder)
            except Exception as exc:
                raise _import_error(exc, folder_name, root, folder / "__init__.py") from exc
        for path in files:
            name = f"{folder_name}.{path.stem}"
            try:
                module = importlib.import_module(name)
            except (Exception, SystemExit) as exc:
                raise _import_error(exc, name, root, path) from exc
            by_folder[folder_name].append(module)
    return by_folder


def import_project(root: Path, *, shared: bool = False) -> dict[str, list[types.ModuleType]]:
    """Import every module of the project at *root*, grouped by folder, in import order.

    Raises :class:`ProjectError` naming the failing project file and line.
    """
    with _LOCK:
        importlib.invalidate_caches()
        saved = _take_entries()
        if shared:
            for folder_name in FOLDERS:
                if _same_folder(saved.get(folder_name), root / folder_name):
                    sys.modules.update(
                        {k: v for k, v in saved.items() if k.partition(".")[0] == folder_name}
                    )
        ok = False
        try:
            by_folder = _import_all(root)
            ok = True
            return by_folder
        finally:
            if not (shared and ok):
                _take_entries()
                sys.modules.update(saved)
