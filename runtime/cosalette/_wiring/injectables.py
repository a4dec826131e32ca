"""What a handler, an ``init=`` factory or an adapter factory can be given, for one run.

One owner for the provider table, used at start, when an adapter is restarted and by the
project check, so the three can never disagree about what is injectable. It also remembers
which handler argument holds which adapter, so a restarted adapter is re-bound: the next
handler call gets the new instance.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cosalette._app.registration import _Registration, _return_type, check_init_product
from cosalette._clock import ClockPort
from cosalette._context import DeviceContext
from cosalette._di.adapters import call_injected
from cosalette._di.plan import InjectionError, InjectionPlan, bind, logger_for
from cosalette._persistence import DeviceStore
from cosalette._settings import Settings
from cosalette._trigger import TriggerPayload

if TYPE_CHECKING:
    from cosalette._wiring.stores import DeviceStores

__all__ = ["InitFactoryCall", "Injectables", "call_init"]

InitFactoryCall = Callable[[_Registration, Mapping[Any, object]], object]
"""How an ``init=`` factory is turned into its product (the project check does not call it)."""


@dataclass(frozen=True)
class _AdapterArgument:
    """A handler argument that holds the adapter of *port*."""

    kwargs: dict[str, object]
    name: str
    port: Any


def call_init(reg: _Registration, providers: Mapping[Any, object]) -> object:
    """Call *reg*'s ``init=`` factory with its parameters injected (what a run does)."""
    assert reg.init is not None
    product = call_injected(reg.init, providers, owner=f"{reg.label} init=")
    check_init_product(product, reg.label)
    return product


class Injectables:
    """The provider table of one run: framework values, adapters, init products, configs."""

    def __init__(
        self,
        *,
        settings: Settings,
        settings_class: type[Settings],
        clock: ClockPort,
        shutdown_event: asyncio.Event,
        adapters: dict[Any, object],
        providers: Mapping[Any, Callable[[Settings], object]] | None = None,
        init_factory: InitFactoryCall = call_init,
    ) -> None:
        self.settings = settings
        self.settings_class = settings_class
        self.clock = clock
        self.shutdown_event = shutdown_event
        self.adapters = adapters
        self._extra = {key: make(settings) for key, make in (providers or {}).items()}
        self._init_factory = init_factory
        self._adapter_arguments: list[_AdapterArgument] = []
        self.state: dict[type, object] = {}
        """The run's shared-state objects by type (``@app.state``)."""
        self.stores: DeviceStores | None = None
        """The run's device stores, once the app's store is built (None: no persistence)."""

    def framework(self) -> dict[Any, object]:
        """Settings and clock: what adapter factories and every handler may ask for."""
        return {
            Settings: self.settings,
            self.settings_class: self.settings,
            type(self.settings): self.settings,
            ClockPort: self.clock,
            type(self.clock): self.clock,
        }

    def for_adapters(self) -> dict[Any, object]:
        """What an adapter factory may be given: the framework values and built adapters."""
        return {**self.framework(), **self.adapters}

    def for_handler(self, reg: _Registration, ctx: DeviceContext | None) -> dict[Any, object]:
        """Everything *reg*'s handler may be given; its ``init=`` product is made here."""
        providers: dict[Any, object] = {
            **self.framework(),
            logging.Logger: logger_for(reg.name),
            asyncio.Event: self.shutdown_event,
            TriggerPayload: TriggerPayload.scheduled(),
            **self.adapters,
            **self.state,
            **self._extra,
        }
        if ctx is not None:
            providers[DeviceContext] = ctx
        if reg.config is not None:
            providers[type(reg.config)] = reg.config
        if self.stores is not None:
            providers[DeviceStore] = self.stores.for_device(reg.name)
        if reg.init is not None:
            product = self._init_factory(reg, providers)
            providers[type(product)] = product
            returns = _return_type(reg.init)
            if isinstance(returns, type):
                providers[returns] = product
        return providers

    def bind(
        self, plan: InjectionPlan, providers: Mapping[Any, object], *, owner: str
    ) -> dict[str, object]:
        """Keyword arguments for *plan*; arguments holding an adapter are remembered."""
        needs_store = any(
            p.annotation is DeviceStore and not (p.optional or p.has_default)
            for p in plan.injected()
        )
        if self.stores is None and needs_store:
            raise InjectionError(
                f"{owner}: asks for a DeviceStore, but the app has no store (store=None); "
                f"pass store=JsonFileStore(path), MemoryStore(), ... to App() or omit store="
            )
        kwargs = bind(plan, providers, owner=owner)
        by_identity = {id(instance): port for port, instance in self.adapters.items()}
        for name, value in kwargs.items():
            port = by_identity.get(id(value))
            if port is not None:
                self._adapter_arguments.append(_AdapterArgument(kwargs, name, port))
        return kwargs

    def replace_adapter(self, port: Any, instance: object) -> None:
        """Use *instance* for *port* from now on, in contexts and bound handler arguments."""
        self.adapters[port] = instance
        for argument in self._adapter_arguments:
            if argument.port == port:
                argument.kwargs[argument.name] = instance
