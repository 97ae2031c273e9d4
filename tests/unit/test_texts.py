"""Tests for tstray.ui.texts: durations, the state in words, and the fix for
each error the session reports."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tstray.session.state import SessionSnapshot, SessionState
from tstray.ui.texts import describe, fix_for, format_duration, tooltip, tr

NOW = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)
TOKEN = "eyJ-secret-access-token-value"

VALID = SessionSnapshot(
    state=SessionState.VALID,
    access_token=TOKEN,
    expires_at=NOW + timedelta(minutes=17, seconds=40),
    account="Demo Trader",
    next_refresh_at=NOW + timedelta(minutes=12),
)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (-5, "0 s"),
        (45, "45 s"),
        (59.9, "59 s"),
        (60, "1 min"),
        (17 * 60 + 59, "17 min"),
        (3599, "59 min"),
        (3600, "1 h"),
        (3900, "1 h 5 min"),
        (24 * 3600 + 60, "24 h 1 min"),
    ],
)
def test_format_duration(seconds: float, words: str) -> None:
    assert format_duration(seconds) == words


def test_tr_without_a_translation_returns_the_text() -> None:
    assert tr("Signed out") == "Signed out"


@pytest.mark.parametrize(
    ("snapshot", "words"),
    [
        (SessionSnapshot(), "Signed out"),
        (VALID, "Signed in as Demo Trader \u2014 token valid for 17 min"),
        (
            replace(VALID, account=None),
            "Signed in \u2014 token valid for 17 min",
        ),
        (
            replace(VALID, state=SessionState.REFRESHING),
            "Signed in as Demo Trader, refreshing the token"
            " \u2014 token valid for 17 min",
        ),
        (
            replace(
                VALID,
                state=SessionState.RETRYING,
                next_refresh_at=NOW + timedelta(seconds=30),
            ),
            "Token refresh failed, retrying in 30 s \u2014 token valid for 17 min",
        ),
        (
            replace(
                VALID,
                state=SessionState.OFFLINE,
                next_refresh_at=NOW + timedelta(minutes=2),
            ),
            "Can't reach TradeStation, retrying in 2 min \u2014 token valid for 17 min",
        ),
        (
            replace(
                VALID,
                state=SessionState.EXPIRED_RETRYING,
                expires_at=NOW - timedelta(seconds=1),
                next_refresh_at=NOW,
            ),
            "Token expired, retrying now \u2014 no token can be handed out",
        ),
        (
            SessionSnapshot(
                state=SessionState.SIGN_IN_NEEDED,
                last_error="TradeStation refused the saved sign-in",
                error_code="invalid_grant",
            ),
            "Sign-in needed: TradeStation refused the saved sign-in",
        ),
    ],
)
def test_describe(snapshot: SessionSnapshot, words: str) -> None:
    assert describe(snapshot, NOW) == words


def test_describe_never_shows_the_token() -> None:
    for state in SessionState:
        assert TOKEN not in describe(replace(VALID, state=state), NOW)
        assert TOKEN not in tooltip(replace(VALID, state=state), NOW)


def test_tooltip_when_signed_in() -> None:
    assert tooltip(VALID, NOW) == (
        "tstray \u2014 Signed in as Demo Trader\nToken valid for 17 min"
    )


def test_tooltip_when_a_sign_in_is_needed() -> None:
    snapshot = SessionSnapshot(
        state=SessionState.SIGN_IN_NEEDED, last_error="the refresh token was revoked"
    )

    first, second = tooltip(snapshot, NOW).split("\n")

    assert first == "tstray \u2014 Sign-in needed: the refresh token was revoked"
    assert second == "Click to sign in again"


def test_tooltip_when_signed_out() -> None:
    assert tooltip(SessionSnapshot(), NOW).startswith("tstray \u2014 Signed out\n")


def test_tooltip_when_the_keyring_could_not_be_read() -> None:
    unread = SessionSnapshot(error_code="keyring_unavailable")

    first, second = tooltip(unread, NOW).split("\n")

    assert first == "tstray \u2014 Keyring locked, stored sign-in not read yet"
    assert second == "Unlock your keyring; tstray tries again every 30 s"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("invalid_grant", "Sign in again"),
        ("access_denied", "Sign in again"),
        ("SignInRequiredError", "Sign in again"),
        ("invalid_client", "API key"),
        ("unauthorized_client", "API key"),
        ("network", "internet connection"),
        ("server_error", "keeps retrying"),
        ("keyring_unavailable", "keyring"),
        ("stored_data_unreadable", "Sign in again"),
        ("something_new", "log folder"),
    ],
)
def test_fix_for(code: str, expected: str) -> None:
    assert expected in fix_for(code)


def test_no_error_needs_no_fix() -> None:
    assert fix_for("") == ""
