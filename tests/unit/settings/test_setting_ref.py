"""SettingRef: deferred references to settings fields (ADR-020 / ADR-041)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pydantic import Field

from cosalette._settings import SettingRef, Settings, setting_ref


class RefSettings(Settings):
    led_interval: float = 2.5
    groups: dict[str, float] = Field(default_factory=lambda: {"outdoor": 30.0})

    @property
    def doubled(self) -> float:
        return self.led_interval * 2


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RefSettings:
    monkeypatch.chdir(tmp_path)
    return RefSettings()


def test_top_level_field(settings: RefSettings) -> None:
    assert SettingRef("led_interval").resolve(settings) == 2.5


def test_dotted_path(settings: RefSettings) -> None:
    assert setting_ref("mqtt.port").resolve(settings) == 1883
    assert setting_ref("groups.outdoor").resolve(settings) == 30.0


def test_property_is_allowed(settings: RefSettings) -> None:
    assert setting_ref("doubled").resolve(settings) == 5.0


def test_callable_like_interval_callables(settings: RefSettings) -> None:
    ref = setting_ref("led_interval")
    assert callable(ref)
    assert ref(settings) == 2.5


def test_frozen_and_hashable() -> None:
    ref = setting_ref("mqtt.port")
    assert ref == SettingRef(field="mqtt.port")
    assert hash(ref) == hash(SettingRef("mqtt.port"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.field = "x"  # type: ignore[misc]


def test_missing_top_level_field_is_named(settings: RefSettings) -> None:
    with pytest.raises(AttributeError, match=r"RefSettings has no setting 'poll_interval'"):
        setting_ref("poll_interval").resolve(settings)


def test_missing_nested_field_is_named(settings: RefSettings) -> None:
    with pytest.raises(AttributeError, match=r"'mqtt\.prot'.*mqtt has no setting 'prot'"):
        setting_ref("mqtt.prot").resolve(settings)


def test_methods_are_not_settings(settings: RefSettings) -> None:
    with pytest.raises(AttributeError, match="model_dump"):
        setting_ref("model_dump").resolve(settings)


@pytest.mark.parametrize("bad", ["", "a..b", ".a", "a."])
def test_malformed_paths_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="field name"):
        SettingRef(bad)
