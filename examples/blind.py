"""ADR-010: a command & control device, a @app.command valve, and a manual telemetry loop."""

from __future__ import annotations

import cosalette
from cosalette import DeviceContext

app = cosalette.App(name="velux2mqtt", version="1.0.0")


@app.device("blind")
async def blind(ctx: DeviceContext) -> None:
    position = 0

    @ctx.on_command
    async def handle(payload: str) -> None:
        nonlocal position
        position = max(0, min(100, int(payload)))
        await ctx.publish_state({"position": position})

    await ctx.publish_state({"position": None, "moving": False})
    while not ctx.shutdown_requested:
        await ctx.sleep(3600)


@app.command("valve")
async def handle_valve(topic: str, payload: str, ctx: cosalette.DeviceContext) -> dict[str, object]:
    return {"state": payload}


@app.device("counter")
async def counter(ctx: DeviceContext) -> None:
    count = 0
    while not ctx.shutdown_requested:
        count += 1
        if count % 2 == 0:
            await ctx.publish_state({"count": count, "trigger": "CLOSED"})
        await ctx.sleep(1.0)


if __name__ == "__main__":
    app.cli()
