"""cosactl: create, run and test cosalette bridge projects."""

__all__ = ["__version__"]

__version__ = "0.1.0"
