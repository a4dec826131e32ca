"""cosalette: decorated functions become IoT-to-MQTT bridge daemons."""
__version__ = "0.1.0"
