"""The project loads: settings.toml parses and every module in devices/, adapters/ and routers/
imports and wires."""

from cosalette.testing import ProjectHarness


def test_project_loads_with_its_app_name(project_harness: ProjectHarness) -> None:
    assert project_harness.app.name == "{{ cookiecutter.project_slug }}"


def test_every_handler_and_adapter_can_be_wired(project_harness: ProjectHarness) -> None:
    """Fails with the file:line of a parameter nothing provides (or a setting that is not
    valid), as `cosactl run` would."""
    project_harness.project.check()
