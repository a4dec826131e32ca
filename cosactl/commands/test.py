"""``cosactl test``: the project's own tests, with the cosalette fixtures available."""

from __future__ import annotations

import subprocess
import sys

import click


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test(pytest_args: tuple[str, ...]) -> None:
    """Run the project's tests with pytest; extra arguments go to pytest.

    The `project_harness` fixture gives each test the discovered app with its fake adapters,
    a MockMqttClient and a FakeClock. A project that cannot load or be wired is reported with
    its file:line (exit code 3) and its tests are not run.

    \b
    Examples:
      cosactl test
      cosactl test -k counter -x
    """
    from cosactl._project import project_root

    root = project_root()  # pytest itself is checked by the command group (the [dev] extra)
    check_loads()  # a broken project: its one located error, not a traceback per test
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
    completed = subprocess.run(command, cwd=root, check=False)
    raise SystemExit(completed.returncode)


def check_loads() -> None:
    """Load and wire the project as the tests do (fake adapters, a memory store).

    A problem is a :class:`CosactlError` (exit 3) with its ``file:line``; the project's own
    warnings are left for pytest to show.
    """
    import warnings

    from cosactl._project import load
    from cosalette import MemoryStore
    from cosalette.project import ProjectWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProjectWarning)
        load(dry_run=True, store=MemoryStore(), check=True)
