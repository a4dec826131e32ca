"""CircuitBreaker: skip a failing handler after N bad cycles, then probe until it recovers."""

from __future__ import annotations

import pytest

from cosalette import CircuitBreaker


def open_breaker(threshold: int = 3) -> CircuitBreaker:
    breaker = CircuitBreaker(threshold=threshold)
    for _ in range(threshold):
        breaker.record_failure()
    return breaker


def test_starts_closed_and_always_attempts() -> None:
    breaker = CircuitBreaker()
    assert breaker.state == "closed"
    assert all(breaker.should_attempt() for _ in range(10))


def test_opens_after_threshold_consecutive_failures() -> None:
    breaker = CircuitBreaker(threshold=3)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(threshold=2)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_open_skips_one_cycle_then_probes() -> None:
    breaker = open_breaker()
    assert breaker.should_attempt() is False
    assert breaker.state == "half-open"
    assert breaker.should_attempt() is True


def test_successful_probe_closes() -> None:
    breaker = open_breaker()
    breaker.should_attempt()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.should_attempt()


def test_failed_probe_reopens() -> None:
    breaker = open_breaker()
    breaker.should_attempt()
    assert breaker.should_attempt()
    breaker.record_failure()
    assert breaker.state == "open"
    assert breaker.should_attempt() is False


def test_default_threshold_is_five() -> None:
    breaker = CircuitBreaker()
    for _ in range(4):
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"


@pytest.mark.parametrize("threshold", [0, -1, 1.5, True, "3"])
def test_threshold_must_be_a_positive_int(threshold: object) -> None:
    with pytest.raises(ValueError, match="threshold"):
        CircuitBreaker(threshold=threshold)  # type: ignore[arg-type]
