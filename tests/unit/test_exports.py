"""``__all__``, ``_EXPORTS``, the ``TYPE_CHECKING`` imports and the package's attributes agree.

The documented names are checked in test_public_api.py. Public submodules (``testing``,
``project``, ``filters`` ...) are namespaces, not exports: never in ``__all__`` or ``dir()``, but
attributes of the package once imported (as in any package), allowed only as real submodules.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import cosalette

EXPORTS: dict[str, str] = cosalette._EXPORTS
INIT_SOURCE = Path(cosalette.__file__).read_text(encoding="utf-8")

# Names __init__.py binds by importing its own tools. Public by spelling only; not exports.
# (Importing them as _importlib, _Any ... would make this set empty.)
PLUMBING: frozenset[str] = frozenset()  # __init__.py binds its own helpers as _private names


def _public_submodules() -> set[str]:
    return {m.name for m in pkgutil.iter_modules(cosalette.__path__) if not m.name.startswith("_")}


def _type_checking_imports() -> dict[str, str]:
    """Name -> module of every import in ``if TYPE_CHECKING:`` of __init__.py."""
    tree = ast.parse(INIT_SOURCE)
    blocks = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
    ]
    assert len(blocks) == 1, "expected exactly one top-level `if TYPE_CHECKING:` block"
    found: dict[str, str] = {}
    for stmt in blocks[0].body:
        assert isinstance(stmt, ast.ImportFrom), f"line {stmt.lineno}: only `from ... import`"
        assert stmt.module is not None and stmt.level == 0, f"line {stmt.lineno}: absolute only"
        for alias in stmt.names:
            assert alias.asname == alias.name, (
                f"line {stmt.lineno}: write `{alias.name} as {alias.name}`"
            )
            assert alias.name not in found, f"{alias.name} imported twice"
            found[alias.name] = stmt.module
    return found


def test_dunder_all_is_the_export_table_plus_version() -> None:
    assert len(cosalette.__all__) == len(set(cosalette.__all__))
    assert set(cosalette.__all__) == {*EXPORTS, "__version__"}
    assert cosalette.__all__ == sorted(cosalette.__all__)


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_export_resolves_to_the_object_of_its_module(name: str) -> None:
    module = importlib.import_module(EXPORTS[name])
    assert name in vars(module), f"{EXPORTS[name]} does not define {name}"
    assert getattr(cosalette, name) is vars(module)[name]
    assert vars(cosalette)[name] is vars(module)[name]  # cached after the first lookup


def test_version_is_a_plain_attribute() -> None:
    assert isinstance(cosalette.__version__, str) and cosalette.__version__


def test_star_import_gives_exactly_dunder_all() -> None:
    namespace: dict[str, object] = {}
    exec("from cosalette import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == cosalette.__all__


def test_dir_is_dunder_all() -> None:
    assert dir(cosalette) == cosalette.__all__


def test_type_checking_block_imports_exactly_the_exports_from_the_same_modules() -> None:
    assert _type_checking_imports() == EXPORTS


def test_no_export_shadows_a_submodule() -> None:
    assert set(EXPORTS).isdisjoint(_public_submodules())


def test_every_public_attribute_is_exported_or_a_submodule() -> None:
    submodules = _public_submodules()
    for name in submodules:
        importlib.import_module(f"cosalette.{name}")
    for name in EXPORTS:
        getattr(cosalette, name)
    unexpected: dict[str, object] = {}
    for name, value in vars(cosalette).items():
        if name.startswith("_") or name in cosalette.__all__ or name in PLUMBING:
            continue
        if not name.isidentifier():  # '@py_builtins' of pytest's assertion rewriting
            continue
        if isinstance(value, ModuleType) and name in submodules:
            assert value.__name__ == f"cosalette.{name}"
            continue
        unexpected[name] = value
    assert unexpected == {}


def test_plumbing_allowance_is_not_stale() -> None:
    assert sorted(PLUMBING - set(vars(cosalette))) == [], "__init__.py no longer binds these"


@pytest.mark.parametrize(
    "name",
    [
        "DefinitelyNotAName",
        "app",  # exports are case-sensitive: App is one, app is not
        "PUBLISH_WINDOW",  # public in a private module, not exported
        "Registrar",  # a class of cosalette._app, not exported
    ],
)
def test_unknown_names_are_attribute_errors(name: str) -> None:
    with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
        getattr(cosalette, name)
    assert not hasattr(cosalette, name)
    with pytest.raises(ImportError):
        exec(f"from cosalette import {name}", {})
