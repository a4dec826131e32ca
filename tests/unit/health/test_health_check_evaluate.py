"""Judging a health document: ``evaluate(doc, now, limits)`` and reading the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cosalette._health_check import (
    HealthFileError,
    Limits,
    check_file,
    default_health_path,
    evaluate,
    read_health_file,
)

NOW = 1_800_000_000.0


def doc(**changes: Any) -> dict[str, Any]:
    """A healthy document written one second before NOW."""
    base: dict[str, Any] = {
        "pid": 4242,
        "app": "gas2mqtt",
        "version": "1.2.0",
        "status": "running",
        "written_at": NOW - 1,
        "written_at_iso": "2027-01-15T08:00:00+00:00",
        "connected": True,
        "disconnected_since": None,
        "broker": "mqtt.local:1883",
        "devices": {"meter": "ok", "valve": "ok"},
        "interval": 10.0,
        "stale_after": 35.0,
        "broker_unreachable_limit": 300.0,
    }
    return {**base, **changes}


def test_a_fresh_connected_document_with_devices_ok_is_healthy() -> None:
    verdict = evaluate(doc(), NOW)
    assert verdict.ok and verdict.reasons == ()
    assert verdict.summary.startswith("healthy: gas2mqtt v1.2.0 (pid 4242)")
    assert "broker mqtt.local:1883 connected" in verdict.summary
    assert "2 devices ok" in verdict.summary


def test_stale_against_the_files_own_limit_and_an_explicit_one() -> None:
    old = doc(written_at=NOW - 40)
    verdict = evaluate(old, NOW)
    assert not verdict.ok
    assert verdict.summary == (
        "unhealthy: stale: gas2mqtt's health file was last written 40 s ago (limit 35 s); "
        "is the process hung or gone?"
    )
    assert evaluate(old, NOW, Limits(max_age=60)).ok
    assert not evaluate(doc(written_at=NOW - 20), NOW, Limits(max_age=15)).ok


def test_the_stale_limit_falls_back_to_three_intervals_and_a_margin() -> None:
    no_limit = doc(interval=2.0, stale_after=None)
    assert evaluate({**no_limit, "written_at": NOW - 10.9}, NOW).ok  # 3 * 2 + 5 = 11
    assert not evaluate({**no_limit, "written_at": NOW - 11.1}, NOW).ok


def test_the_broker_unreachable_longer_than_the_limit_names_the_broker() -> None:
    down = doc(connected=False, disconnected_since=NOW - 301)
    verdict = evaluate(down, NOW)
    assert not verdict.ok
    assert verdict.reasons == ("broker mqtt.local:1883 unreachable for 301 s (limit 300 s)",)
    # a shorter outage is still healthy, and says so
    short = evaluate(doc(connected=False, disconnected_since=NOW - 30), NOW)
    assert short.ok and "broker mqtt.local:1883 unreachable for 30 s" in short.summary
    assert not evaluate(doc(connected=False, disconnected_since=NOW - 30), NOW, Limits(None, 5)).ok


def test_devices_not_ok_are_named_errors_first() -> None:
    devices = {"meter": "error", "valve": "ok", "pump": "unavailable", "boiler": "error"}
    verdict = evaluate(doc(devices=devices), NOW)
    assert not verdict.ok
    assert verdict.reasons == ("devices in error: boiler, meter", "devices unavailable: pump")
    assert evaluate(doc(devices={"m": "circuit_open"}), NOW).reasons == ("devices circuit open: m",)


def test_every_reason_is_listed_in_one_line() -> None:
    bad = doc(
        written_at=NOW - 100,
        connected=False,
        disconnected_since=NOW - 400,
        devices={"meter": "error"},
    )
    verdict = evaluate(bad, NOW)
    assert len(verdict.reasons) == 3
    assert verdict.summary == "unhealthy: " + "; ".join(verdict.reasons)
    assert "\n" not in verdict.summary


def test_a_stopped_app_is_unhealthy_whatever_else_the_file_says() -> None:
    verdict = evaluate(doc(status="stopped", written_at=NOW - 3), NOW)
    assert not verdict.ok
    assert verdict.summary == "unhealthy: gas2mqtt stopped (3.0 s ago)"


def test_reading_a_missing_unreadable_or_corrupt_file_says_which(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    with pytest.raises(HealthFileError, match=r"health\.json is missing"):
        read_health_file(path)
    path.write_text("{not json")
    with pytest.raises(HealthFileError, match="corrupt: not JSON"):
        read_health_file(path)
    path.write_text("[1, 2]")
    with pytest.raises(HealthFileError, match="corrupt: not a JSON object"):
        read_health_file(path)
    path.write_text('{"status": "running"}')
    with pytest.raises(HealthFileError, match="no 'written_at'"):
        read_health_file(path)
    path.unlink()
    path.mkdir()
    with pytest.raises(HealthFileError, match="unreadable"):
        read_health_file(path)


def test_check_file_turns_a_broken_file_into_an_unhealthy_verdict(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    missing = check_file(path, NOW)
    assert not missing.ok and missing.summary.startswith("unhealthy: health file ")
    path.write_text(json.dumps(doc()))
    assert check_file(path, NOW).ok
    as_json = json.loads(check_file(path, NOW).to_json(path))
    assert as_json["healthy"] is True and as_json["file"] == str(path)
    assert as_json["document"]["app"] == "gas2mqtt"


def test_the_default_path_sits_next_to_the_default_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GAS2MQTT_STORE_PATH", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_health_path("gas2mqtt") == tmp_path / "gas2mqtt" / "health.json"
    monkeypatch.setenv("GAS2MQTT_STORE_PATH", str(tmp_path / "data" / "state.db"))
    assert default_health_path("gas2mqtt") == tmp_path / "data" / "health.json"
    with pytest.raises(ValueError, match="single path component"):
        default_health_path("../escape")
