"""What an app or router declares, as one immutable value that everything else reads.

The runtime, project discovery and its check, the manifest, the registry snapshot, the testing
kit and ``cosactl dev`` read an app through :meth:`App.describe` (and a router through
:meth:`Router.describe`), never through private attributes. Named tuples, not dataclasses:
they cost nothing at import, which every daemon start pays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from cosalette._app.registration import DeclaredRegistrations
from cosalette._app.shared_state import ReactorRegistration, StateRegistration
from cosalette._di.adapters import AdapterEntry
from cosalette._settings import Settings

if TYPE_CHECKING:
    from cosalette._app.app import LifespanFunc


class SupervisionOptions(NamedTuple):
    """How the runtime watches an app: heartbeats, adapter health checks and restarts."""

    heartbeat_interval: float | None = 60.0
    health_check_interval: float | None = 30.0
    restart_after_failures: int = 5
    max_restarts: int = 3
    restart_cooldown: float = 5.0
    sustained_health_reset: float = 300.0


class AppDescription(NamedTuple):
    """Everything an :class:`App` declares; ``providers`` map injectable keys to factories."""

    name: str
    version: str
    description: str
    settings_class: type[Settings]
    dry_run: bool
    registrations: DeclaredRegistrations
    adapters: Mapping[Any, AdapterEntry]
    providers: Mapping[Any, Callable[[Settings], object]]
    lifespan: LifespanFunc
    supervision: SupervisionOptions
    error_type_map: Mapping[type[Exception], str]
    store: Any = None
    """A Store, a factory of one (parameters injected at start), or None (no persistence)."""
    store_is_default: bool = False
    retained_cleanup: bool | None = None
    state_factories: tuple[StateRegistration, ...] = ()
    reactors: tuple[ReactorRegistration, ...] = ()


class RouterDescription(NamedTuple):
    """Everything a :class:`Router` declares; ``include_router`` adopts it."""

    prefix: str | None
    tags: tuple[str, ...]
    registrations: DeclaredRegistrations
    adapters: Mapping[Any, AdapterEntry]
