"""Tests for tstray.session.history: which snapshot changes become events,
the 24-hour window and count cap, the spans the timeline draws, and the
file that keeps them across a restart (real files in a temp folder)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tstray.session.history import (
    EventKind,
    HistoryEvent,
    SessionHistory,
    classify,
    clean_error_code,
    periods,
)
from tstray.session.state import SessionSnapshot, SessionState

NOW = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)
TOKEN = "eyJ-secret-access-token-value"
S = SessionState

VALID = SessionSnapshot(
    state=S.VALID,
    access_token=TOKEN,
    expires_at=NOW + timedelta(minutes=20),
    account="Demo Trader",
    last_refresh_at=NOW,
)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def refreshing(snapshot: SessionSnapshot) -> SessionSnapshot:
    return replace(snapshot, state=S.REFRESHING)


def refreshed(snapshot: SessionSnapshot, at: datetime) -> SessionSnapshot:
    return replace(snapshot, state=S.VALID, last_refresh_at=at, error_code="")


@pytest.mark.parametrize(
    ("previous", "current", "kind"),
    [
        (SessionSnapshot(), VALID, EventKind.SIGN_IN),
        (refreshing(VALID), refreshed(VALID, NOW + timedelta(minutes=1)), "refresh"),
        (VALID, refreshing(VALID), None),
        (VALID, SessionSnapshot(), EventKind.SIGN_OUT),
        (SessionSnapshot(), SessionSnapshot(), None),
        (
            refreshing(VALID),
            replace(VALID, state=S.OFFLINE, error_code="network"),
            EventKind.FAILURE,
        ),
        (
            replace(VALID, state=S.OFFLINE, error_code="network"),
            replace(VALID, state=S.OFFLINE, error_code="network"),
            None,
        ),
        (
            refreshing(VALID),
            replace(VALID, state=S.SIGN_IN_NEEDED, error_code="invalid_grant"),
            EventKind.FAILURE,
        ),
        # The keyring could not be read at start.
        (
            SessionSnapshot(),
            SessionSnapshot(error_code="keyring_unavailable"),
            EventKind.FAILURE,
        ),
        # A stored session loaded at start: not a sign-in, a state change.
        (SessionSnapshot(), replace(VALID, last_refresh_at=None), EventKind.STATE),
        # A new sign-in while signed in (no REFRESHING before it).
        (VALID, refreshed(VALID, NOW + timedelta(minutes=5)), EventKind.SIGN_IN),
    ],
)
def test_classify(
    previous: SessionSnapshot, current: SessionSnapshot, kind: EventKind | str | None
) -> None:
    expected = EventKind.REFRESH if kind == "refresh" else kind
    assert classify(previous, current) is expected


def test_clean_error_code_keeps_identifiers_only() -> None:
    assert clean_error_code("invalid_grant") == "invalid_grant"
    assert clean_error_code("") == ""
    assert clean_error_code("token eyJabc leaked here") == "other"
    assert clean_error_code("x" * 41) == "other"


def test_a_night_of_refreshes_is_recorded_and_persisted(tmp_path: Path) -> None:
    clock = Clock()
    file = tmp_path / "history.json"
    history = SessionHistory(file, clock)
    history.record_start(SessionSnapshot())

    history.on_session_changed(VALID)
    snapshot = VALID
    for _ in range(3):
        clock.now += timedelta(minutes=15)
        history.on_session_changed(refreshing(snapshot))
        snapshot = refreshed(snapshot, clock.now)
        history.on_session_changed(snapshot)
    clock.now += timedelta(minutes=1)
    history.on_session_changed(
        replace(refreshing(snapshot), state=S.OFFLINE, error_code="network")
    )
    history.record_stop()

    kinds = [event.kind for event in history.events()]
    assert kinds == [
        EventKind.START,
        EventKind.SIGN_IN,
        EventKind.REFRESH,
        EventKind.REFRESH,
        EventKind.REFRESH,
        EventKind.FAILURE,
        EventKind.STOP,
    ]
    assert history.events()[5].error_code == "network"

    restarted = SessionHistory(file, clock)
    restarted.load()
    assert restarted.events() == history.events()


def test_the_file_holds_no_token_account_or_error_text(tmp_path: Path) -> None:
    file = tmp_path / "history.json"
    history = SessionHistory(file, Clock())
    history.on_session_changed(VALID)
    history.on_session_changed(
        replace(
            VALID,
            state=S.SIGN_IN_NEEDED,
            last_error=f"refused {TOKEN}",
            error_code=f"weird {TOKEN}",
        )
    )

    text = file.read_text(encoding="utf-8")
    assert TOKEN not in text
    assert "Demo Trader" not in text
    assert "refused" not in text
    assert json.loads(text)["events"][-1]["error_code"] == "other"


def test_keeps_24_hours_and_a_count_cap(tmp_path: Path) -> None:
    clock = Clock()
    history = SessionHistory(tmp_path / "h.json", clock, max_events=5)
    history.record_start(SessionSnapshot())
    clock.now += timedelta(hours=24, minutes=1)
    history.on_session_changed(VALID)

    # The start is now older than 24 hours.
    assert [event.kind for event in history.events()] == [EventKind.SIGN_IN]

    for minute in range(10):
        clock.now += timedelta(minutes=1)
        history.on_session_changed(refreshing(VALID))
        history.on_session_changed(
            refreshed(VALID, clock.now + timedelta(seconds=minute))
        )
    assert len(history.events()) == 5
    assert history.events()[-1].at == clock.now


def test_a_damaged_file_starts_empty(tmp_path: Path) -> None:
    file = tmp_path / "history.json"
    for content in ("{not json", '{"version": 9, "events": []}', '{"version": 1}'):
        file.write_text(content, encoding="utf-8")
        history = SessionHistory(file, Clock())
        history.load()
        assert history.events() == []

    file.write_text(
        json.dumps(
            {
                "version": 1,
                "events": [{"at": NOW.isoformat(), "kind": "nope", "state": "valid"}],
            }
        ),
        encoding="utf-8",
    )
    history = SessionHistory(file, Clock())
    history.load()
    assert history.events() == []


def test_an_unwritable_file_does_not_stop_recording(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    history = SessionHistory(blocker / "history.json", Clock())

    history.on_session_changed(VALID)

    assert [event.kind for event in history.events()] == [EventKind.SIGN_IN]


def test_periods_split_the_day_by_state() -> None:
    start, end = NOW - timedelta(hours=24), NOW
    events = [
        HistoryEvent(NOW - timedelta(hours=30), EventKind.START, S.SIGNED_OUT),
        HistoryEvent(NOW - timedelta(hours=20), EventKind.SIGN_IN, S.VALID),
        HistoryEvent(NOW - timedelta(hours=19), EventKind.REFRESH, S.VALID),
        HistoryEvent(
            NOW - timedelta(hours=10), EventKind.FAILURE, S.OFFLINE, "network"
        ),
        HistoryEvent(NOW - timedelta(hours=9), EventKind.REFRESH, S.VALID),
        HistoryEvent(NOW - timedelta(hours=5), EventKind.STOP, S.VALID),
        HistoryEvent(NOW - timedelta(hours=2), EventKind.START, S.VALID),
    ]

    assert periods(events, start, end) == [
        (start, NOW - timedelta(hours=20), S.SIGNED_OUT),
        (NOW - timedelta(hours=20), NOW - timedelta(hours=10), S.VALID),
        (NOW - timedelta(hours=10), NOW - timedelta(hours=9), S.OFFLINE),
        (NOW - timedelta(hours=9), NOW - timedelta(hours=5), S.VALID),
        (NOW - timedelta(hours=5), NOW - timedelta(hours=2), None),
        (NOW - timedelta(hours=2), end, S.VALID),
    ]
    assert periods([], start, end) == [(start, end, None)]
