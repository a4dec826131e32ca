#!/usr/bin/env bash
# Set up a venv with the [dev] extra (cosactl new, add, dev), create a demo project with
# `cosactl new`, add a telemetry device and a command, and run it with `cosactl dev`: a local
# broker is started when none answers on 127.0.0.1:1883 (mosquitto if installed, else cosactl's
# built-in one), the fake adapters are used, every message is shown, and saving a file in the
# project reloads it. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q -e ".[dev]" 2>&1 | { grep -v "^WARNING: Location" || true; }
DEMO=${DEMO_DIR:-$(mktemp -d)/demo2mqtt}
if [ ! -f "$DEMO/settings.toml" ]; then
  .venv/bin/cosactl new "$(basename "$DEMO")" --no-input --directory "$(dirname "$DEMO")" >/dev/null
  .venv/bin/cosactl -C "$DEMO" add telemetry meter --interval "${POLL_INTERVAL:-2}" >/dev/null
  .venv/bin/cosactl -C "$DEMO" add command valve >/dev/null
fi
echo "== project: $DEMO (edit $DEMO/devices/meter.py and save to see it reload)"
exec .venv/bin/cosactl -C "$DEMO" dev "$@"
