#!/usr/bin/env bash
# Set up a venv, start a local mosquitto on 127.0.0.1:1883 when nothing listens there,
# and run the gas2mqtt example with its fake meter; every MQTT message is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q -e . >/dev/null
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "mosquitto is not installed: apt-get install -y mosquitto (or point MQTT__HOST at a broker)" >&2
  exit 1
fi
PORT=${MQTT_PORT:-1883}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
if ! .venv/bin/python -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('127.0.0.1', $PORT)))"; then
  conf=$(mktemp)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n' "$PORT" > "$conf"
  "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$conf" & pids+=($!)
  echo "== started mosquitto on 127.0.0.1:$PORT"
fi
.venv/bin/python scripts/watch.py --port "$PORT" "gas2mqtt/#" & pids+=($!)
echo "== gas2mqtt publishes every 2 s; Ctrl-C stops it"
GAS2MQTT_MQTT__PORT=$PORT GAS2MQTT_POLL_INTERVAL=${POLL_INTERVAL:-2} \
  .venv/bin/python examples/gas2mqtt.py --dry-run --log-format text
