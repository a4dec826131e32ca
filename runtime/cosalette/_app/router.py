"""Routers group registrations in their own module; ``app.include_router`` adopts them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cosalette._app.registrar import Registrar
from cosalette._app.registration import RegistrationSet, _Registration, check_unique
from cosalette._di.adapters import AdapterRegistry, AdapterSpec, split_spec
from cosalette._names import validate_mqtt_name

if TYPE_CHECKING:
    from cosalette._app.description import RouterDescription


class Router(Registrar):
    """A set of registrations with an optional topic prefix, tags and adapters."""

    def __init__(
        self,
        *,
        prefix: str | None = None,
        tags: Sequence[str] | None = None,
        adapters: Mapping[Any, AdapterSpec] | None = None,
    ) -> None:
        self._prefix = (
            validate_mqtt_name(prefix, what="Router prefix") if prefix is not None else None
        )
        self._tags: tuple[str, ...] = tuple(tags or ())
        self._regs = RegistrationSet()
        self._adapters = AdapterRegistry()
        for port, spec in (adapters or {}).items():
            impl, fake = split_spec(spec)
            self._adapters.register(port, impl, fake)

    @property
    def prefix(self) -> str | None:
        """Topic prefix applied to every name when included."""
        return self._prefix

    @property
    def tags(self) -> tuple[str, ...]:
        """Tags applied to every registration when included."""
        return self._tags

    @property
    def registered_names(self) -> frozenset[str]:
        """Names registered on this router, before any include prefix (a property, unlike App's)."""
        return frozenset(r.name for r in self._regs.all())

    def describe(self) -> RouterDescription:
        """Everything this router declares, frozen: what ``include_router`` adopts."""
        from cosalette._app.description import RouterDescription

        return RouterDescription(
            prefix=self._prefix,
            tags=self._tags,
            registrations=self._regs.freeze(),
            adapters=MappingProxyType(dict(self._adapters.entries)),
        )

    def adapter(self, port: Any, impl: Any, *, dry_run: Any = None) -> None:
        """Declare an adapter that the app gets when it includes this router."""
        self._adapters.register(port, impl, dry_run)


def join_prefix(*parts: str | None) -> str | None:
    """Join non-empty prefix parts with '/' (outermost first)."""
    kept = [p for p in parts if p]
    return "/".join(kept) if kept else None


def adopt(
    regs: RegistrationSet,
    router: RouterDescription,
    *,
    prefix: str | None,
    tags: Sequence[str],
) -> None:
    """Copy *router*'s registrations into *regs* with prefix and tags applied.

    Snapshot semantics: later changes to the router do not affect this inclusion. Nothing is
    added when any registration clashes.
    """
    staged = RegistrationSet(
        devices=list(regs.devices),
        telemetry=list(regs.telemetry),
        commands=list(regs.commands),
        periodic=list(regs.periodic),
        streams=list(regs.streams),
    )
    pairs: list[tuple[tuple[Any, ...], list[Any]]] = [
        (router.registrations.devices, staged.devices),
        (router.registrations.telemetry, staged.telemetry),
        (router.registrations.commands, staged.commands),
        (router.registrations.periodic, staged.periodic),
        (router.registrations.streams, staged.streams),
    ]
    for source, target in pairs:
        for reg in source:
            new = included(reg, router, prefix=prefix, tags=tags)
            check_unique(new, staged)
            target.append(new)
    regs.devices[:] = staged.devices
    regs.telemetry[:] = staged.telemetry
    regs.commands[:] = staged.commands
    regs.periodic[:] = staged.periodic
    regs.streams[:] = staged.streams


def included(
    reg: _Registration, router: RouterDescription, *, prefix: str | None, tags: Sequence[str] = ()
) -> _Registration:
    """*reg* as it reads once *router* is included with *prefix* and *tags*."""
    combined = join_prefix(prefix, router.prefix)
    return _transform(reg, combined, (*router.tags, *tags, *reg.tags))


def _transform(reg: _Registration, prefix: str | None, tags: tuple[str, ...]) -> _Registration:
    unique_tags = tuple(dict.fromkeys(tags))
    if reg.name_spec is not None:
        return replace(reg, prefix=join_prefix(prefix, reg.prefix), tags=unique_tags)
    if prefix is None:
        return replace(reg, tags=unique_tags)
    if reg.is_root:
        return replace(reg, name=prefix, is_root=False, tags=unique_tags)
    return replace(reg, name=f"{prefix}/{reg.name}", tags=unique_tags)
