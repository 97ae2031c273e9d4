"""Tests for tstray.ui.notifications.NotificationPolicy: one notice per change
of state, never a stream, and the "failing" notice only after a long stretch."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tstray.session.state import SessionSnapshot, SessionState
from tstray.ui.notifications import (
    RECOVERED,
    REFRESH_FAILING,
    SIGN_IN_NEEDED,
    Notice,
    NotificationPolicy,
)

T0 = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)
TOKEN = "eyJ-secret-access-token-value"

SIGNED_OUT = SessionSnapshot()
VALID = SessionSnapshot(
    state=SessionState.VALID,
    access_token=TOKEN,
    expires_at=T0 + timedelta(minutes=20),
    account="Demo Trader",
)
RETRYING = replace(
    VALID,
    state=SessionState.RETRYING,
    last_error="the sign-in service is busy (HTTP 503)",
    error_code="server_error",
)
OFFLINE = replace(
    RETRYING,
    state=SessionState.OFFLINE,
    last_error="no answer from signin.tradestation.com",
    error_code="network",
)
EXPIRED = replace(OFFLINE, state=SessionState.EXPIRED_RETRYING)
SIGN_IN_NEEDED_SNAPSHOT = SessionSnapshot(
    state=SessionState.SIGN_IN_NEEDED,
    last_error="TradeStation refused the saved sign-in (invalid_grant)",
    error_code="invalid_grant",
)


class Feed:
    """Feeds snapshots to a policy as the session would, keeping `previous`."""

    def __init__(self, policy: NotificationPolicy) -> None:
        self.policy = policy
        self.previous = SessionSnapshot()
        self.notices: list[Notice] = []

    def change(self, snapshot: SessionSnapshot, at_s: float) -> Notice | None:
        notice = self.policy.decide(
            self.previous, snapshot, T0 + timedelta(seconds=at_s)
        )
        self.previous = snapshot
        if notice is not None:
            self.notices.append(notice)
        return notice

    def tick(self, at_s: float) -> Notice | None:
        notice = self.policy.tick(self.previous, T0 + timedelta(seconds=at_s))
        if notice is not None:
            self.notices.append(notice)
        return notice

    def kinds(self) -> list[str]:
        return [notice.kind for notice in self.notices]


@pytest.fixture
def feed() -> Feed:
    return Feed(NotificationPolicy(failing_after_s=120))


def test_signing_in_brings_no_notice(feed: Feed) -> None:
    feed.change(SIGNED_OUT, 0)
    feed.change(VALID, 1)
    feed.change(replace(VALID, state=SessionState.REFRESHING), 900)
    feed.change(VALID, 901)

    assert feed.kinds() == []


def test_a_short_retry_stretch_brings_no_notice(feed: Feed) -> None:
    feed.change(VALID, 0)
    feed.change(RETRYING, 10)
    feed.tick(25)
    feed.change(RETRYING, 40)
    feed.tick(40)
    feed.change(VALID, 40)
    feed.tick(200)

    assert feed.kinds() == []
    assert feed.policy.next_check_at() is None


def test_a_long_stretch_brings_one_failing_notice_then_one_recovered(
    feed: Feed,
) -> None:
    feed.change(VALID, 0)
    feed.change(RETRYING, 10)
    assert feed.policy.next_check_at() == T0 + timedelta(seconds=130)

    assert feed.tick(129) is None
    failing = feed.tick(140)
    assert failing is not None and failing.kind == REFRESH_FAILING
    assert "2 min" in failing.message
    assert "HTTP 503" in failing.message

    # Time and further snapshots in the same stretch add nothing.
    feed.tick(200)
    feed.change(RETRYING, 250)
    feed.change(OFFLINE, 300)
    feed.tick(600)
    assert feed.policy.next_check_at() is None

    recovered = feed.change(VALID, 610)
    assert recovered is not None and recovered.kind == RECOVERED
    feed.change(VALID, 620)
    feed.change(replace(VALID, state=SessionState.REFRESHING), 630)

    assert feed.kinds() == [REFRESH_FAILING, RECOVERED]


def test_time_alone_makes_the_failing_notice_due(feed: Feed) -> None:
    feed.change(VALID, 0)
    feed.change(RETRYING, 0)

    notice = feed.tick(130)

    assert notice is not None and notice.kind == REFRESH_FAILING
    assert feed.kinds() == [REFRESH_FAILING]


def test_moving_between_degraded_states_keeps_the_stretch(feed: Feed) -> None:
    feed.change(VALID, 0)
    feed.change(RETRYING, 0)
    feed.change(OFFLINE, 60)
    feed.change(EXPIRED, 100)

    notice = feed.change(EXPIRED, 121)

    assert notice is not None and notice.kind == REFRESH_FAILING
    assert "no token" in notice.message


def test_a_blip_without_a_failing_notice_brings_no_recovered(feed: Feed) -> None:
    feed.change(VALID, 0)
    feed.change(RETRYING, 10)
    feed.change(VALID, 100)
    feed.change(RETRYING, 200)
    feed.change(VALID, 300)

    assert feed.kinds() == []


def test_sign_in_needed_repeated_brings_one_notice(feed: Feed) -> None:
    feed.change(VALID, 0)
    for second in range(1, 6):
        feed.change(SIGN_IN_NEEDED_SNAPSHOT, second)
    feed.tick(500)

    assert feed.kinds() == [SIGN_IN_NEEDED]
    notice = feed.notices[0]
    assert "invalid_grant" in notice.message
    assert "Sign in again" in notice.message


def test_sign_in_needed_again_after_leaving_brings_a_new_notice(feed: Feed) -> None:
    feed.change(SIGN_IN_NEEDED_SNAPSHOT, 0)
    feed.change(VALID, 10)
    feed.change(SIGN_IN_NEEDED_SNAPSHOT, 20)

    assert feed.kinds() == [SIGN_IN_NEEDED, SIGN_IN_NEEDED]


def test_sign_in_needed_ends_a_failing_stretch_without_recovered(feed: Feed) -> None:
    feed.change(VALID, 0)
    feed.change(RETRYING, 0)
    feed.tick(130)
    feed.change(SIGN_IN_NEEDED_SNAPSHOT, 200)
    feed.change(VALID, 300)

    assert feed.kinds() == [REFRESH_FAILING, SIGN_IN_NEEDED]


def test_signing_out_clears_the_stretch(feed: Feed) -> None:
    feed.change(VALID, 0)
    feed.change(RETRYING, 0)
    feed.change(SIGNED_OUT, 60)

    assert feed.tick(500) is None
    assert feed.policy.next_check_at() is None
    feed.change(VALID, 600)
    assert feed.kinds() == []


def test_a_rejected_key_says_to_check_the_key(feed: Feed) -> None:
    snapshot = replace(
        SIGN_IN_NEEDED_SNAPSHOT,
        last_error="TradeStation rejected the API key (invalid_client)",
        error_code="invalid_client",
    )

    notice = feed.change(snapshot, 0)

    assert notice is not None
    assert "API key" in notice.message


def test_notices_never_carry_the_token(feed: Feed) -> None:
    feed.change(VALID, 0)
    feed.change(RETRYING, 0)
    feed.tick(130)
    feed.change(VALID, 140)
    feed.change(replace(SIGN_IN_NEEDED_SNAPSHOT, access_token=TOKEN), 150)

    assert len(feed.notices) == 3
    for notice in feed.notices:
        assert TOKEN not in notice.title + notice.message
