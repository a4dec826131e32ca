"""Testing kit: run an App without a broker or hardware, and drive its time."""

from cosalette._mqtt.doubles import MockMqttClient, NullMqttClient
from cosalette.testing._clock import FakeClock
from cosalette.testing._harness import AppHarness, settle
from cosalette.testing._project import ProjectHarness
from cosalette.testing._settings import make_settings
from cosalette.testing._streams import StreamHandlerProxy

__all__ = [
    "AppHarness",
    "FakeClock",
    "ProjectHarness",
    "MockMqttClient",
    "NullMqttClient",
    "StreamHandlerProxy",
    "make_settings",
    "settle",
]
