"""Routers group registrations in their own module; ``app.include_router`` adopts them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from cosalette._app.registrar import Registrar
from cosalette._app.registration import RegistrationSet, _Registration, check_unique
from cosalette._di.adapters import AdapterRegistry, AdapterSpec, split_spec
from cosalette._names import validate_mqtt_name


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

    def adapter(self, port: Any, impl: Any, *, dry_run: Any = None) -> None:
        """Declare an adapter that the app gets when it includes this router."""
        self._adapters.register(port, impl, dry_run)


def join_prefix(*parts: str | None) -> str | None:
    """Join non-empty prefix parts with '/' (outermost first)."""
    kept = [p for p in parts if p]
    return "/".join(kept) if kept else None


def adopt(
    regs: RegistrationSet,
    router: Router,
    *,
    prefix: str | None,
    tags: Sequence[str],
) -> None:
    """Copy *router*'s registrations into *regs* with prefix and tags applied.

    Snapshot semantics: later changes to the router do not affect this inclusion.
    """
    combined = join_prefix(prefix, router.prefix)
    staged = RegistrationSet(
        devices=list(regs.devices),
        telemetry=list(regs.telemetry),
        commands=list(regs.commands),
        periodic=list(regs.periodic),
        streams=list(regs.streams),
    )
    pairs: list[tuple[list[Any], list[Any]]] = [
        (router._regs.devices, staged.devices),
        (router._regs.telemetry, staged.telemetry),
        (router._regs.commands, staged.commands),
        (router._regs.periodic, staged.periodic),
    ]
    for source, target in pairs:
        for reg in source:
            new = _transform(reg, combined, (*router.tags, *tags, *reg.tags))
            check_unique(new, staged)
            target.append(new)
    regs.devices[:] = staged.devices
    regs.telemetry[:] = staged.telemetry
    regs.commands[:] = staged.commands
    regs.periodic[:] = staged.periodic


def _transform(reg: _Registration, prefix: str | None, tags: tuple[str, ...]) -> _Registration:
    unique_tags = tuple(dict.fromkeys(tags))
    if reg.name_spec is not None:
        return replace(reg, prefix=join_prefix(prefix, reg.prefix), tags=unique_tags)
    if prefix is None:
        return replace(reg, tags=unique_tags)
    if reg.is_root:
        return replace(reg, name=prefix, is_root=False, tags=unique_tags)
    return replace(reg, name=f"{prefix}/{reg.name}", tags=unique_tags)
