"""Public home of the store backends that keep device state across restarts."""

from cosalette._persistence import (
    DeviceStore,
    JsonFileStore,
    MemoryStore,
    NullStore,
    SqliteStore,
    Store,
)

__all__ = ["DeviceStore", "JsonFileStore", "MemoryStore", "NullStore", "SqliteStore", "Store"]
