"""The local token service's log throttling and key-guessing brake, on a
hand-moved monotonic clock."""

from __future__ import annotations

import logging

import pytest

from tstray.server.api import BadKeyThrottle, RejectionLog, iso_utc


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ten_bad_keys_in_ten_seconds_are_not_slowed() -> None:
    ticks = Ticks()
    throttle = BadKeyThrottle(monotonic=ticks)

    delays = []
    for _ in range(10):
        delays.append(throttle.delay_after_failure_s())
        ticks.now += 0.5

    assert delays == [0.0] * 10


def test_more_are_slowed_more_and_more_up_to_one_second() -> None:
    ticks = Ticks()
    throttle = BadKeyThrottle(monotonic=ticks)
    for _ in range(10):
        throttle.delay_after_failure_s()

    delays = [throttle.delay_after_failure_s() for _ in range(30)]

    assert delays[0] > 0
    assert delays == sorted(delays)
    assert max(delays) == 1.0


def test_the_brake_lets_go_once_the_guessing_stops() -> None:
    ticks = Ticks()
    throttle = BadKeyThrottle(monotonic=ticks)
    for _ in range(50):
        throttle.delay_after_failure_s()

    ticks.now += 10.5

    assert throttle.delay_after_failure_s() == 0.0


def test_a_flood_of_guesses_keeps_bounded_memory() -> None:
    throttle = BadKeyThrottle(monotonic=Ticks())
    for _ in range(100_000):
        throttle.delay_after_failure_s()

    assert len(throttle._failures) <= 4 * 10 + 64


def test_one_warning_a_minute_per_category(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="tstray.server.api")
    ticks = Ticks()
    rejections = RejectionLog(monotonic=ticks)

    for _ in range(5):
        rejections.note("invalid_host", "GET from 127.0.0.1:5000")
    rejections.note("unauthorized", "GET from 127.0.0.1:5001")
    ticks.now += 61
    rejections.note("invalid_host", "GET from 127.0.0.1:5002")

    levels = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in levels] == [
        "WARNING",
        "DEBUG",
        "DEBUG",
        "DEBUG",
        "DEBUG",
        "WARNING",
        "WARNING",
    ]
    assert "refused 5 requests (invalid_host)" in levels[-1][1]


def test_times_are_utc_with_z_and_cut_to_the_second() -> None:
    from datetime import datetime, timedelta, timezone

    eastern = timezone(timedelta(hours=-5))
    moment = datetime(2030, 1, 1, 7, 0, 59, 999_999, tzinfo=eastern)

    assert iso_utc(moment) == "2030-01-01T12:00:59Z"
    assert iso_utc(None) is None
