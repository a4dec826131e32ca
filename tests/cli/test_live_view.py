"""The live view's Board and table: streams show items per second and heartbeat drops."""

from __future__ import annotations

import io
import json

from cosactl.devserver.live import RATE_WINDOW, Board, LiveView


def heartbeat(**devices: dict[str, object]) -> str:
    return json.dumps({"status": "online", "uptime_s": 1.0, "devices": devices})


def test_a_heartbeat_with_dropped_marks_a_stream_and_keeps_its_drops() -> None:
    board = Board("ble")
    status = heartbeat(scanner={"status": "ok", "dropped": 3}, lamp={"status": "ok"})
    assert board.on_message("ble/status", status, True, 0.0) == "status"
    assert board.status == "online"
    assert board.devices["scanner"].stream and board.devices["scanner"].dropped == 3
    assert "lamp" not in board.devices  # only streams get a row from the heartbeat


def test_a_streams_items_per_second_count_every_message_under_it() -> None:
    board = Board("ble")
    board.on_message("ble/status", heartbeat(scanner={"status": "ok", "dropped": 0}), True, 0.0)
    for i in range(10):
        assert board.on_message(f"ble/scanner/aa{i}", "{}", False, 1.0 + i * 0.1) == "item"
    board.on_message("ble/scanner/state", '{"n": 1}', False, 2.0)
    assert board.on_message("ble/scanner/old", "{}", True, 2.0) is None  # retained: not new
    row = board.devices["scanner"]
    assert row.rate(2.0) == 11 / RATE_WINDOW
    assert row.rate(2.0 + RATE_WINDOW + 1) == 0.0
    assert board.on_message("ble/other/aa", "{}", False, 2.0) is None  # not a stream


def test_a_bad_heartbeat_is_only_a_status() -> None:
    board = Board("ble")
    assert board.on_message("ble/status", "offline", True, 0.0) == "status"
    assert board.on_message("ble/status", "[1]", True, 0.0) == "status"
    assert board.status == "online" and not board.devices


def test_the_table_shows_stream_rows_with_rate_and_drops() -> None:
    view = LiveView("ble", "ble dev", stream=io.StringIO())
    view.message("ble/counter/state", '{"value": 1}', False)
    view.message("ble/counter/availability", "online", True)
    view.message("ble/status", heartbeat(scanner={"status": "ok", "dropped": 7}), True)
    view.message("ble/scanner/state", '{"value": 2}', False)
    lines = view.frame(100)
    assert "STREAM ITEMS/S, DROPS" in lines[1]
    scanner = next(line for line in lines if line.startswith("scanner"))
    assert "/s, 7 dropped" in scanner
    counter = next(line for line in lines if line.startswith("counter"))
    assert "online" in counter and "dropped" not in counter
