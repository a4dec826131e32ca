"""``cosactl dev`` says so while a reload's import hangs, and a ``kill -9`` leaves no folder that
the next session does not remove (issue 13, item 14). Real processes; every wait has a deadline
and waits for an output line or a file."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _devsession import DevProcess, free_port, make_project

from cosactl.devserver.broker import WORKDIR_PREFIX, remove_stale_workdirs

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="cosactl dev needs fork()")

SLOW_MODULE = """\
import time
from pathlib import Path

while not Path({flag!r}).exists():  # an import that hangs until the test lets it go
    time.sleep(0.02)
"""


@pytest.fixture
def cleanup() -> Iterator[list[DevProcess]]:
    """Kill whatever a failed test left behind."""
    started: list[DevProcess] = []
    yield started
    for dev in started:
        dev.kill()


def test_a_reload_whose_import_hangs_says_so_after_2_s_and_again(
    tmp_path: Path, cleanup: list[DevProcess]
) -> None:
    root = make_project(tmp_path, free_port())
    flag = tmp_path / "go"
    dev = DevProcess(root, env={"COSACTL_DEV_BROKER": "python"})
    cleanup.append(dev)

    async def scenario() -> None:
        await dev.wait_line(lambda s: "start: ready" in s)
        mark = len(dev.lines)
        (root / "devices" / "slow.py").write_text(SLOW_MODULE.format(flag=str(flag)))
        first = await dev.wait_line(lambda s: "still importing and wiring after 2 s" in s, 10, mark)
        again = await dev.wait_line(
            lambda s: "still importing and wiring after 7 s" in s, 10, first
        )
        flag.touch()
        ready = await dev.wait_line(lambda s: "reload #1 (devices/slow.py): ready" in s, 10, again)
        notices = [s for s in dev.lines[mark:ready] if "still importing" in s]
        assert len(notices) == 2, dev.output
        assert notices[0].endswith(
            "reload #1 (devices/slow.py): still importing and wiring after 2 s (slow work at "
            "module level? move it into a handler or an adapter); the previous version keeps "
            "running"
        ), dev.output

    asyncio.run(scenario())
    assert dev.interrupt() == 0, dev.output


def test_a_session_killed_while_mosquitto_starts_leaves_a_folder_the_next_one_removes(
    tmp_path: Path, cleanup: list[DevProcess]
) -> None:
    root = make_project(tmp_path, free_port())
    temp = tmp_path / "temp"
    temp.mkdir()
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    never_listens = fake_bin / "mosquitto"
    never_listens.write_text("#!/bin/sh\nexec sleep 60\n")
    never_listens.chmod(0o755)
    env = {"TMPDIR": str(temp), "COSACTL_DEV_BROKER": "mosquitto"}
    dev = DevProcess(root, env={**env, "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"})
    cleanup.append(dev)

    deadline = time.monotonic() + 15
    while not list(temp.glob(f"{WORKDIR_PREFIX}*/mosquitto.conf")):  # mosquitto is starting
        assert time.monotonic() < deadline and dev.process.poll() is None, dev.output
        time.sleep(0.02)
    assert dev.signal(signal.SIGKILL) == -signal.SIGKILL
    left = list(temp.iterdir())
    assert [p.name.startswith(f"{WORKDIR_PREFIX}{dev.process.pid}-") for p in left] == [True]

    again = DevProcess(root, env={"TMPDIR": str(temp), "COSACTL_DEV_BROKER": "python"})
    cleanup.append(again)
    asyncio.run(again.wait_line(lambda s: "started the built-in Python broker" in s))
    assert list(temp.iterdir()) == [], "the dead session's folder is removed"
    assert again.interrupt() == 0, again.output


def test_only_folders_of_dead_sessions_are_removed(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])  # a pid that has exited
    gone.wait()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        stale = tmp_path / f"{WORKDIR_PREFIX}{gone.pid}-abc"
        live = tmp_path / f"{WORKDIR_PREFIX}{alive.pid}-def"
        mine = tmp_path / f"{WORKDIR_PREFIX}{os.getpid()}-ghi"
        other = tmp_path / "cosactl-dev-mosquitto-notapid"
        for folder in (stale, live, mine, other):
            folder.mkdir()
            (folder / "mosquitto.conf").write_text("")
        assert remove_stale_workdirs(tmp_path) == [stale]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            p.name for p in (live, mine, other)
        )
    finally:
        alive.kill()
        alive.wait()
