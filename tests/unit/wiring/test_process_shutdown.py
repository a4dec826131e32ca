"""The foreground runner's signals: the first one asks for shutdown, and is logged."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest

from cosalette._shutdown import ProcessShutdown


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
async def test_the_first_signal_sets_the_event_and_the_handlers_come_back(
    sig: signal.Signals, caplog: pytest.LogCaptureFixture
) -> None:
    before = signal.getsignal(sig)
    with (
        caplog.at_level(logging.INFO, logger="cosalette"),
        ProcessShutdown(grace=3600, margin=3600, probe=1) as guard,
    ):
        guard.attach(asyncio.get_running_loop())
        assert signal.getsignal(sig) is not before
        os.kill(os.getpid(), sig)
        async with asyncio.timeout(5):
            await guard.event.wait()
        assert guard.signum == sig and guard.exit_code == 0
    assert signal.getsignal(sig) is before
    assert f"{sig.name} received: stopping (handlers get 3600 s" in caplog.text


async def test_without_a_signal_nothing_is_asked() -> None:
    with ProcessShutdown(grace=3600, margin=3600, probe=1) as guard:
        guard.attach(asyncio.get_running_loop())
    assert guard.signum is None and not guard.event.is_set() and guard.exit_code == 0
