"""Adapter registry: port types mapped to real and dry-run implementations."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cosalette._di.plan import InjectionError, bind, build_plan, type_label

AdapterImpl = type | str | Callable[..., object]
AdapterSpec = AdapterImpl | tuple[AdapterImpl, AdapterImpl]


@dataclass(frozen=True)
class AdapterEntry:
    """One port's implementations: ``impl`` normally, ``dry_run`` under ``--dry-run``."""

    impl: AdapterImpl
    dry_run: AdapterImpl | None = None

    def chosen(self, dry_run: bool) -> AdapterImpl:
        """The implementation to build for this run."""
        return self.dry_run if dry_run and self.dry_run is not None else self.impl


def describe_impl(impl: AdapterImpl | None) -> str | None:
    """A stable text for an implementation, used by manifests."""
    if impl is None:
        return None
    if isinstance(impl, str):
        return impl
    module = getattr(impl, "__module__", "?")
    return f"{module}:{getattr(impl, '__qualname__', repr(impl))}"


def import_string(spec: str) -> Any:
    """The object a ``"package.module:Class"`` adapter spec names (imported now); a clear
    ImportError or ValueError otherwise."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"Adapter import string {spec!r} must look like 'package.module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"Cannot import adapter {spec!r}: {exc}") from exc
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ImportError(f"Cannot import adapter {spec!r}: no attribute {part!r}") from None
    return target


def split_spec(spec: AdapterSpec) -> tuple[AdapterImpl, AdapterImpl | None]:
    """``impl`` or ``(impl, fake)`` → ``(impl, fake or None)``."""
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise ValueError("An adapter tuple must be (implementation, dry_run_implementation)")
        return spec[0], spec[1]
    return spec, None


class AdapterRegistry:
    """The adapters an app or router declares: port type → real and dry-run implementation."""

    def __init__(self) -> None:
        self._entries: dict[Any, AdapterEntry] = {}

    def __contains__(self, port: object) -> bool:
        return port in self._entries

    def __iter__(self) -> Iterator[Any]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> Mapping[Any, AdapterEntry]:
        """Entries by port type."""
        return self._entries

    def register(self, port: Any, impl: AdapterImpl, dry_run: AdapterImpl | None = None) -> None:
        """Register *impl* (and its dry-run twin) for *port*; a second port registration fails."""
        _check_impl(port, impl)
        if dry_run is not None:
            _check_impl(port, dry_run)
        entry = AdapterEntry(impl, dry_run)
        existing = self._entries.get(port)
        if existing is not None and existing != entry:
            raise ValueError(f"An adapter is already registered for {type_label(port)}")
        self._entries[port] = entry


def build_adapter(
    port: Any, entry: AdapterEntry, providers: Mapping[Any, object], *, dry_run: bool
) -> object:
    """Build one adapter instance for *port*; a factory's parameters come from *providers*."""
    impl = entry.chosen(dry_run)
    if isinstance(impl, str):
        impl = import_string(impl)
    if not callable(impl):
        return impl
    return call_injected(impl, providers, owner=f"adapter for {type_label(port)}")


def _check_impl(port: Any, impl: object) -> None:
    if impl is None:
        raise TypeError(f"Adapter implementation for {type_label(port)} must not be None")
    if isinstance(impl, str):
        if ":" not in impl:
            raise ValueError(
                f"Adapter import string {impl!r} for {type_label(port)} must look like "
                f"'package.module:Class'"
            )
        return
    if not callable(impl):
        raise TypeError(
            f"Adapter for {type_label(port)} must be a class, a 'module:Class' string or a "
            f"factory, got {impl!r}"
        )


def call_injected(func: Callable[..., Any], providers: Mapping[Any, object], *, owner: str) -> Any:
    """Call *func* with its annotated parameters taken from *providers*.

    Parameters with defaults are left to their defaults when nothing provides them, so a
    class whose constructor arguments all have defaults is constructible as it is.
    """
    try:
        plan = build_plan(func, owner=owner)
    except InjectionError:
        if inspect.isclass(func) and all_defaults(func):
            return func()
        raise
    kwargs = bind(plan, providers, owner=owner)
    return func(**kwargs)


def all_defaults(cls: type) -> bool:
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        for p in sig.parameters.values()
    )
