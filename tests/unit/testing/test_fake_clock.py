"""FakeClock: time moves only when a test moves it, and an idle harness costs no CPU."""

import asyncio
import time

from cosalette import ClockPort, DeviceContext
from cosalette.testing import AppHarness, FakeClock, settle


async def test_start_and_now() -> None:
    assert FakeClock().now() == 0.0
    assert FakeClock(start=100.0).now() == 100.0
    assert isinstance(FakeClock(), ClockPort)


async def test_sleep_finishes_only_after_advancing_to_the_deadline() -> None:
    clock = FakeClock()
    task = asyncio.ensure_future(clock.sleep(10))
    await settle()
    assert not task.done()
    clock.advance(9.9)
    await settle()
    assert not task.done()
    clock.advance(0.1)
    await settle()
    assert task.done()
    assert clock.now() == 10.0


async def test_sleepers_wake_in_deadline_order() -> None:
    clock = FakeClock()
    woke: list[str] = []

    async def sleeper(label: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(label)

    tasks = [asyncio.ensure_future(sleeper("late", 5)), asyncio.ensure_future(sleeper("early", 2))]
    await settle()
    clock.advance(3)
    await settle()
    assert woke == ["early"]
    clock.advance(2)
    await asyncio.gather(*tasks)
    assert woke == ["early", "late"]


async def test_time_attribute_is_writable_and_wakes_sleepers() -> None:
    clock = FakeClock()
    task = asyncio.ensure_future(clock.sleep(30))
    await settle()
    assert clock._time == 0.0
    clock._time = 29.0
    await settle()
    assert not task.done()
    assert clock.now() == 29.0
    clock._time = 31.0
    await settle()
    assert task.done()
    assert clock.now() == 31.0


async def test_cancelled_sleep_does_not_disturb_others() -> None:
    clock = FakeClock()
    cancelled = asyncio.ensure_future(clock.sleep(5))
    kept = asyncio.ensure_future(clock.sleep(5))
    await settle()
    cancelled.cancel()
    await settle()
    clock.advance(5)
    await settle()
    assert cancelled.cancelled()
    assert kept.done() and not kept.cancelled()


async def test_harness_advance_time_moves_the_clock() -> None:
    harness = AppHarness.create(name="bridge")
    async with harness:
        await harness.advance_time(42)
        assert harness.clock.now() == 42.0


async def _idle_for(seconds: float) -> float:
    """Wait *seconds* of wall time on a timer (nothing polls); return the CPU time used."""
    woken = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, woken.set)
    cpu = time.process_time()
    await woken.wait()
    return time.process_time() - cpu


async def test_idle_harness_uses_no_cpu() -> None:
    harness = AppHarness.create(name="gas2mqtt")
    calls = 0

    @harness.app.telemetry("counter", interval=60)
    async def counter() -> dict[str, object]:
        nonlocal calls
        calls += 1
        return {"impulses": calls}

    loop = asyncio.get_running_loop()
    loop.call_later(0.3, harness.trigger_shutdown)
    wall = time.monotonic()
    cpu = time.process_time()
    await harness.run()
    cpu_used = time.process_time() - cpu
    assert time.monotonic() - wall >= 0.29
    assert calls == 1
    assert cpu_used < 0.05, f"idle harness burned {cpu_used:.3f} s of CPU in 0.3 s"


async def test_idle_harness_with_every_kind_of_task_uses_no_cpu() -> None:
    harness = AppHarness.create(name="bridge", run_periodic=True)
    polls = 0

    @harness.app.telemetry("t", interval=60)
    async def t() -> dict[str, object]:
        nonlocal polls
        polls += 1
        return {"n": polls}

    @harness.app.command("c")
    async def c(payload: str) -> None:
        return None

    @harness.app.device("queue")
    async def queue(ctx: DeviceContext) -> None:
        async for _ in ctx.commands():
            pass

    @harness.app.device("ticker")
    async def ticker(ctx: DeviceContext) -> None:
        async for _ in ctx.commands(timeout=30):
            pass

    @harness.app.periodic("p", interval=30)
    async def p() -> None:
        return None

    async with harness:
        cpu_used = await _idle_for(0.3)
        assert polls == 1
    assert cpu_used < 0.05, f"idle harness burned {cpu_used:.3f} s of CPU in 0.3 s"
