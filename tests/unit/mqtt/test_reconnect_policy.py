"""The reconnect pace: quick while an outage is young, then backing off, jittered."""

from __future__ import annotations

from cosalette._mqtt.reconnect import ReconnectPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_quick_retries_during_the_first_seconds_then_backoff_to_the_cap() -> None:
    clock = Clock()
    policy = ReconnectPolicy(0.5, 8.0, fast_window=15.0, clock=clock)
    quick = []
    while clock.now < 114.0:
        pause = policy.next_pause()
        quick.append(pause)
        clock.now += pause
    assert all(0.4 <= p <= 0.6 for p in quick)  # ±20 % jitter around 0.5 s
    clock.now = 116.0
    later = [policy.next_pause() for _ in range(8)]
    assert 0.4 <= later[0] <= 0.6 and 0.8 <= later[1] <= 1.2 and 1.6 <= later[2] <= 2.4
    assert all(6.4 <= p <= 9.6 for p in later[4:])  # capped at 8 s (± jitter)


def test_a_refused_login_backs_off_from_the_first_attempt() -> None:
    policy = ReconnectPolicy(0.5, 4.0, clock=Clock())
    pauses = [policy.next_pause(refused=True) for _ in range(5)]
    bases = [0.5, 1.0, 2.0, 4.0, 4.0]
    assert all(0.8 * b <= p <= 1.2 * b for p, b in zip(pauses, bases, strict=True))


def test_a_new_session_starts_the_next_outage_fast_again() -> None:
    clock = Clock()
    policy = ReconnectPolicy(0.5, 60.0, fast_window=1.0, clock=clock)
    policy.next_pause()
    clock.now += 5
    assert policy.next_pause() <= 0.6  # first backed-off pause is the base
    assert policy.next_pause() >= 0.8
    policy.connected()
    assert policy.attempts == 0 and policy.outage_seconds == 0.0
    assert policy.next_pause() <= 0.6


def test_jitter_spreads_a_fleet() -> None:
    pauses = {round(ReconnectPolicy(0.5, 60.0).next_pause(), 6) for _ in range(50)}
    assert len(pauses) > 40
