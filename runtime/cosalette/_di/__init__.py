"""Dependency injection: plans built at registration, bound at start-up."""
