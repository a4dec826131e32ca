"""``cosactl add``: render an archetype's snippet and its test into the project."""

from __future__ import annotations

import click

from cosactl._errors import CosactlError
from cosactl.generate import ARCHETYPES

COLOUR = {"create": "green", "update": "cyan", "force": "yellow", "conflict": "red"}


@click.command()
@click.argument("archetype", type=click.Choice(ARCHETYPES), metavar="ARCHETYPE")
@click.argument("name")
@click.option(
    "--interval",
    type=float,
    metavar="SECONDS",
    help="telemetry (default 60), device (10), periodic (300): seconds between runs.",
)
@click.option(
    "--schedule",
    metavar="CRON",
    help="telemetry, instead of --interval: read on a Quartz cron schedule "
    '(second minute hour day-of-month month day-of-week [year]), e.g. "0 0 6 ? * MON-FRI" '
    "for 06:00 on weekdays.",
)
@click.option(
    "--triggerable",
    is_flag=True,
    help="telemetry: also read at once when anything is published on APP/NAME/set "
    "(the handler gets a cosalette.TriggerPayload).",
)
@click.option(
    "--publish",
    type=click.Choice(["on-change", "every"]),
    help="telemetry: publish only changed readings, or at most once per --every seconds.",
)
@click.option(
    "--every",
    type=float,
    metavar="SECONDS",
    help="telemetry with --publish every: seconds between publishes (default 300).",
)
@click.option(
    "--adapter",
    metavar="PORT",
    help="telemetry: read from the port in adapters/PORT.py (created if missing); stream: "
    "the StreamablePort adapter in adapters/PORT.py that pushes its readings (created if "
    "missing; default NAME).",
)
@click.option("--force", is_flag=True, help="Overwrite files that differ from the template.")
@click.option(
    "--pretend", is_flag=True, help="Show what would be created and changed; write nothing."
)
def add(
    archetype: str,
    name: str,
    interval: float | None,
    schedule: str | None,
    triggerable: bool,
    publish: str | None,
    every: float | None,
    adapter: str | None,
    force: bool,
    pretend: bool,
) -> None:
    """Add a device, adapter or router NAME, with its test, to the project.

    \b
    ARCHETYPE is one of:
      telemetry  devices/NAME.py: a reading every --interval seconds (or on a --schedule),
                 published as state
      command    devices/NAME.py: a handler for NAME/set whose result is published as state
      device     devices/NAME.py: a long-running loop with ctx.on_command and ctx.sleep
      periodic   devices/NAME.py: background work every --interval seconds, no MQTT topics
      stream     devices/NAME.py: publishes each reading a StreamablePort adapter pushes,
                 and adapters/PORT.py (--adapter) with a Reading type, the adapter, a fake
      adapter    adapters/NAME.py: a port (Protocol), its real adapter and its fake
      router     routers/NAME.py: a Router grouping devices under NAME/

    Each also writes tests/test_*.py, and device archetypes (not stream) add a
    [devices.NAME] section to settings.toml (your comments and formatting stay as they are).
    Running the same add again changes nothing. A file that exists and differs is refused
    with a diff unless --force; a name already used by another device is refused.
    .cosactl.json records what the add created: `cosactl remove NAME` undoes it.

    \b
    Examples:
      cosactl add telemetry counter --interval 30 --publish on-change
      cosactl add telemetry field --adapter magnetometer
      cosactl add telemetry boiler --schedule "0 0 6 ? * MON-FRI"
      cosactl add telemetry meter --interval 300 --triggerable
      cosactl add command valve --pretend
      cosactl add stream scanner --adapter ble
    """
    from cosactl._project import project_root
    from cosactl.generate import GenerateError, apply_plan, plan_add

    options = {
        "interval": interval,
        "schedule": schedule,
        "triggerable": triggerable,
        "publish": publish,
        "every": every,
        "adapter": adapter,
    }
    try:
        plan = plan_add(project_root(), archetype, name, options)
        apply_plan(plan, force=force, pretend=pretend)
    except GenerateError as exc:
        raise CosactlError(str(exc), exc.exit_code) from None
    for change in plan.changes:
        action = "force" if change.action == "conflict" else change.action
        colour = COLOUR.get(action, "blue")
        label = click.style(f"{action:<9}", fg=colour, bold=action in COLOUR)
        detail = f" {change.detail}" if change.detail else ""
        suffix = " (left as it is)" if action == "exists" else ""
        click.echo(f"{label} {change.path}{detail}{suffix}")
    if pretend:
        click.echo("--pretend: nothing was written")
