"""``cosactl manifest``: every MQTT topic the project uses, as a table, JSON, YAML or AsyncAPI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cosactl._errors import EXIT_CHECK_FAILED, EXIT_USAGE, CosactlError

FORMATS = ("table", "json", "asyncapi", "yaml", "ha-discovery", "acl")
ACL_BROKERS = ("mosquitto", "emqx", "hivemq", "nanomq", "rabbitmq", "vernemq")


def render(
    project: Any, fmt: str, broker: str = "mosquitto", *, all_principals: bool = False
) -> tuple[str, Any]:
    """The manifest in *fmt* as text, and the document it renders (the manifest for the table).

    The ACL grants only this bridge's user its topics (least privilege: it is what one bridge's
    deployment installs); *all_principals* adds ``deploy`` (everything) and ``monitor`` (read
    only), as ``python -m cosalette schema acl`` prints them for a whole network.

    The store's path is relative to the project (``Project.manifest``), so a contract file is
    the same on every machine.
    """
    from cosalette.project import build_asyncapi, format_manifest_table, manifest_to_yaml

    if fmt == "ha-discovery":
        entities = _discovery(project)
        return json.dumps(entities, indent=2, ensure_ascii=False) + "\n", entities
    if fmt == "acl":
        from cosalette._schema.acl import render_acl

        document = build_asyncapi(project.app, project.settings)
        text = render_acl(
            document,
            broker,
            discovery_prefix=project.settings.homeassistant.prefix,
            include_admin=all_principals,
        )
        return text + "\n", None
    manifest = project.manifest()
    if fmt == "table":
        return format_manifest_table(manifest) + "\n", manifest
    if fmt == "json":
        return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", manifest
    if fmt == "yaml":
        return manifest_to_yaml(manifest), manifest
    document = build_asyncapi(project.app, project.settings)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n", document


def _discovery(project: Any) -> list[dict[str, Any]]:
    """Exactly the configs a run of the project announces with discovery on."""
    from cosalette._topics import topic_root
    from cosalette._wiring.announce import discovery_entities_for
    from cosalette._wiring.resolve import resolve_registrations
    from cosalette.project import build_asyncapi

    settings = project.settings
    if not settings.homeassistant.discovery:
        click.echo(
            "note: discovery is off; set discovery = true in [homeassistant] (settings.toml) "
            "to announce these configs",
            err=True,
        )
    prefix = topic_root(project.app.name, settings)
    described = project.app.describe(settings)
    regs = resolve_registrations(described.registrations, settings)
    return discovery_entities_for(
        build_asyncapi(project.app, settings),
        regs.commands,
        prefix=prefix,
        ha_prefix=settings.homeassistant.prefix,
        app_version=described.version,
    )


def _read_contract(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CosactlError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}", EXIT_USAGE) from None


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help=(
        "Output format: asyncapi is an AsyncAPI 3.0 document, ha-discovery the Home "
        "Assistant discovery configs a run announces, acl the broker access rules."
    ),
)
@click.option(
    "--broker",
    type=click.Choice(ACL_BROKERS),
    default="mosquitto",
    show_default=True,
    help="ACL file format (with --format acl).",
)
@click.option(
    "--all-principals",
    is_flag=True,
    help=(
        "With --format acl: add the deploy (everything) and monitor (read only) users; "
        "by default only the bridge's own user is granted its topics."
    ),
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout."
)
@click.option(
    "--check",
    "check_file",
    type=click.Path(dir_okay=False, exists=True),
    help="Compare with a committed contract; exit 1 with a diff when they differ.",
)
def manifest(
    fmt: str, broker: str, all_principals: bool, output: str | None, check_file: str | None
) -> None:
    """Show every device with its topics (state, set, availability, error), interval,
    strategy, adapters and dependencies, and where device state is kept ([store]).

    \b
    Examples:
      cosactl manifest
      cosactl manifest --format asyncapi -o asyncapi.json
      cosactl manifest --format ha-discovery     # what Home Assistant is told
      cosactl manifest --format acl --broker mosquitto > bridge.acl
      cosactl manifest --format acl --broker rabbitmq > bridge-permissions.sh
      cosactl manifest --format json --check contract.json   # CI gate
    """
    from cosactl._project import load

    project = load(check=True)
    if check_file is not None:
        _check(project, Path(check_file))
        return
    text, _ = render(project, fmt, broker, all_principals=all_principals)
    if output is None:
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _check(project: Any, path: Path) -> None:
    from cosalette.project import diff_manifests

    expected = _read_contract(path)
    fmt = "asyncapi" if isinstance(expected, dict) and "asyncapi" in expected else "json"
    _, actual = render(project, fmt)
    diff = diff_manifests(expected, actual, str(path), "project")
    if diff:
        click.echo(diff, err=True, nl=not diff.endswith("\n"))
        raise CosactlError(
            f"the project's contract differs from {path}; regenerate it with "
            f"`cosactl manifest --format {fmt} -o {path}` if the change is intended",
            EXIT_CHECK_FAILED,
        )
    click.echo(f"{path}: the project's contract matches", err=True)
