"""Public home of the publish strategies that decide which telemetry results are sent."""

from cosalette._strategies import AllStrategy, AnyStrategy, Every, OnChange, PublishStrategy

__all__ = ["AllStrategy", "AnyStrategy", "Every", "OnChange", "PublishStrategy"]
