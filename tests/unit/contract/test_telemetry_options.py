"""Schedules, groups, retries, breakers, timeouts and triggers in the manifest, table and snapshot.

Registrations are declared plainly and given their options with ``dataclasses.replace``, so
these tests describe records as the registrar stores them without depending on its checks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from _option_records import Options, with_options
from pydantic import BaseModel

import cosalette
from cosalette._contract.values import describe_schedule
from cosalette.project import build_manifest, format_manifest_table, manifest_to_json
from cosalette.testing import make_settings


class PollSettings(cosalette.Settings):
    poll: float = 12.0
    read_timeout: float = 4.0


class Refresh(BaseModel):
    days: int = 7


class SlowStart:
    """A backoff without a repr of its own."""

    def delay(self, attempt: int) -> float:
        return 0.0 if attempt <= 1 else 2.0


def make_app() -> cosalette.App:
    app = cosalette.App("heat", "1.0.0", settings_class=PollSettings)

    @app.telemetry("plain", interval=5)
    async def plain() -> dict[str, object]:
        return {}

    @app.telemetry("boiler", interval=60)
    async def boiler() -> dict[str, object]:
        return {}

    @app.telemetry("hotwater", interval=cosalette.setting_ref("poll"))
    async def hotwater() -> dict[str, object]:
        return {}

    @app.telemetry("calendar", interval=1)
    async def calendar() -> dict[str, object]:
        return {}

    @app.telemetry(name=lambda s: {"east": "0 0 6 * * ?", "west": "0 0 18 * * ?"}, interval=1)
    async def sun() -> dict[str, object]:
        return {}

    return app


def device(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in manifest["devices"] if d["name"] == name)
    return found


def manifest_with(
    monkeypatch: pytest.MonkeyPatch, options: Options, settings: bool = False
) -> dict[str, Any]:
    app = make_app()
    with_options(monkeypatch, app, options)
    return build_manifest(app, make_settings(PollSettings) if settings else None)


PLAIN_KEYS = [
    "name",
    "kind",
    "root",
    "dynamic",
    "handlers",
    "tags",
    "topics",
    "interval",
    "interval_setting",
    "strategy",
    "adapters",
    "dependencies",
    "summary",
    "behavior",
    "effects",
    "state_schema",
    "payload_schema",
]


# --------------------------------------------------------------------------- manifest


@pytest.mark.parametrize("settings", [False, True])
def test_a_plain_interval_device_is_unchanged(settings: bool) -> None:
    app = make_app()
    manifest = build_manifest(app, make_settings(PollSettings) if settings else None)
    for name in ("plain", "boiler", "hotwater"):
        assert list(device(manifest, name)) == PLAIN_KEYS
    assert device(manifest, "plain") == {
        "name": "plain",
        "kind": "telemetry",
        "root": False,
        "dynamic": False,
        "handlers": [f"{__name__}.make_app.<locals>.plain"],
        "tags": [],
        "topics": {
            "state": "heat/plain/state",
            "availability": "heat/plain/availability",
            "error": "heat/plain/error",
        },
        "interval": 5.0,
        "interval_setting": None,
        "strategy": None,
        "adapters": [],
        "dependencies": [],
        "summary": None,
        "behavior": [],
        "effects": [],
        "state_schema": None,
        "payload_schema": None,
    }


def test_options_leave_other_devices_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    before = build_manifest(make_app())
    after = manifest_with(
        monkeypatch, {"boiler": {"group": "optolink", "retry": 3, "triggerable": True}}
    )
    assert device(after, "plain") == device(before, "plain")
    assert device(after, "hotwater") == device(before, "hotwater")


@pytest.mark.parametrize(
    ("schedule", "shown"),
    [
        ("0 0 6 ? * MON-FRI", "0 0 6 ? * MON-FRI"),
        (cosalette.CronSchedule("0 30 7 * * ?"), "0 30 7 * * ?"),
        (lambda config: config, "<deferred>"),
    ],
    ids=["string", "CronSchedule", "callable"],
)
def test_schedule_replaces_the_interval(
    monkeypatch: pytest.MonkeyPatch, schedule: object, shown: str
) -> None:
    entry = device(manifest_with(monkeypatch, {"calendar": {"schedule": schedule}}), "calendar")
    assert entry["schedule"] == shown
    assert entry["interval"] is None and entry["interval_setting"] is None
    keys = list(entry)
    assert keys[keys.index("interval_setting") + 1] == "schedule"


def test_describe_schedule_forms() -> None:
    assert describe_schedule(None) is None
    assert describe_schedule("0 0 * * * ?") == "0 0 * * * ?"
    assert describe_schedule(cosalette.CronSchedule("0 0 * * * ?")) == "0 0 * * * ?"
    assert describe_schedule(cosalette.setting_ref("cron")) == "setting:cron"
    assert describe_schedule(lambda config: "0 0 * * * ?") == "<deferred>"


def test_settings_resolve_a_schedule_per_device(monkeypatch: pytest.MonkeyPatch) -> None:
    options: Options = {
        "calendar": {"schedule": cosalette.CronSchedule("0 0 6 ? * MON-FRI")},
        "sun": {"schedule": lambda config: config},
    }
    declared = manifest_with(monkeypatch, options)
    assert device(declared, "sun")["schedule"] == "<deferred>"
    resolved = manifest_with(monkeypatch, options, settings=True)
    assert device(resolved, "calendar")["schedule"] == "0 0 6 ? * MON-FRI"
    assert device(resolved, "east")["schedule"] == "0 0 6 * * ?"
    assert device(resolved, "west")["schedule"] == "0 0 18 * * ?"
    assert device(resolved, "west")["interval"] is None


def test_group_is_shown_with_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    options: Options = {"boiler": {"group": "optolink"}, "hotwater": {"group": "optolink"}}
    manifest = manifest_with(monkeypatch, options, settings=True)
    assert device(manifest, "boiler")["group"] == "optolink"
    assert device(manifest, "boiler")["interval"] == 60.0
    assert device(manifest, "hotwater")["interval_setting"] == "poll"
    assert "group" not in device(manifest, "plain")


def test_triggerable_telemetry_has_a_set_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    options: Options = {"boiler": {"triggerable": True}, "sun": {"triggerable": True}}
    manifest = manifest_with(monkeypatch, options)
    boiler = device(manifest, "boiler")
    assert boiler["triggerable"] is True
    assert boiler["topics"] == {
        "state": "heat/boiler/state",
        "set": "heat/boiler/set",
        "availability": "heat/boiler/availability",
        "error": "heat/boiler/error",
    }
    assert device(manifest, "sun")["topics"]["set"] == "heat/+/set"
    resolved = manifest_with(monkeypatch, options, settings=True)
    assert device(resolved, "east")["topics"]["set"] == "heat/east/set"


def test_retry_defaults_are_the_ones_a_run_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    unfilled = {"retry": 3, "retry_on": None, "backoff": None}  # a record without defaults
    entry = device(manifest_with(monkeypatch, {"boiler": unfilled}), "boiler")
    assert entry["retry"] == {
        "attempts": 3,
        "on": ["OSError"],
        "backoff": "ExponentialBackoff(base=2.0, max_delay=60.0)",
    }


@pytest.mark.parametrize(
    ("backoff", "shown"),
    [
        (cosalette.ExponentialBackoff(1.0, 30.0), "ExponentialBackoff(base=1.0, max_delay=30.0)"),
        (cosalette.LinearBackoff(1.0, 30.0), "LinearBackoff(step=1.0, max_delay=30.0)"),
        (cosalette.FixedBackoff(delay=2.0), "FixedBackoff(delay=2.0)"),
        (SlowStart(), "SlowStart()"),
    ],
    ids=["exponential", "linear", "fixed", "custom"],
)
def test_retry_names_its_exceptions_and_backoff(
    monkeypatch: pytest.MonkeyPatch, backoff: object, shown: str
) -> None:
    changes = {"retry": 5, "retry_on": (TimeoutError, ConnectionError), "backoff": backoff}
    entry = device(manifest_with(monkeypatch, {"boiler": changes}), "boiler")
    assert entry["retry"] == {
        "attempts": 5,
        "on": ["TimeoutError", "ConnectionError"],
        "backoff": shown,
    }


def test_no_retries_means_no_retry_key(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = device(manifest_with(monkeypatch, {"boiler": {"retry": 0, "retry_on": ()}}), "boiler")
    assert "retry" not in entry


def test_circuit_breaker_shows_its_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    breaker = cosalette.CircuitBreaker(threshold=5)
    breaker.record_failure()  # its live state is not part of the contract
    options: Options = {"boiler": {"circuit_breaker": breaker}}
    assert device(manifest_with(monkeypatch, options), "boiler")["circuit_breaker"] == {
        "threshold": 5
    }


@pytest.mark.parametrize(
    ("timeout", "declared", "resolved"),
    [
        (10.0, 10.0, 10.0),
        (cosalette.setting_ref("read_timeout"), "setting:read_timeout", 4.0),
        (lambda s: 3.0, "<deferred>", 3.0),
    ],
    ids=["seconds", "setting_ref", "callable"],
)
def test_timeout_is_described_like_an_interval(
    monkeypatch: pytest.MonkeyPatch, timeout: object, declared: object, resolved: float
) -> None:
    options: Options = {"boiler": {"timeout": timeout}}
    assert device(manifest_with(monkeypatch, options), "boiler")["timeout"] == declared
    assert device(manifest_with(monkeypatch, options, True), "boiler")["timeout"] == resolved


@pytest.mark.parametrize("omitted", [None, object()], ids=["None", "sentinel"])
def test_an_omitted_timeout_is_not_shown(monkeypatch: pytest.MonkeyPatch, omitted: object) -> None:
    entry = device(manifest_with(monkeypatch, {"boiler": {"timeout": omitted}}), "boiler")
    assert "timeout" not in entry


def everything() -> Options:
    return {
        "boiler": {
            "group": "optolink",
            "retry": 3,
            "retry_on": (OSError,),
            "backoff": cosalette.ExponentialBackoff(),
            "circuit_breaker": cosalette.CircuitBreaker(threshold=5),
        },
        "hotwater": {"group": "optolink"},
        "calendar": {
            "schedule": cosalette.CronSchedule("0 0 6 ? * MON-FRI"),
            "triggerable": True,
            "timeout": 10.0,
            "payload_model": Refresh,
        },
    }


def test_options_keep_the_manifest_deterministic_and_ordered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = manifest_to_json(manifest_with(monkeypatch, everything()))
    assert first == manifest_to_json(manifest_with(monkeypatch, everything()))
    calendar = device(json.loads(first), "calendar")
    assert list(calendar)[7:14] == [
        "interval",
        "interval_setting",
        "schedule",
        "strategy",
        "triggerable",
        "timeout",
        "adapters",
    ]
    boiler = device(json.loads(first), "boiler")
    assert list(boiler)[8:13] == [
        "interval_setting",
        "group",
        "strategy",
        "retry",
        "circuit_breaker",
    ]


# --------------------------------------------------------------------------- table


def table_rows(table: str) -> dict[str, str]:
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("DEVICE"))
    rows = {}
    for line in lines[start:]:
        if not line:
            break
        rows[line.split()[0]] = line
    return rows


def test_table_shows_schedules_groups_and_marks(monkeypatch: pytest.MonkeyPatch) -> None:
    table = format_manifest_table(manifest_with(monkeypatch, everything(), settings=True))
    rows = table_rows(table)
    header = rows["DEVICE"]
    assert header.split() == [
        "DEVICE",
        "KIND",
        "INTERVAL",
        "MARKS",
        "STRATEGY",
        "STATE",
        "SET",
        "ADAPTERS",
    ]
    marks = header.index("MARKS")

    def cell(name: str, column: str) -> str:
        start = header.index(column)
        following = [header.index(c) for c in header.split() if header.index(c) > start]
        end = min(following, default=None)
        return rows[name][start:end].strip()

    assert cell("calendar", "INTERVAL") == "cron 0 0 6 ? * MON-FRI"
    assert cell("calendar", "MARKS") == "T t10s"
    assert cell("calendar", "SET") == "heat/calendar/set"
    assert cell("boiler", "INTERVAL") == "60s (group optolink)"
    assert cell("boiler", "MARKS") == "R3 B5"
    assert cell("hotwater", "INTERVAL") == "12s (poll, group optolink)"
    assert cell("plain", "MARKS") == "-"
    assert rows["plain"][marks:].startswith("-")
    legend = [line for line in table.splitlines() if "R<n>" in line or "B<n>" in line]
    assert legend and all(len(line) <= 100 for line in legend)
    assert "T triggerable" in table and "t<s> timeout" in table


def test_table_marks_a_timeout_from_settings_and_a_deferred_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options: Options = {
        "boiler": {"timeout": cosalette.setting_ref("read_timeout")},
        "sun": {"schedule": lambda config: config},
    }
    rows = table_rows(format_manifest_table(manifest_with(monkeypatch, options)))
    assert "t(setting:read_timeout)" in rows["boiler"]
    assert "cron <deferred>" in rows["sun"]


def test_table_without_options_has_no_marks_column() -> None:
    table = format_manifest_table(build_manifest(make_app(), make_settings(PollSettings)))
    assert "MARKS" not in table and "R<n>" not in table
    assert table_rows(table)["DEVICE"].split()[:4] == ["DEVICE", "KIND", "INTERVAL", "STRATEGY"]


# --------------------------------------------------------------------------- registry snapshot

SNAPSHOT_OPTION_KEYS = {"group", "retry", "retry_on", "backoff", "circuit_breaker", "triggerable"}


def snapshot_telemetry(app: cosalette.App) -> dict[str, dict[str, Any]]:
    snapshot = cosalette.build_registry_snapshot(app)
    json.dumps(snapshot)  # JSON-ready
    return {t["name"]: t for t in snapshot["telemetry"]}


def test_snapshot_describes_options_like_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    options = everything()
    options["boiler"]["retry_on"] = (TimeoutError,)
    options["boiler"]["backoff"] = cosalette.FixedBackoff(delay=2.0)
    with_options(monkeypatch, app, options)
    telemetry = snapshot_telemetry(app)
    boiler = {k: v for k, v in telemetry["boiler"].items() if k in SNAPSHOT_OPTION_KEYS}
    assert boiler == {
        "group": "optolink",
        "retry": 3,
        "retry_on": ["TimeoutError"],
        "backoff": "FixedBackoff(delay=2.0)",
        "circuit_breaker": "CircuitBreaker(threshold=5, state='closed')",
        "triggerable": False,
    }
    assert telemetry["calendar"]["triggerable"] is True
    assert "schedule" not in telemetry["calendar"]  # the spec's snapshot has no schedule
    assert "timeout" not in telemetry["calendar"]


def test_snapshot_of_a_plain_device_has_spec_defaults() -> None:
    plain = snapshot_telemetry(make_app())["plain"]
    assert {k: plain[k] for k in SNAPSHOT_OPTION_KEYS} == {
        "group": None,
        "retry": 0,
        "retry_on": None,
        "backoff": None,
        "circuit_breaker": None,
        "triggerable": False,
    }
    assert cosalette.format_registry_table(cosalette.build_registry_snapshot(make_app()))
