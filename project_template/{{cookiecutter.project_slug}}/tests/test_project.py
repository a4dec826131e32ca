"""The project loads: settings.toml parses and every module in devices/, adapters/ and routers/
imports and wires."""

from cosalette.testing import AppHarness


def test_project_loads_with_its_app_name(project_harness: AppHarness) -> None:
    assert project_harness.app.name == "{{ cookiecutter.project_slug }}"
