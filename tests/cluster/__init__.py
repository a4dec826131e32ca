"""Tests against a real RabbitMQ cluster (a package so its conftest.py does not clash under mypy)."""
