"""``Router.registered_names`` is a property; ``App.registered_names()`` stays a method."""

from __future__ import annotations

import pytest

from cosalette import App, Router


async def handle(payload: str) -> dict[str, object]:
    return {"state": payload}


async def read() -> dict[str, object]:
    return {"v": 1}


def _router() -> Router:
    router = Router(prefix="blinds")
    router.command("action")(handle)
    router.telemetry("position", interval=30)(read)
    return router


def test_router_registered_names_is_a_property_usable_with_in() -> None:
    router = _router()
    assert "action" in router.registered_names
    assert "position" in router.registered_names
    assert "blinds/action" not in router.registered_names  # the prefix applies on include
    assert router.registered_names == frozenset({"action", "position"})
    assert isinstance(router.registered_names, frozenset)


def test_router_registered_names_follows_new_registrations() -> None:
    router = Router()
    assert router.registered_names == frozenset()
    router.command("valve")(handle)
    assert "valve" in router.registered_names


def test_router_registered_names_is_read_only() -> None:
    router = _router()
    with pytest.raises(AttributeError):
        router.registered_names = frozenset()  # type: ignore[misc]


def test_app_registered_names_is_still_a_method() -> None:
    app = App("bridge")
    app.telemetry("temp", interval=10)(read)
    app.include_router(_router())
    assert callable(app.registered_names)
    assert app.registered_names() == frozenset({"temp", "blinds/action", "blinds/position"})
    assert "blinds/action" in app.registered_names()
