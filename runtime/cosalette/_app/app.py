"""``cosalette.App``: the composition root that registers handlers and runs them."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from cosalette._app.app_options import (
    DEFAULT_STORE,
    check_supervision,
    declared_store,
    is_store_instance,
)
from cosalette._app.registrar import Registrar
from cosalette._app.registration import (
    DeclaredRegistrations,
    RegistrationSet,
    ResolvedRegistrations,
    _Registration,
)
from cosalette._app.router import Router, adopt
from cosalette._app.running import run_until_shutdown
from cosalette._app.shared_state import (
    ReactorRegistration,
    StateRegistration,
    check_reactor,
    check_state_factory,
)
from cosalette._context import AppContext
from cosalette._di.adapters import (
    AdapterEntry,
    AdapterImpl,
    AdapterRegistry,
    AdapterSpec,
    call_injected,
    split_spec,
)
from cosalette._di.plan import callable_label
from cosalette._names import validate_mqtt_name
from cosalette._settings import Settings

if TYPE_CHECKING:
    from cosalette._app.description import AppDescription

F = TypeVar("F", bound=Callable[..., Any])

LifespanFunc = Callable[[AppContext], contextlib.AbstractAsyncContextManager[None]]

__all__ = ["App", "LifespanFunc", "run_until_shutdown"]


@contextlib.asynccontextmanager
async def _noop_lifespan(_: AppContext) -> AsyncIterator[None]:
    yield


class App(Registrar):
    """Collects registrations, adapters and a lifespan, then runs the bridge daemon."""

    def __init__(
        self,
        name: str,
        version: str = "0.0.0",
        *,
        description: str = "IoT-to-MQTT bridge",
        settings_class: type[Settings] = Settings,
        dry_run: bool = False,
        heartbeat_interval: float | None = 60.0,
        health_check_interval: float | None = 30.0,
        lifespan: LifespanFunc | None = None,
        store: Any = DEFAULT_STORE,
        adapters: Mapping[Any, AdapterSpec] | None = None,
        restart_after_failures: int = 5,
        max_restarts: int = 3,
        restart_cooldown: float = 5.0,
        sustained_health_reset: float = 300.0,
        error_type_map: Mapping[type[Exception], str] | None = None,
        settings: Settings | None = None,
        retained_cleanup: bool | None = None,
    ) -> None:
        validate_mqtt_name(name, what="App name")
        self._store_is_default = store is DEFAULT_STORE
        self._store: Any = declared_store(name, store)
        self._built_store: Any = None
        self._retained_cleanup = retained_cleanup
        self._name = name
        self._version = version
        self._description = description
        self._settings_class = settings_class
        self._settings: Settings | None = (
            settings if settings is not None else self._try_settings(settings_class)
        )
        self._dry_run = dry_run
        check_supervision(
            heartbeat_interval=heartbeat_interval,
            health_check_interval=health_check_interval,
            restart_after_failures=restart_after_failures,
            max_restarts=max_restarts,
            restart_cooldown=restart_cooldown,
            sustained_health_reset=sustained_health_reset,
        )
        self._heartbeat_interval = heartbeat_interval
        self._health_check_interval = health_check_interval
        self._restart_after_failures = restart_after_failures
        self._max_restarts = max_restarts
        self._restart_cooldown = restart_cooldown
        self._sustained_health_reset = sustained_health_reset
        self._lifespan: LifespanFunc = lifespan if lifespan is not None else _noop_lifespan
        self._regs = RegistrationSet()
        self._resolved: ResolvedRegistrations | None = None
        self._adapter_registry = AdapterRegistry()
        self._error_type_map: dict[type[Exception], str] = dict(error_type_map or {})
        self._providers: dict[Any, Callable[[Settings], object]] = {}
        self._configure_hooks: list[Callable[..., object]] = []
        self._asyncapi: dict[str, Any] | None = None  # built on demand; a change clears it
        self._state_factories: list[StateRegistration] = []
        self._reactors: list[ReactorRegistration] = []
        for port, spec in (adapters or {}).items():
            impl, fake = split_spec(spec)
            self.adapter(port, impl, dry_run=fake)

    @staticmethod
    def _try_settings(settings_class: type[Settings]) -> Settings | None:
        try:
            return settings_class()
        except ValueError:
            return None

    # --- description --------------------------------------------------------------------

    def describe(self, settings: Settings | None = None) -> AppDescription:
        """Everything this app declares, frozen: what the runtime and the tools read.

        With *settings*, ``@app.on_configure`` hooks run first and what they register is
        included; the app itself keeps only its declared registrations, so each run (and each
        harness) configures afresh from its own settings.
        """
        if settings is None or not self._configure_hooks:
            return self._describe_now()
        declared = self._regs
        self._regs = RegistrationSet(
            devices=list(declared.devices),
            telemetry=list(declared.telemetry),
            commands=list(declared.commands),
            periodic=list(declared.periodic),
            streams=list(declared.streams),
        )
        try:
            providers = {Settings: settings, type(settings): settings, App: self, type(self): self}
            for hook in self._configure_hooks:
                call_injected(hook, providers, owner=f"on_configure hook {callable_label(hook)}")
            return self._describe_now()
        finally:
            self._regs = declared

    def on_configure(self, func: F | None = None) -> Any:
        """Register a hook run at start with the resolved settings (ADR-020 option B).

        The hook is synchronous; its parameters are injected (the Settings subclass, ``App``),
        and it may register devices imperatively: ``app.add_periodic(..., enabled=settings.x)``.
        """

        def register(hook: F) -> F:
            if not callable(hook) or inspect.iscoroutinefunction(hook):
                raise TypeError(f"on_configure takes a synchronous function, got {hook!r}")
            self._configure_hooks.append(hook)
            self._resolved = None
            return hook

        return register(func) if func is not None else register

    @property
    def has_dynamic_entities(self) -> bool:
        """True when a ``name=``/``enabled=`` callable or an on_configure hook decides devices."""
        return bool(self._configure_hooks) or super().has_dynamic_entities

    def _describe_now(self) -> AppDescription:
        from cosalette._app.description import AppDescription, SupervisionOptions

        return AppDescription(
            name=self._name,
            version=self._version,
            description=self._description,
            settings_class=self._settings_class,
            dry_run=self._dry_run,
            registrations=self._regs.freeze(),
            adapters=MappingProxyType(dict(self._adapter_registry.entries)),
            providers=MappingProxyType(dict(self._providers)),
            lifespan=self._lifespan,
            supervision=SupervisionOptions(
                heartbeat_interval=self._heartbeat_interval,
                health_check_interval=self._health_check_interval,
                restart_after_failures=self._restart_after_failures,
                max_restarts=self._max_restarts,
                restart_cooldown=self._restart_cooldown,
                sustained_health_reset=self._sustained_health_reset,
            ),
            error_type_map=MappingProxyType(dict(self._error_type_map)),
            store=self._store,
            store_is_default=self._store_is_default,
            state_factories=tuple(self._state_factories),
            reactors=tuple(self._reactors),
            retained_cleanup=self._retained_cleanup,
        )

    def _add(self, reg: _Registration, target: list[Any]) -> None:
        self._check_persist(reg)
        super()._add(reg, target)
        self._resolved = None
        self._asyncapi = None

    def _check_persist(self, reg: _Registration) -> None:
        if self._store is None and getattr(reg, "persist", None) is not None:
            raise ValueError(
                f"{reg.label}: persist= requires a store= backend on the App. Pass "
                f"store=MemoryStore() (or another Store) to App(), or omit store= for the default."
            )

    def _shown(self) -> DeclaredRegistrations:
        """After a start, the resolved registrations (ADR-020); before it, the declared ones."""
        if self._resolved is not None:
            return self._resolved
        return self._regs.freeze()

    # --- properties ---------------------------------------------------------------------

    @property
    def name(self) -> str:
        """Application name: the MQTT topic prefix and client-id stem."""
        return self._name

    @property
    def version(self) -> str:
        """Application version."""
        return self._version

    @property
    def description(self) -> str:
        """Short description for ``--help``."""
        return self._description

    @property
    def settings_class(self) -> type[Settings]:
        """The Settings subclass instantiated at start-up."""
        return self._settings_class

    @property
    def settings(self) -> Settings:
        """Settings read at construction time (environment, ``.env``, ``settings.toml``)."""
        if self._settings is None:
            from cosalette._settings import SettingsError, load_settings

            try:
                load_settings(self._settings_class)
            except SettingsError as exc:
                raise RuntimeError(
                    f"Settings for app '{self._name}' could not be loaded; use app.cli() "
                    f"with --env-file, or fix the configuration:\n{exc}"
                ) from exc
            raise RuntimeError(f"Settings for app '{self._name}' could not be loaded")
        return self._settings

    @property
    def dry_run(self) -> bool:
        """Whether dry-run adapters are used."""
        return self._dry_run

    @property
    def store(self) -> Any:
        """The persistence store; a factory's product once the app started (None before)."""
        if self._store is None or is_store_instance(self._store):
            return self._store
        return self._built_store

    @property
    def store_is_default(self) -> bool:
        """True when ``store=`` was omitted and the default JSON file store is used."""
        return self._store_is_default

    @property
    def retained_cleanup(self) -> bool | None:
        """The ``retained_cleanup=`` override (None: decided by the store and the devices)."""
        return self._retained_cleanup

    @property
    def state_factories(self) -> Sequence[StateRegistration]:
        """The ``@app.state`` factories, in registration order."""
        return tuple(self._state_factories)

    def state(self, func: F) -> F:
        """Register a shared-state factory: its product is injected by its type everywhere.

        The return annotation says the type and the form: ``T``, ``ContextManager[T]``,
        ``AsyncIterator[T]`` or ``AsyncContextManager[T]`` (torn down in reverse order at
        shutdown, after the lifespan).
        """
        known = {f.type for f in self._state_factories}
        self._state_factories.append(check_state_factory(func, known))
        return func

    def react(
        self, state_type: type, *, drain: Callable[[Any], Any] | None = None
    ) -> Callable[[F], F]:
        """Register a reactor for *state_type*'s domain events (``drain(state)`` or
        ``state.drain_events()``), run after each successful handler."""

        def register(func: F) -> F:
            known = {f.type for f in self._state_factories}
            self._reactors.append(check_reactor(state_type, drain, func, known))
            return func

        return register

    @property
    def adapters(self) -> Mapping[Any, AdapterEntry]:
        """Adapter entries by port type."""
        return self._adapter_registry.entries

    @property
    def error_type_map(self) -> Mapping[type[Exception], str]:
        """Exception classes mapped to ``error_type`` strings in error payloads."""
        return self._error_type_map

    def registered_names(self) -> frozenset[str]:
        """Names of every registered device, telemetry, command, periodic task and stream."""
        return frozenset(r.name for r in self._regs.all())

    # --- composition --------------------------------------------------------------------

    def adapter(
        self, port_type: Any, impl: AdapterImpl, *, dry_run: AdapterImpl | None = None
    ) -> None:
        """Register *impl* for *port_type*; *dry_run* replaces it under ``--dry-run``."""
        self._adapter_registry.register(port_type, impl, dry_run)
        self._asyncapi = None

    def provide(self, key: Any, factory: Callable[[Settings], object]) -> None:
        """Make ``factory(settings)`` injectable into handlers that annotate *key*.

        Used by project discovery to inject each device's settings section by its model type.
        """
        self._providers[key] = factory

    def include_router(
        self,
        router: Router,
        *,
        prefix: str | None = None,
        tags: Sequence[str] | None = None,
        dependencies: Sequence[Any] | None = None,
        adapters: Mapping[Any, AdapterSpec] | None = None,
    ) -> None:
        """Adopt *router*'s registrations (a snapshot), prefixed, tagged, with its adapters."""
        if prefix is not None:
            validate_mqtt_name(prefix, what="Router prefix")
        if dependencies:
            raise NotImplementedError("dependencies= is reserved and not implemented; omit it")
        overridden: set[Any] = set()
        for port, spec in (adapters or {}).items():
            impl, fake = split_spec(spec)
            self.adapter(port, impl, dry_run=fake)
            overridden.add(port)
        declared = router.describe()
        for reg in declared.registrations.telemetry:
            self._check_persist(reg)
        for port, entry in declared.adapters.items():
            if port not in overridden:
                self.adapter(port, entry.impl, dry_run=entry.dry_run)
        adopt(self._regs, declared, prefix=prefix, tags=tuple(tags or ()))
        self._resolved = None
        self._asyncapi = None

    # --- running ------------------------------------------------------------------------

    _run_async = run_until_shutdown

    def _record_run(self, registrations: ResolvedRegistrations, store: Any) -> None:
        """What a run resolved (ADR-020: ``telemetry_registrations`` shows it) and built."""
        self._resolved = registrations
        self._built_store = store

    def run(self) -> None:
        """Run the daemon in the foreground until SIGINT/SIGTERM (logging configured first)."""
        from cosalette._app.cli import run_app

        run_app(self, settings=None, dry_run=self._dry_run)

    def asyncapi(self) -> dict[str, Any]:
        """The AsyncAPI 3.0 document of this app: the one ``cosactl manifest --format
        asyncapi`` prints, built once per set of registrations (later calls return it again)."""
        if self._asyncapi is None:
            from cosalette._contract.asyncapi import build_asyncapi

            self._asyncapi = build_asyncapi(self)
        return self._asyncapi

    def cli(self, args: Sequence[str] | None = None) -> None:
        """Command line for this app: ``--dry-run``, ``--log-level``, ``--env-file`` …"""
        from cosalette._app.cli import build_cli

        build_cli(self).main(args=list(args) if args is not None else None, prog_name=self._name)
