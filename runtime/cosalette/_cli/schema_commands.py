"""``python -m cosalette schema …``: AsyncAPI schemas from apps, and what is derived from them.

Only click is imported here; each command imports what it needs (the app, pydantic, PyYAML,
the schema loader) when it runs, so ``schema --help`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

import click

from cosalette._cli import Failure

if TYPE_CHECKING:
    from cosalette._app.app import App

__all__ = ["schema"]

_ENFORCEMENT_SCAFFOLD = {
    "mode": "warn",
    "on_configure": True,
    "on_publish": False,
    "network_level": False,
}
_APP_HELP = "The app: 'module.path:attribute', imported from the current directory."
_PATH = click.Path(exists=True, dir_okay=False)


@click.group(
    short_help="AsyncAPI schemas: export, check, validate; ACL, HA and openHAB configs.",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
def schema() -> None:
    """Export an app's AsyncAPI schema, check an app against one, and derive configs from it.

    Commands that take --app import that module (running its top-level code): only point
    them at code you trust.

    \b
    Examples:
      python -m cosalette schema init --app gas2mqtt.main:app > docs/schema.yaml
      python -m cosalette schema check --app gas2mqtt.main:app --schema docs/schema.yaml
      python -m cosalette schema acl docs/schema.yaml --format emqx
    """


# --------------------------------------------------------------------------- helpers


def _load(path: str) -> dict[str, Any]:
    """The schema document at *path*; a load failure prints the loader's text and exits 1."""
    from cosalette._schema.document import SchemaLoadError, load_schema

    try:
        return load_schema(path)
    except SchemaLoadError as exc:
        raise Failure(exc.render()) from None


def _static_app(spec: str) -> App:
    """The app *spec* names, refused when its names depend on settings."""
    from cosalette._cli.app_spec import load_app, refuse_settings_derived_names

    app = load_app(spec)
    refuse_settings_derived_names(app)
    return app


def _yaml(document: Any) -> str:
    from cosalette._schema.yaml_out import dump_yaml

    return dump_yaml(document)


def _render(
    render: Callable[..., str], choices: Collection[str], chosen: str, *args: Any, **kwargs: Any
) -> str:
    """``render(*args, **kwargs)``; its ValueError exits 1. An unknown *chosen* format is
    reported as the renderer words it ("Unknown format: …"), anything else with ``Error:``."""
    try:
        return render(*args, **kwargs)
    except ValueError as exc:
        raise Failure(str(exc) if chosen not in choices else f"Error: {exc}") from None


# --------------------------------------------------------------------------- from an app


@schema.command(short_help="Print the app's AsyncAPI document as YAML.")
@click.option("--app", "app_spec", required=True, metavar="MOD:ATTR", help=_APP_HELP)
@click.option(
    "--resolve-settings",
    is_flag=True,
    help="Load the app's settings first: on_configure hooks run, callable name=/enabled= "
    "registrations are expanded or left out.",
)
@click.option(
    "--env-file",
    default=".env",
    show_default=True,
    metavar="PATH",
    help="With --resolve-settings: the .env file to read settings from (may be missing).",
)
def dump(app_spec: str, resolve_settings: bool, env_file: str) -> None:
    """Print the app's AsyncAPI 3.0 document as YAML.

    An app whose device names come from settings (a callable name=) needs --resolve-settings.

    \b
    Examples:
      python -m cosalette schema dump --app gas2mqtt.main:app > docs/schema.yaml
      python -m cosalette schema dump --app gas2mqtt.main:app --resolve-settings --env-file prod.env
    """
    if resolve_settings:
        from cosalette._cli.app_spec import build_resolved_asyncapi, load_app

        document = build_resolved_asyncapi(load_app(app_spec), env_file)
    else:
        document = _static_app(app_spec).asyncapi()
    click.echo(_yaml(document))


@schema.command(short_help="Print a starter schema (dump + enforcement block).")
@click.option("--app", "app_spec", required=True, metavar="MOD:ATTR", help=_APP_HELP)
def init(app_spec: str) -> None:
    """Print a starter schema: the app's AsyncAPI YAML plus an x-cosalette-enforcement block
    (mode: warn, on_configure: true, on_publish: false, network_level: false) to edit.

    \b
    Example:
      python -m cosalette schema init --app gas2mqtt.main:app > docs/schema.yaml
    """
    document = _static_app(app_spec).asyncapi()
    click.echo(_yaml({**document, "x-cosalette-enforcement": dict(_ENFORCEMENT_SCAFFOLD)}))


