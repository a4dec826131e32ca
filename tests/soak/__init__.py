"""The soak test (a package so its conftest.py does not clash with tests/integration's under mypy)."""
