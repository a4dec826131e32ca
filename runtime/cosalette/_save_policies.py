"""When a device's store is saved: save policies and their ``|``/``&`` composition."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from cosalette._composite import flatten

if TYPE_CHECKING:
    from cosalette._persistence import DeviceStore


@runtime_checkable
class PersistPolicy(Protocol):
    """Save-timing contract: asked after each telemetry cycle whether to save the store now."""

    def should_save(self, store: DeviceStore, published: bool) -> bool:
        """Return True to save *store* now; *published* says whether this cycle published."""
        ...


class _SavePolicyBase:
    """Shared base giving save policies ``|`` (any) and ``&`` (all) composition."""

    def should_save(self, store: DeviceStore, published: bool) -> bool:
        """Decide whether to save; subclasses implement it."""
        raise NotImplementedError

    def __or__(self, other: _SavePolicyBase) -> AnySavePolicy:
        if not isinstance(other, _SavePolicyBase):
            return NotImplemented
        return AnySavePolicy(self, other)

    def __and__(self, other: _SavePolicyBase) -> AllSavePolicy:
        if not isinstance(other, _SavePolicyBase):
            return NotImplemented
        return AllSavePolicy(self, other)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SaveOnPublish(_SavePolicyBase):
    """Save after each cycle that published (handed its state to the MQTT client).

    While the broker is unreachable the client buffers the publish, so the saved state can be
    ahead of what the broker has received; it never lags behind what was published.
    """

    def should_save(self, store: DeviceStore, published: bool) -> bool:
        """Return True when this cycle published."""
        return published


class SaveOnChange(_SavePolicyBase):
    """Save after every cycle that changed the store: the least data lost on a crash."""

    def should_save(self, store: DeviceStore, published: bool) -> bool:
        """Return True when the store is dirty."""
        return store.dirty


class SaveOnShutdown(_SavePolicyBase):
    """Never save during the loop; the framework always saves once on graceful shutdown."""

    def should_save(self, store: DeviceStore, published: bool) -> bool:
        """Return False: the shutdown save is the framework's job."""
        return False


class _CompositeSavePolicy(_SavePolicyBase):
    """Holds child policies, flattening nested composites of the same kind."""

    _symbol = ""

    def __init__(self, *children: PersistPolicy) -> None:
        self._children: tuple[PersistPolicy, ...] = flatten(
            self, children, kind=PersistPolicy, what="save policy"
        )

    @property
    def children(self) -> tuple[PersistPolicy, ...]:
        """The flattened child policies, in evaluation order."""
        return self._children

    def _answers(self, store: DeviceStore, published: bool) -> list[bool]:
        """Ask every child, so stateful children always see each cycle."""
        return [child.should_save(store, published) for child in self._children]

    def __repr__(self) -> str:
        return "(" + f" {self._symbol} ".join(repr(c) for c in self._children) + ")"


class AllSavePolicy(_CompositeSavePolicy):
    """AND composite (``a & b``): save only when every child agrees."""

    _symbol = "&"

    def should_save(self, store: DeviceStore, published: bool) -> bool:
        """Return True when all children return True."""
        return all(self._answers(store, published))


class AnySavePolicy(_CompositeSavePolicy):
    """OR composite (``a | b``): save when any child says yes."""

    _symbol = "|"

    def should_save(self, store: DeviceStore, published: bool) -> bool:
        """Return True when at least one child returns True."""
        return any(self._answers(store, published))
