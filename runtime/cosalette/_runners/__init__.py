"""The loops that run registered handlers."""
