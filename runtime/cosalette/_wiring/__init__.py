"""Start-up: deferred values resolved, dependencies bound, tasks started and stopped."""
