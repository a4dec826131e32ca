#!/usr/bin/env bash
# Set up a venv (.venv), install cosalette with its test extras, lint (ruff, mypy --strict),
# run the whole test suite, then a smoke run of the benchmarks. This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test]"
.venv/bin/python -c "import cosalette.filters as f; print('filters:', f.IMPLEMENTATION)"
echo "== lint: ruff check, ruff format --check, mypy --strict (runtime, cosactl, tests)"
.venv/bin/python -m ruff check runtime cosactl tests
.venv/bin/python -m ruff format --check runtime cosactl tests
.venv/bin/python -m mypy --strict runtime/cosalette cosactl tests
.venv/bin/python -m pytest -q "$@"
echo "== RabbitMQ cluster smoke: 2 nodes on loopback, single-node lifecycle and failover"
echo "   (skipped, with the reason, where RabbitMQ is not installed; tox -e cluster runs it alone)"
COSALETTE_CLUSTER=1 .venv/bin/python -m pytest -q -s tests/cluster
echo "== benchmark smoke run (figures are reported, not asserted)"
COSALETTE_BENCH_SMOKE=1 .venv/bin/python -m pytest -q -s -m bench -o "python_files=bench_*.py" tests/bench
