"""YAML as the schema commands print it (contract 3.1)."""

from __future__ import annotations

from typing import Any

from cosalette._schema.yaml_out import dump_yaml


def test_block_style_source_order_and_literal_unicode() -> None:
    data = {"zeta": {"unit": "°C", "volume": "m³"}, "alpha": [1, {"b": True, "a": None}]}
    assert dump_yaml(data) == ("zeta:\n  unit: °C\n  volume: m³\nalpha:\n- 1\n- b: true\n  a: null")


def test_no_trailing_newline_and_empty_containers() -> None:
    assert dump_yaml({"a": 1}) == "a: 1"
    assert dump_yaml([]) == "[]"
    assert dump_yaml({"x": {}, "y": []}) == "x: {}\ny: []"


def test_strings_that_would_read_back_as_other_types_are_quoted() -> None:
    assert dump_yaml({"v": "1", "on": "on", "pct": "%", "t": "{{ value }}"}) == (
        "v: '1'\n'on': 'on'\npct: '%'\nt: '{{ value }}'"
    )


def test_shared_objects_become_anchors_and_aliases() -> None:
    behavior = ["idempotent"]
    props: dict[str, Any] = {"x": {"type": "number"}}
    data = {
        "a": {"behavior": behavior, "properties": props},
        "b": {"behavior": behavior, "properties": props},
    }
    assert dump_yaml(data) == (
        "a:\n"
        "  behavior: &id001\n"
        "  - idempotent\n"
        "  properties: &id002\n"
        "    x:\n"
        "      type: number\n"
        "b:\n"
        "  behavior: *id001\n"
        "  properties: *id002"
    )
    equal_but_distinct = {"a": ["idempotent"], "b": ["idempotent"]}
    assert "&id" not in dump_yaml(equal_but_distinct)
