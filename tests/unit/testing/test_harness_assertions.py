"""AppHarness observations: messages_for tuples, assert_state supersets, assert_published."""

import pytest

from cosalette import DeviceContext
from cosalette.testing import AppHarness

TOPIC = "bridge/lamp/state"


def _harness() -> AppHarness:
    return AppHarness.create(name="bridge")


async def _publish(harness: AppHarness, payload: str, *, retain: bool, qos: int = 1) -> None:
    await harness.mqtt.publish(TOPIC, payload, retain=retain, qos=qos)


# --- messages_for ---------------------------------------------------------------------


async def test_messages_for_returns_payload_retain_and_qos() -> None:
    harness = _harness()
    await _publish(harness, '{"on":true}', retain=True)
    await _publish(harness, "raw", retain=False, qos=0)
    await harness.mqtt.publish("bridge/other", "x")
    assert harness.messages_for(TOPIC) == [('{"on":true}', True, 1), ("raw", False, 0)]
    assert harness.messages_for(TOPIC) == harness.mqtt.get_messages_for(TOPIC)
    assert harness.messages_for("bridge/nothing") == []


async def test_messages_for_shows_state_retained_and_channel_not() -> None:
    harness = _harness()

    @harness.app.device("lamp")
    async def lamp(ctx: DeviceContext) -> None:
        await ctx.publish_state({"on": True})
        await ctx.publish("debug", "hello", retain=False)
        while not ctx.shutdown_requested:
            await ctx.sleep(60)

    async with harness:
        assert harness.messages_for(TOPIC) == [('{"on":true}', True, 1)]
        ((payload, retain, _qos),) = harness.messages_for("bridge/lamp/debug")
        assert (payload, retain) == ("hello", False)


async def test_wait_for_publish_count_returns_tuples() -> None:
    harness = _harness()
    await _publish(harness, '{"n":1}', retain=True)
    assert await harness.wait_for_publish_count(TOPIC, 1) == [('{"n":1}', True, 1)]


# --- assert_state ---------------------------------------------------------------------


async def test_assert_state_matches_a_superset_in_an_older_retained_message() -> None:
    harness = _harness()
    await _publish(harness, '{"on":true,"level":40}', retain=True)
    await _publish(harness, '{"on":false,"level":0}', retain=True)
    harness.assert_state(TOPIC, {"level": 40})
    harness.assert_state(TOPIC, {"on": True, "level": 40})
    harness.assert_state("lamp", {"on": False})  # a device name means its state topic
    with pytest.raises(AssertionError):
        harness.assert_state(TOPIC, {"on": True, "level": 0})  # never published together


async def test_assert_state_rejects_a_match_that_was_not_retained() -> None:
    harness = _harness()
    await _publish(harness, '{"on":false}', retain=True)
    await _publish(harness, '{"on":true}', retain=False)
    with pytest.raises(AssertionError) as info:
        harness.assert_state(TOPIC, {"on": True})
    message = str(info.value)
    assert "not retained" in message
    assert '{"on":true}' in message
    assert '{"on":false}' in message  # what was published is listed


async def test_assert_state_failure_lists_what_was_published() -> None:
    harness = _harness()
    await _publish(harness, '{"on":false}', retain=True)
    with pytest.raises(AssertionError) as info:
        harness.assert_state(TOPIC, {"on": True})
    message = str(info.value)
    assert "{'on': True}" in message
    assert '{"on":false}' in message
    assert "published but not retained" not in message


async def test_assert_state_with_nothing_published_fails() -> None:
    with pytest.raises(AssertionError, match="no state published on bridge/lamp/state"):
        _harness().assert_state("lamp", {})


async def test_empty_expected_matches_any_retained_state() -> None:
    harness = _harness()
    await _publish(harness, '{"anything":[1,{"x":2}]}', retain=True)
    harness.assert_state(TOPIC, {})


async def test_empty_expected_needs_a_retained_json_object() -> None:
    harness = _harness()
    await _publish(harness, "not json", retain=True)
    await _publish(harness, "[1,2]", retain=True)
    await _publish(harness, "", retain=True)
    with pytest.raises(AssertionError):
        harness.assert_state(TOPIC, {})
    await _publish(harness, '{"on":true}', retain=False)
    with pytest.raises(AssertionError, match="not retained"):
        harness.assert_state(TOPIC, {})


async def test_nested_dicts_match_as_supersets() -> None:
    harness = _harness()
    await _publish(harness, '{"env":{"temp":21.5,"hum":{"rel":40,"abs":7}},"ok":true}', retain=True)
    harness.assert_state(TOPIC, {"env": {"temp": 21.5}})
    harness.assert_state(TOPIC, {"env": {"hum": {"rel": 40}}, "ok": True})
    harness.assert_state(TOPIC, {"env": {}})
    for wrong in (
        {"env": {"temp": 20.0}},
        {"env": {"pressure": 1013}},
        {"env": {"hum": {"rel": 40, "dew": 3}}},
        {"ok": {"nested": True}},
    ):
        with pytest.raises(AssertionError):
            harness.assert_state(TOPIC, wrong)


async def test_lists_compare_equal_not_as_subsets() -> None:
    harness = _harness()
    await _publish(harness, '{"items":[1,2,3],"pairs":[{"a":1,"b":2}]}', retain=True)
    harness.assert_state(TOPIC, {"items": [1, 2, 3]})
    harness.assert_state(TOPIC, {"pairs": [{"a": 1, "b": 2}]})
    for wrong in ({"items": [1, 2]}, {"items": [3, 2, 1]}, {"pairs": [{"a": 1}]}):
        with pytest.raises(AssertionError):
            harness.assert_state(TOPIC, wrong)


async def test_count_counts_every_message_on_the_topic() -> None:
    harness = _harness()
    await _publish(harness, '{"on":true}', retain=True)
    await _publish(harness, '{"on":false}', retain=False)
    await _publish(harness, "", retain=True)
    harness.assert_state(TOPIC, {"on": True}, count=3)
    with pytest.raises(AssertionError, match="expected 2 messages, got 3"):
        harness.assert_state(TOPIC, {"on": True}, count=2)


async def test_assert_state_on_a_running_app() -> None:
    harness = _harness()

    @harness.app.command("lamp")
    async def lamp(payload: str) -> dict[str, object]:
        return {"state": payload, "meta": {"source": "mqtt", "seq": 1}}

    async with harness:
        await harness.inject_command("lamp", "on")
        await harness.inject_command("lamp", "off")
        harness.assert_state("lamp", {"state": "on", "meta": {"source": "mqtt"}}, count=2)
        harness.assert_state("lamp", {"state": "off"})


# --- assert_published -----------------------------------------------------------------


async def test_assert_published_contains_is_a_substring_of_any_raw_payload() -> None:
    harness = _harness()
    await _publish(harness, "first reading", retain=False)
    await _publish(harness, '{"n":2}', retain=True)
    harness.assert_published(TOPIC, contains="first")
    harness.assert_published(TOPIC, contains='"n":2', count=2)
    with pytest.raises(AssertionError, match="no payload contains 'third'"):
        harness.assert_published(TOPIC, contains="third")


async def test_assert_published_still_accepts_a_dict() -> None:
    harness = _harness()
    await _publish(harness, '{"n":2,"deep":{"a":1,"b":2}}', retain=False)
    harness.assert_published(TOPIC, contains={"n": 2})
    harness.assert_published(TOPIC, contains={"deep": {"a": 1}})
    with pytest.raises(AssertionError):
        harness.assert_published(TOPIC, contains={"n": 3})
