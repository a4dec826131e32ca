"""The guide's minimal telemetry device: publishes {"impulses": 42} to gas2mqtt/counter/state."""

import cosalette

app = cosalette.App(name="gas2mqtt", version="1.0.0")


@app.telemetry("counter", interval=60)
async def counter() -> dict[str, object]:
    """Read the gas meter impulse count."""
    return {"impulses": 42}


if __name__ == "__main__":
    app.cli()
