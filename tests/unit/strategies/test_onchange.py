"""OnChange(): exact and dead-band change detection on (nested) payloads."""

from __future__ import annotations

import pytest

from cosalette.strategies import OnChange


class TestExact:
    def test_first_payload_publishes(self) -> None:
        assert OnChange().should_publish({"a": 1}, None) is True

    def test_identical_payload_does_not_publish(self) -> None:
        assert OnChange().should_publish({"a": 1, "b": "x"}, {"a": 1, "b": "x"}) is False

    def test_any_difference_publishes(self) -> None:
        strategy = OnChange()
        assert strategy.should_publish({"a": 1.0001}, {"a": 1.0}) is True
        assert strategy.should_publish({"a": 1, "b": 2}, {"a": 1}) is True
        assert strategy.should_publish({"s": {"t": 1}}, {"s": {"t": 2}}) is True

    def test_on_published_changes_nothing(self) -> None:
        strategy = OnChange()
        strategy.on_published()
        assert strategy.should_publish({"a": 1}, {"a": 1}) is False


class TestGlobalThreshold:
    def test_change_within_band_is_ignored(self) -> None:
        assert OnChange(threshold=0.5).should_publish({"t": 21.3}, {"t": 21.0}) is False

    def test_change_equal_to_threshold_is_ignored(self) -> None:
        # Strict ">": exactly the threshold is still inside the dead band.
        assert OnChange(threshold=1).should_publish({"t": 22}, {"t": 21}) is False

    def test_change_beyond_band_publishes_in_both_directions(self) -> None:
        strategy = OnChange(threshold=0.5)
        assert strategy.should_publish({"t": 21.6}, {"t": 21.0}) is True
        assert strategy.should_publish({"t": 20.4}, {"t": 21.0}) is True

    def test_any_single_field_is_enough(self) -> None:
        strategy = OnChange(threshold=1.0)
        assert strategy.should_publish({"a": 0.1, "b": 5.0}, {"a": 0.0, "b": 3.0}) is True

    def test_non_numeric_fields_compare_exactly(self) -> None:
        strategy = OnChange(threshold=10.0)
        assert strategy.should_publish({"t": 1.0, "s": "on"}, {"t": 1.0, "s": "on"}) is False
        assert strategy.should_publish({"t": 1.0, "s": "on"}, {"t": 1.0, "s": "off"}) is True
        assert strategy.should_publish({"l": [1, 2]}, {"l": [1, 3]}) is True

    def test_bools_are_flags_not_numbers(self) -> None:
        strategy = OnChange(threshold=5.0)
        assert strategy.should_publish({"open": True}, {"open": False}) is True
        assert strategy.should_publish({"open": True}, {"open": True}) is False

    def test_type_change_publishes(self) -> None:
        strategy = OnChange(threshold=5.0)
        assert strategy.should_publish({"t": None}, {"t": 1.0}) is True
        assert strategy.should_publish({"t": {"x": 1}}, {"t": 1.0}) is True

    def test_int_and_float_compare_numerically(self) -> None:
        assert OnChange(threshold=0.5).should_publish({"t": 20}, {"t": 20.25}) is False

    def test_zero_threshold_publishes_on_any_numeric_change(self) -> None:
        strategy = OnChange(threshold=0)
        assert strategy.should_publish({"t": 1.0}, {"t": 1.0}) is False
        assert strategy.should_publish({"t": 1.0000001}, {"t": 1.0}) is True

    def test_nested_leaves_use_the_threshold(self) -> None:
        strategy = OnChange(threshold=0.5)
        assert strategy.should_publish({"s": {"t": 22.7}}, {"s": {"t": 22.5}}) is False
        assert strategy.should_publish({"s": {"t": 23.1}}, {"s": {"t": 22.5}}) is True
        assert strategy.should_publish({"a": {"b": {"c": 3.0}}}, {"a": {"b": {"c": 1.0}}}) is True

    def test_structural_changes_always_publish(self) -> None:
        strategy = OnChange(threshold=100.0)
        assert strategy.should_publish({"t": 1.0, "h": 50.0}, {"t": 1.0}) is True
        assert strategy.should_publish({"t": 1.0}, {"t": 1.0, "h": 50.0}) is True
        assert strategy.should_publish({"s": {"t": 1.0, "x": 1}}, {"s": {"t": 1.0}}) is True
        assert strategy.should_publish({"s": {"u": 1.0}}, {"s": {"t": 1.0}}) is True

    def test_nan_transitions_publish(self) -> None:
        strategy = OnChange(threshold=1.0)
        nan = float("nan")
        assert strategy.should_publish({"t": nan}, {"t": 1.0}) is True
        assert strategy.should_publish({"t": 1.0}, {"t": nan}) is True
        assert strategy.should_publish({"t": nan}, {"t": nan}) is False


class TestPerFieldThreshold:
    def test_listed_fields_use_their_band(self) -> None:
        strategy = OnChange(threshold={"t": 0.5, "h": 5.0})
        assert strategy.should_publish({"t": 21.4, "h": 54.0}, {"t": 21.0, "h": 50.0}) is False
        assert strategy.should_publish({"t": 21.4, "h": 56.0}, {"t": 21.0, "h": 50.0}) is True

    def test_unlisted_fields_compare_exactly(self) -> None:
        strategy = OnChange(threshold={"t": 0.5})
        assert strategy.should_publish({"t": 21.0, "p": 1000.01}, {"t": 21.0, "p": 1000.0}) is True

    def test_dot_notation_reaches_nested_fields(self) -> None:
        strategy = OnChange(threshold={"sensor.temp": 0.5})
        last: dict[str, object] = {"sensor": {"temp": 22.5}}
        assert strategy.should_publish({"sensor": {"temp": 22.9}}, last) is False
        assert strategy.should_publish({"sensor": {"temp": 23.1}}, last) is True

    def test_dotted_key_does_not_apply_to_same_name_elsewhere(self) -> None:
        strategy = OnChange(threshold={"sensor.temp": 5.0})
        assert strategy.should_publish({"temp": 1.1}, {"temp": 1.0}) is True
        assert strategy.should_publish({"other": {"temp": 1.1}}, {"other": {"temp": 1.0}}) is True

    def test_structural_change_publishes_even_within_bands(self) -> None:
        strategy = OnChange(threshold={"t": 100.0})
        assert strategy.should_publish({"t": 1.0, "new": 1}, {"t": 1.0}) is True

    def test_thresholds_are_copied(self) -> None:
        bands = {"t": 0.5}
        strategy = OnChange(threshold=bands)
        bands["t"] = 100.0
        assert strategy.should_publish({"t": 2.0}, {"t": 1.0}) is True


class TestValidation:
    @pytest.mark.parametrize("threshold", [True, {"t": False}, "0.5", {"t": "1"}, {1: 0.5}])
    def test_rejects_non_numbers(self, threshold: object) -> None:
        with pytest.raises(TypeError):
            OnChange(threshold=threshold)  # type: ignore[arg-type]

    @pytest.mark.parametrize("threshold", [-0.1, {"t": -1}, float("nan"), {"t": float("nan")}])
    def test_rejects_negative(self, threshold: object) -> None:
        with pytest.raises(ValueError):
            OnChange(threshold=threshold)  # type: ignore[arg-type]

    def test_keyword_only(self) -> None:
        with pytest.raises(TypeError):
            OnChange(0.5)  # type: ignore[call-arg]
