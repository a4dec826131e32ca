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
    a MockMqttClient and a FakeClock.

    \b
    Examples:
      cosactl test
      cosactl test -k counter -x
    """
    from cosactl._project import project_root

    root = project_root()  # pytest itself is checked by the command group (the [dev] extra)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
    completed = subprocess.run(command, cwd=root, check=False)
    raise SystemExit(completed.returncode)