@schema.command(short_help="Check an app against a schema (CI gate).")
@click.option("--app", "app_spec", required=True, metavar="MOD:ATTR", help=_APP_HELP)
@click.option(
    "--schema",
    "schema_path",
    required=True,
    type=_PATH,
    metavar="PATH",
    help="The committed schema the app must match (e.g. docs/schema.yaml).",
)
@click.pass_context
def check(ctx: click.Context, app_spec: str, schema_path: str) -> None:
    """Check that the app registers every device the schema expects (a CI gate).

    Prints one line per device: MISSING and SCOPE VIOLATION fail (exit 1); EXTRA (registered
    but not in the schema, e.g. periodic tasks) only warns. Streams are not compared.

    \b
    Example:
      python -m cosalette schema check --app gas2mqtt.main:app --schema docs/schema.yaml
    """
    from cosalette._schema.check import check_report

    app = _static_app(app_spec)
    regs = app.describe().registrations
    registered = {
        r.name
        for kind in (regs.devices, regs.telemetry, regs.commands, regs.periodic)
        for r in kind
    }
    document = _load(schema_path)
    try:
        text, code = check_report(
            document, schema_path=schema_path, app_name=app.name, registered=registered
        )
    except ValueError as exc:
        raise Failure(f"Error: {exc}") from None
    click.echo(text)
    ctx.exit(code)


# --------------------------------------------------------------------------- from a schema file


@schema.command(short_help="Validate a schema file and summarise it.")
@click.argument("path", type=_PATH)
def validate(path: str) -> None:
    """Load and validate the AsyncAPI schema at PATH; print a summary (title, channels, type).

    \b
    Example:
      python -m cosalette schema validate docs/schema.yaml
    """
    from cosalette._schema.document import validate_summary

    click.echo("\n".join(validate_summary(_load(path))))


@schema.command(name="slice", short_help="Extract one app from a network-level schema.")
@click.option(
    "--network",
    required=True,
    type=_PATH,
    metavar="PATH",
    help="A network-level schema (x-cosalette-enforcement.network_level: true).",
)
@click.option(
    "--app",
    "app_name",
    required=True,
    metavar="NAME",
    help="The app to extract (its x-cosalette-app).",
)
def slice_(network: str, app_name: str) -> None:
    """Print one app's part of a network-level schema as YAML (its channels, no operations).

    \b
    Example:
      python -m cosalette schema slice --network fleet.yaml --app gas2mqtt > gas2mqtt.yaml
    """
    from cosalette._schema.check import slice_app

    document = _load(network)
    try:
        sliced = slice_app(document, app_name)
    except ValueError as exc:
        raise Failure(f"Error: {exc}") from None
    click.echo(_yaml(sliced))


@schema.command(short_help="Print broker ACL rules derived from a schema.")
@click.argument("path")
@click.option(
    "--format",
    "-f",
    "fmt",
    default="mosquitto",
    show_default=True,
    help="Broker: mosquitto, emqx, hivemq, vernemq, nanomq or rabbitmq.",
)
def acl(path: str, fmt: str) -> None:
    """Print broker ACL rules for the apps in the schema at PATH: a deploy user, one user per
    app (its own topics) and a read-only monitor.

    \b
    Examples:
      python -m cosalette schema acl docs/schema.yaml > mosquitto.acl
      python -m cosalette schema acl fleet.yaml -f emqx
    """
    from cosalette._schema.acl import ACL_FORMATS, render_acl

    document = _load(path)
    click.echo(_render(render_acl, ACL_FORMATS, fmt, document, fmt))


@schema.command(name="ha-discovery", short_help="Print Home Assistant discovery configs.")
@click.argument("path")
@click.option(
    "--prefix",
    "-p",
    default="homeassistant",
    show_default=True,
    help="First segment of every discovery topic.",
)
@click.option("--format", "-f", "fmt", default="json", show_default=True, help="json or yaml.")
def ha_discovery(path: str, prefix: str, fmt: str) -> None:
    """Print Home Assistant MQTT discovery messages (topic + config) for every property of the
    schema at PATH that has consumer metadata. Nothing is published.

    \b
    Examples:
      python -m cosalette schema ha-discovery docs/schema.yaml
      python -m cosalette schema ha-discovery docs/schema.yaml -f yaml -p ha
    """
    from cosalette._schema.ha_discovery import HA_FORMATS, discovery_entities, render_entities

    entities = discovery_entities(_load(path), prefix=prefix)
    click.echo(_render(render_entities, HA_FORMATS, fmt, entities, fmt))


@schema.command(short_help="Print openHAB .things/.items definitions.")
@click.argument("path")
@click.option(
    "--broker-uid",
    "-b",
    default="broker",
    show_default=True,
    help="UID of the openHAB MQTT broker Thing the generated Things use.",
)
@click.option(
    "--output",
    "-o",
    default="both",
    show_default=True,
    help="things, items or both.",
)
def openhab(path: str, broker_uid: str, output: str) -> None:
    """Print openHAB .things and/or .items definitions for the consumer properties of the
    schema at PATH.

    \b
    Examples:
      python -m cosalette schema openhab docs/schema.yaml -o things > gas2mqtt.things
      python -m cosalette schema openhab docs/schema.yaml -b mosquitto -o items
    """
    from cosalette._schema.openhab import OPENHAB_OUTPUTS, render_openhab

    document = _load(path)
    text = _render(
        render_openhab, OPENHAB_OUTPUTS, output, document, broker_uid=broker_uid, output=output
    )
    click.echo(text)
