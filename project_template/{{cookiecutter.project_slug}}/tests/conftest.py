"""Shared test setup for {{ cookiecutter.project_slug }}.

The cosalette pytest plugin provides the fixtures, so nothing is needed here:
  project_harness   an AppHarness over this project (settings.toml, devices/, adapters/,
                    routers/) with the fake adapters, a MockMqttClient, a FakeClock and
                    a MemoryStore instead of [store] (project_harness.store._data)
  fake_clock, mock_mqtt, app_harness
`async def` tests run without extra plugins.
"""
