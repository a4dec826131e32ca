"""Loading schema files: every load error of contract 3.3, ``$ref`` inlining (4.1), ``validate``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from cosalette._schema.document import (
    SchemaLoadError,
    app_names,
    is_network_level,
    load_schema,
    resolve_refs,
    validate_summary,
)

DATA = Path(__file__).parents[2] / "data" / "schemas"
BROKEN = DATA / "broken"
HINT = "Hint: Install schema dependencies with: pip install cosalette[schema]"


def _load_error(path: Path) -> SchemaLoadError:
    with pytest.raises(SchemaLoadError) as caught:
        load_schema(path)
    return caught.value


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("not_a_mapping.yaml", "the document must be a mapping, not a list"),
        ("empty.yaml", "the document must be a mapping, not null"),
        (
            "invalid_yaml.yaml",
            "invalid YAML/JSON: expected ',' or ']', but got ':' (line 5, column 9)",
        ),
        ("asyncapi_2.yaml", "unsupported AsyncAPI version '2.6.0': expected 3.0.x"),
        (
            "bad_enforcement_mode.yaml",
            "x-cosalette-enforcement.mode must be one of strict, warn, off (got 'loud')",
        ),
        (
            "bad_archetype.yaml",
            "channel 'probeState': x-cosalette-archetype must be one of telemetry, command, "
            "device (got 'sensor')",
        ),
        (
            "bad_requires.yaml",
            "channel 'pumpState': x-cosalette-requires must be a list of {tag: ...}",
        ),
        (
            "bad_scope.yaml",
            "channel 'status': x-cosalette-scope must be a string, not a boolean",
        ),
        (
            "circular_ref.yaml",
            "circular $ref '#/components/schemas/Node' at #/components/schemas/Node/properties/child",
        ),
        (
            "unresolvable_ref.yaml",
            "unresolvable $ref '#/components/schemas/Missing' at "
            "#/channels/meterState/messages/message/payload",
        ),
    ],
)
def test_each_load_error_is_one_line_then_the_hint(name: str, error: str) -> None:
    exc = _load_error(BROKEN / name)
    assert exc.errors == [error]
    assert exc.path == (BROKEN / name).resolve()
    assert exc.render() == (
        f"Error: Failed to load schema from file://{BROKEN / name}: {error}\n\n{HINT}"
    )
    assert str(exc) == f"Error: Failed to load schema from file://{BROKEN / name}: {error}"


def test_several_errors_are_counted_and_bulleted() -> None:
    exc = _load_error(BROKEN / "several_errors.yaml")
    assert exc.render() == (
        f"Error: Failed to load schema from file://{BROKEN / 'several_errors.yaml'} (4 errors):\n"
        "  - unsupported AsyncAPI version '2.0.0': expected 3.0.x\n"
        "  - channel 'probeState': x-cosalette-archetype must be one of telemetry, command, "
        "device (got 'sensor')\n"
        "  - channel 'probeState': x-cosalette-scope must be a string, not a number\n"
        "  - unresolvable $ref '#/channels/ghost' at #/operations/publishGhost/channel\n"
        f"\n{HINT}"
    )


def test_empty_app_and_coalescing_group_are_both_reported() -> None:
    assert _load_error(BROKEN / "empty_app.yaml").errors == [
        "channel 'pumpState': x-cosalette-app must be a non-empty string",
        "channel 'pumpState': x-cosalette-coalescing-group must be a non-empty string",
    ]


def test_a_missing_file_or_a_directory_is_a_load_error(tmp_path: Path) -> None:
    assert _load_error(tmp_path / "nope.yaml").render() == (
        f"Error: Failed to load schema from file://{tmp_path / 'nope.yaml'}: "
        f"cannot read file: No such file or directory\n\n{HINT}"
    )
    assert _load_error(tmp_path).errors == ["cannot read file: Is a directory"]


def test_the_path_in_the_message_is_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "list.yaml").write_text("- 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    exc = _load_error(Path("list.yaml"))
    assert exc.headline().startswith(
        f"Error: Failed to load schema from file://{tmp_path}/list.yaml:"
    )


def test_other_shapes_that_fail(tmp_path: Path) -> None:
    cases = {
        "asyncapi: 3.0\n": "unsupported AsyncAPI version 3.0: expected 3.0.x",
        "info: {}\n": "unsupported AsyncAPI version None: expected 3.0.x",
        "asyncapi: 3.0.0\nx-cosalette-enforcement: strict\n": (
            "x-cosalette-enforcement must be a mapping"
        ),
        "asyncapi: 3.0.0\nchannels: [a]\n": "'channels' must be a mapping, not a list",
        "asyncapi: 3.0.0\nchannels: {a: 1}\n": "channel 'a' must be a mapping, not a number",
        "asyncapi: 3.0.0\nchannels: {a: {x-cosalette-requires: [{name: x}]}}\n": (
            "channel 'a': x-cosalette-requires must be a list of {tag: ...}"
        ),
        "asyncapi: 3.0.0\nchannels: {a: {x-cosalette-app: 7}}\n": (
            "channel 'a': x-cosalette-app must be a non-empty string"
        ),
        "asyncapi: 3.0.0\nx: {$ref: 'other.yaml#/A'}\n": (
            "unresolvable $ref 'other.yaml#/A' at #/x"
        ),
    }
    for text, error in cases.items():
        (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
        assert _load_error(tmp_path / "s.yaml").errors == [error], text


def test_an_unresolvable_ref_inside_a_list_is_reported_too(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "asyncapi: 3.0.0\nx:\n  anyOf:\n  - $ref: '#/nowhere'\n", encoding="utf-8"
    )
    assert _load_error(tmp_path / "s.yaml").errors == [
        "unresolvable $ref '#/nowhere' at #/x/anyOf/0"
    ]


def test_valid_documents_load_with_refs_kept() -> None:
    doc = load_schema(DATA / "gas2mqtt.yaml")
    status = doc["channels"]["counterState"]["messages"]["message"]["payload"]["properties"][
        "status"
    ]
    assert status["$ref"] == "#/components/schemas/MeterStatus"
    assert doc["operations"]["publishCounterState"]["channel"] == {
        "$ref": "#/channels/counterState"
    }
    assert load_schema(str(DATA / "network.yaml"))["info"]["title"] == "home-network"


def test_json_loads_like_yaml() -> None:
    assert load_schema(DATA / "gas2mqtt.json") == load_schema(DATA / "gas2mqtt.yaml")


def test_resolve_refs_inlines_mapping_values_and_drops_siblings() -> None:
    doc = load_schema(DATA / "gas2mqtt.yaml")
    before = copy.deepcopy(doc)
    resolved = resolve_refs(doc)
    assert doc == before  # the input is not touched
    props = resolved["channels"]["counterState"]["messages"]["message"]["payload"]["properties"]
    assert props["status"] == {"enum": ["ok", "fault"], "title": "MeterStatus", "type": "string"}
    assert (
        resolved["operations"]["receiveValveCommand"]["channel"]
        == (resolved["channels"]["valveCommand"])
    )
    assert (
        resolved["operations"]["receiveValveCommand"]["channel"]
        is not (resolved["channels"]["valveCommand"])
    )


def test_refs_that_are_list_items_stay_but_deeper_ones_are_inlined() -> None:
    doc: dict[str, Any] = {
        "a": {"anyOf": [{"$ref": "#/defs/B"}, {"type": "null"}]},
        "b": {"oneOf": [{"properties": {"x": {"$ref": "#/defs/B"}}}]},
        "c": {"$ref": "#/defs/C"},
        "defs": {"B": {"type": "string"}, "C": {"$ref": "#/defs/B", "title": "dropped"}},
    }
    resolved = resolve_refs(doc)
    assert resolved["a"] == {"anyOf": [{"$ref": "#/defs/B"}, {"type": "null"}]}
    assert resolved["b"] == {"oneOf": [{"properties": {"x": {"type": "string"}}}]}
    assert resolved["c"] == {"type": "string"}
    assert resolved["defs"]["C"] == {"type": "string"}


def test_resolve_refs_refuses_circular_and_unresolvable_refs() -> None:
    with pytest.raises(ValueError, match=r"circular \$ref '#/defs/A'"):
        resolve_refs({"defs": {"A": {"properties": {"a": {"$ref": "#/defs/A"}}}}})
    with pytest.raises(ValueError, match=r"unresolvable \$ref '#/defs/B' at #/x"):
        resolve_refs({"x": {"$ref": "#/defs/B"}})
    escaped = {"x": {"$ref": "#/a~1b/c~0d"}, "a/b": {"c~d": 1}}
    assert resolve_refs(escaped)["x"] == 1


def test_network_level_and_app_names() -> None:
    network = load_schema(DATA / "network.yaml")
    assert is_network_level(network)
    assert app_names(network) == ["boiler2mqtt", "meter2mqtt"]
    assert not is_network_level(load_schema(DATA / "gas2mqtt.yaml"))
    assert not is_network_level({"x-cosalette-enforcement": {"network_level": "yes"}})


def test_validate_summaries() -> None:
    assert validate_summary(load_schema(DATA / "gas2mqtt.yaml")) == [
        "✅ Schema validated: gas2mqtt v1.4.2",
        "   AsyncAPI version: 3.0.0",
        "   Channels: 3",
        "   Schema type: single-app",
    ]
    assert validate_summary(load_schema(DATA / "network.yaml")) == [
        "✅ Schema validated: home-network v2.1.0",
        "   AsyncAPI version: 3.0.0",
        "   Channels: 8",
        "   Apps in network: 2",
        "   Schema type: network-level",
    ]
    assert validate_summary({"asyncapi": "3.0.0", "info": {"title": "x", "version": "0"}})[2] == (
        "   Channels: 0"
    )
