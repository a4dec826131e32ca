"""Streams in the manifest, its table and the AsyncAPI document."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import jsonschema

import cosalette
from cosalette import DeviceContext, Stream, StreamablePort
from cosalette.project import build_manifest, format_manifest_table

SCHEMA = Path(__file__).with_name("asyncapi-3.0.0.schema.json")


@dataclass(frozen=True)
class Reading:
    mac: str


class Scanner:
    """A port that never pushes anything."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def start_scan(self) -> None: ...
    async def stop_scan(self) -> None: ...
    def register_callback(self, cb: Callable[[Reading], None]) -> None: ...


def make_app(*, stream: bool = True) -> cosalette.App:
    app = cosalette.App("ble", "1.0.0", store=None)

    @app.telemetry("battery", interval=60)
    async def battery() -> dict[str, object]:
        return {"level": 1}

    if stream:
        router = cosalette.Router()
        router.adapter(StreamablePort[Reading], Scanner)

        @router.stream("scanner", maxsize=10, backpressure="drop_oldest", summary="BLE ads.")
        async def scan(readings: Stream[Reading], ctx: DeviceContext) -> AsyncIterator[None]:
            async for reading in readings:
                await ctx.publish(reading.mac, "{}")
                yield

        app.include_router(router)
    return app


def test_a_stream_is_a_device_entry_of_kind_stream() -> None:
    manifest = build_manifest(make_app())
    entry = next(d for d in manifest["devices"] if d["name"] == "scanner")
    assert entry["kind"] == "stream"
    assert entry["handlers"] == [f"{__name__}.make_app.<locals>.scan"]
    assert entry["topics"] == {"state": "ble/scanner/state", "error": "ble/scanner/error"}
    assert (entry["item_type"], entry["port"]) == ("Reading", "StreamablePort[Reading]")
    assert (entry["maxsize"], entry["backpressure"]) == (10, "drop_oldest")
    assert entry["adapters"] == ["StreamablePort[Reading]"]
    assert entry["dependencies"] == ["DeviceContext"]
    assert entry["summary"] == "BLE ads."
    json.dumps(manifest)  # JSON-ready


def test_an_app_without_streams_keeps_its_manifest() -> None:
    with_stream = build_manifest(make_app())
    without = build_manifest(make_app(stream=False))
    assert [d["kind"] for d in without["devices"]] == ["telemetry"]
    battery = next(d for d in with_stream["devices"] if d["name"] == "battery")
    assert battery == without["devices"][0]
    assert "Streams publish" not in format_manifest_table(without)


def test_the_table_shows_a_stream_with_push_as_its_interval() -> None:
    table = format_manifest_table(build_manifest(make_app()))
    row = next(line for line in table.splitlines() if line.startswith("scanner"))
    assert row.split()[:3] == ["scanner", "stream", "push"]
    assert "ble/scanner/state" in row
    assert "Streams publish as their port pushes items (no availability)" in table


def test_asyncapi_leaves_streams_out_and_validates() -> None:
    """The contract's AsyncAPI has no stream channels (the manifest describes streams)."""
    doc = make_app().asyncapi()
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(doc)
    addresses = [c["address"] for c in doc["channels"].values()]
    assert "ble/scanner/state" not in addresses
    assert "ble/battery/state" in addresses
