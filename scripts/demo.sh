#!/usr/bin/env bash
# Set up a venv, create a demo project with `cosactl new`, add a telemetry device and a command,
# start a local mosquitto on 127.0.0.1:1883 when nothing listens there, and run the project with
# its fake adapters; every MQTT message it publishes is printed. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q -e . 2>&1 | { grep -v "^WARNING: Location" || true; }
PORT=${MQTT_PORT:-1883}
DEMO=${DEMO_DIR:-$(mktemp -d)/demo2mqtt}
if [ ! -f "$DEMO/settings.toml" ]; then
  .venv/bin/cosactl new "$(basename "$DEMO")" --no-input --directory "$(dirname "$DEMO")" >/dev/null
  .venv/bin/cosactl -C "$DEMO" add telemetry meter --interval "${POLL_INTERVAL:-2}" >/dev/null
  .venv/bin/cosactl -C "$DEMO" add command valve >/dev/null
fi
echo "== project: $DEMO"
.venv/bin/cosactl -C "$DEMO" manifest
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
if ! .venv/bin/python -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('127.0.0.1', $PORT)))"; then
  MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
  if [ ! -x "$MOSQUITTO" ]; then
    echo "mosquitto is not installed: apt-get install -y mosquitto (or set MQTT_PORT to a running broker)" >&2
    exit 1
  fi
  conf=$(mktemp)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n' "$PORT" > "$conf"
  "$MOSQUITTO" -c "$conf" & pids+=($!)
  echo "== started mosquitto on 127.0.0.1:$PORT"
fi
APP=$(basename "$DEMO")
.venv/bin/python scripts/watch.py --port "$PORT" "$APP/#" & pids+=($!)
echo "== $APP runs with fake adapters; try: mosquitto_pub -p $PORT -t $APP/valve/set -m on"
ENV_PREFIX=$(echo "$APP" | tr '[:lower:]' '[:upper:]')
env "${ENV_PREFIX}_MQTT__HOST=127.0.0.1" "${ENV_PREFIX}_MQTT__PORT=$PORT" \
  .venv/bin/cosactl -C "$DEMO" run --dry-run
