"""``cosactl watch``: the live device table of a running bridge, from its production broker."""

from __future__ import annotations

import click

from cosactl._options import settings_sources


def _device(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from cosactl._watch import check_device

    try:
        return check_device(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message (see below).")
@click.option(
    "--device",
    metavar="NAME",
    callback=_device,
    help="Follow one device (and its sub-entities); the app's heartbeat is still shown.",
)
@click.option(
    "--for",
    "duration",
    metavar="SECONDS",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop after SECONDS (exit 0; 1 if the broker never answered).",
)
@click.option("--no-live", is_flag=True, help="Print plain lines instead of the live table.")
@settings_sources
def watch(
    as_json: bool,
    device: str | None,
    duration: float | None,
    no_live: bool,
    settings_file: str | None,
    env_file: str | None,
) -> None:
    """Show what the running bridge publishes, read from the project's broker.

    Connects where `cosactl run` connects (settings.toml, .env and the environment: address,
    TLS, credentials) with a client id of its own, subscribes to <topic root>/# and shows
    cosactl dev's live table: each device's state, its age, errors and availability, and the
    app's heartbeat. Read-only: it never publishes. Without a terminal it prints one line per
    message; connection notices go to stderr. It reconnects when the broker goes away.

    \b
    --json prints one object per message, with the keys
      at        when it arrived (ISO 8601, UTC)
      device    the device, null for the app's own topics and the root device
      kind      state | availability | error | heartbeat | item (a stream's message)
      topic     the MQTT topic
      retained  true for a retained message (the last value, sent on subscribing)
      payload   the payload parsed as JSON when it is JSON, else its text

    \b
    Exit codes: 0 after Ctrl-C, SIGTERM or --for; 1 when --for ends and the broker never
    answered, or the broker refuses the subscription (ACL); 2 usage; 3 the project cannot
    load (settings, TLS files).

    \b
    Examples:
      cosactl watch                              # the live table
      cosactl watch --device counter             # one device
      cosactl watch --json --for 10 | jq .payload
      cosactl watch --settings prod.toml --env-file prod.env
    """
    import asyncio

    from cosactl._errors import EXIT_CHECK_FAILED, EXIT_PROJECT, CosactlError
    from cosactl._watch import load_target, make_watch_view, watch as run_watch
    from cosactl.devserver.follow import SubscriptionRefused

    target = load_target(settings_file, env_file)
    view = make_watch_view(target, as_json=as_json, live=not no_live, only=device)
    try:
        connected = asyncio.run(run_watch(target, view, duration=duration))
    except ValueError as exc:  # unreadable TLS files: the message names the setting
        raise CosactlError(f"cosactl watch: {exc}", EXIT_PROJECT) from None
    except SubscriptionRefused as exc:
        user = f"user {target.mqtt.username!r}" if target.mqtt.username else "anonymous clients"
        raise CosactlError(
            f"cosactl watch: {exc}; the broker's ACL must let {user} read {exc.topic}",
            EXIT_CHECK_FAILED,
        ) from None
    if duration is not None and not connected:
        raise CosactlError(
            f"cosactl watch: no MQTT broker answered at {target.brokers} within {duration:g} s; "
            f"{target.address_hint()}",
            EXIT_CHECK_FAILED,
        )
