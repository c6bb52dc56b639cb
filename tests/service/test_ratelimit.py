"""The per-session token bucket, driven by an explicit clock (the real bucket, no sleeping)."""

from __future__ import annotations

from tutornb.service.ratelimit import RateLimiter, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    # Given 120 a minute with bursts of 20
    clock = Clock()
    bucket = TokenBucket(120, 20, clock=clock)
    # When 25 messages arrive at once
    allowed = [bucket.try_acquire() for _ in range(25)]
    # Then 20 pass and 5 are refused
    assert allowed.count(True) == 20
    assert allowed[20:] == [False] * 5
    # When half a second passes, one token (2 a second) is back, not more
    clock.now += 0.5
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False
    # When a long pause passes, the bucket is full again but never above the burst
    clock.now += 3600
    assert [bucket.try_acquire() for _ in range(21)].count(True) == 20


def test_limiter_keeps_one_bucket_per_session_and_can_be_disabled() -> None:
    # Given a limiter of 2 at once
    clock = Clock()
    limiter = RateLimiter(60, 2, clock=clock)
    # When one session spends its tokens
    assert [limiter.try_acquire("a") for _ in range(3)] == [True, True, False]
    # Then another session is unaffected
    assert limiter.try_acquire("b") is True
    # And a limiter with rate 0 never refuses
    off = RateLimiter(0, 1, clock=clock)
    assert all(off.try_acquire("a") for _ in range(100))
