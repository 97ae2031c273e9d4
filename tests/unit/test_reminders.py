"""Tests for tstray.ui.reminders with an injected clock and time zone: quiet
hours, the warning before a rotating key's 24-hour limit, and the reminder
ahead of market open; and SessionNotices giving them through one timer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal
from pytestqt.qtbot import QtBot

from tstray.config import NotificationSettings, load_config
from tstray.session.state import SessionSnapshot, SessionState
from tstray.ui.notifications import SIGN_IN_NEEDED, Notice, SessionNotices
from tstray.ui.reminders import (
    MARKET_OPEN,
    SIGN_IN_SOON,
    QuietHours,
    ReminderPolicy,
)

# Bucharest in winter: UTC+2, so local 09:30 is 07:30 UTC.
LOCAL = timezone(timedelta(hours=2))
# Wednesday 2025-03-05, 12:00 local.
NOON = datetime(2025, 3, 5, 12, 0, tzinfo=LOCAL)

VALID = SessionSnapshot(
    state=SessionState.VALID,
    access_token="eyJ-secret",
    expires_at=NOON + timedelta(minutes=20),
    account="Demo Trader",
)


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, second, tzinfo=LOCAL)


def policy(**settings: object) -> ReminderPolicy:
    return ReminderPolicy(NotificationSettings(**settings), LOCAL)  # type: ignore[arg-type]  # keyword fields


# --- quiet hours --------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (local(5, 21, 59), False),
        (local(5, 22, 0), True),
        (local(6, 3, 0), True),
        (local(6, 6, 59), True),
        (local(6, 7, 0), False),
        (local(6, 12, 0), False),
    ],
)
def test_quiet_hours_cross_midnight(moment: datetime, quiet: bool) -> None:
    hours = QuietHours(("22:00", "07:00"), LOCAL)
    assert hours.contains(moment) is quiet
    # The same moment given in UTC is judged in local time.
    assert hours.contains(moment.astimezone(UTC)) is quiet


def test_quiet_hours_end_the_next_morning() -> None:
    hours = QuietHours(("22:00", "07:00"), LOCAL)
    assert hours.end_after(local(5, 23, 0)) == local(6, 7, 0)
    assert hours.end_after(local(6, 2, 0)) == local(6, 7, 0)
    assert hours.end_after(local(6, 9, 0)) == local(6, 9, 0)


def test_quiet_hours_hold_everything_but_sign_in_needed() -> None:
    reminders = policy(quiet_hours=("22:00", "07:00"))
    night = local(6, 1, 0)
    assert not reminders.allows("refresh_failing", night)
    assert reminders.allows(SIGN_IN_NEEDED, night, urgent=True)
    assert reminders.allows("refresh_failing", local(6, 8, 0))


def test_notifications_off_hold_everything() -> None:
    reminders = policy(enabled=False, market_open="09:30")
    assert not reminders.allows(SIGN_IN_NEEDED, NOON, urgent=True)
    assert reminders.next_reminder(SessionSnapshot(), NOON) is None


# --- the 24-hour limit ------------------------------------------------------


def test_warning_comes_an_hour_before_the_sign_in_ends() -> None:
    deadline = local(5, 18, 0)
    snapshot = replace(VALID, sign_in_deadline=deadline)
    reminders = policy()

    reminder = reminders.next_reminder(snapshot, NOON)

    assert reminder is not None
    assert reminder.kind == SIGN_IN_SOON
    assert reminder.due_at == local(5, 17, 0)
    assert "18:00" in reminder.message
    assert "1 h" in reminder.message
    assert "Sign in" in reminder.message


def test_warning_is_given_once_per_deadline() -> None:
    snapshot = replace(VALID, sign_in_deadline=local(5, 18, 0))
    reminders = policy()
    at = local(5, 17, 0)
    reminder = reminders.next_reminder(snapshot, at)
    assert reminder is not None and reminder.due_at == at
    reminders.given(reminder)

    assert reminders.next_reminder(snapshot, at) is None
    # A new sign-in starts a new 24 hours, and a new warning.
    renewed = replace(snapshot, sign_in_deadline=local(6, 17, 30))
    again = reminders.next_reminder(renewed, at)
    assert again is not None and again.due_at == local(6, 16, 30)


def test_late_start_warns_at_once_and_says_the_real_time_left() -> None:
    snapshot = replace(VALID, sign_in_deadline=local(5, 12, 20))
    reminder = policy().next_reminder(snapshot, NOON)
    assert reminder is not None
    assert reminder.due_at == NOON
    assert "20 min" in reminder.message


def test_warning_in_quiet_hours_waits_for_the_morning_or_is_dropped() -> None:
    reminders = policy(quiet_hours=("22:00", "07:00"))

    # Ends at 09:00: the 08:00 warning is outside quiet hours.
    morning = replace(VALID, sign_in_deadline=local(6, 9, 0))
    warned = reminders.next_reminder(morning, local(5, 23, 0))
    assert warned is not None and warned.due_at == local(6, 8, 0)

    # Ends at 07:30: the 06:30 warning moves to 07:00, still before the end.
    early = replace(VALID, sign_in_deadline=local(6, 7, 30))
    moved = reminders.next_reminder(early, local(5, 23, 0))
    assert moved is not None and moved.due_at == local(6, 7, 0)

    # Ends at 03:00, inside quiet hours: "sign-in needed" will say it.
    night = replace(VALID, sign_in_deadline=local(6, 3, 0))
    assert reminders.next_reminder(night, local(5, 23, 0)) is None


def test_no_warning_when_off_or_without_a_limit() -> None:
    assert policy().next_reminder(VALID, NOON) is None
    snapshot = replace(VALID, sign_in_deadline=local(5, 18, 0))
    assert policy(sign_in_warning_s=0).next_reminder(snapshot, NOON) is None


# --- market open --------------------------------------------------------------


def test_market_open_reminder_when_the_sign_in_ends_before_the_open() -> None:
    # Signed in at 08:00 yesterday on a rotating key: ends 08:00 today.
    snapshot = replace(VALID, sign_in_deadline=local(6, 8, 0))
    reminders = policy(market_open="09:30", sign_in_warning_s=0)

    reminder = reminders.next_reminder(snapshot, local(5, 20, 0))

    assert reminder is not None
    assert reminder.kind == MARKET_OPEN
    assert reminder.due_at == local(6, 9, 15)
    assert "09:30" in reminder.message


def test_no_market_open_reminder_when_the_session_lasts_past_the_open() -> None:
    snapshot = replace(VALID, sign_in_deadline=local(6, 16, 0))
    reminders = policy(market_open="09:30", sign_in_warning_s=0)
    assert reminders.next_reminder(snapshot, local(5, 20, 0)) is None
    # Non-rotating keys have no limit at all.
    assert reminders.next_reminder(VALID, local(5, 20, 0)) is None


@pytest.mark.parametrize(
    "state", [SessionState.SIGNED_OUT, SessionState.SIGN_IN_NEEDED]
)
def test_market_open_reminder_when_signed_out_or_refused(state: SessionState) -> None:
    reminders = policy(market_open="09:30", reminder_ahead_s=1800)
    reminder = reminders.next_reminder(SessionSnapshot(state=state), local(5, 20, 0))
    assert reminder is not None
    assert reminder.due_at == local(6, 9, 0)


def test_market_open_skips_the_weekend() -> None:
    reminders = policy(market_open="09:30")
    friday_evening = local(7, 18, 0)
    reminder = reminders.next_reminder(SessionSnapshot(), friday_evening)
    assert reminder is not None
    assert reminder.due_at == local(10, 9, 15)  # Monday


def test_market_open_reminder_is_given_once_a_day() -> None:
    reminders = policy(market_open="09:30")
    at = local(6, 9, 15)
    reminder = reminders.next_reminder(SessionSnapshot(), at)
    assert reminder is not None
    reminders.given(reminder)
    assert reminders.next_reminder(SessionSnapshot(), at) is None
    tomorrow = reminders.next_reminder(SessionSnapshot(), local(6, 9, 40))
    assert tomorrow is not None and tomorrow.due_at == local(7, 9, 15)


def test_the_earliest_of_two_reminders_comes_first() -> None:
    snapshot = replace(VALID, sign_in_deadline=local(6, 9, 0))
    reminders = policy(market_open="09:30")
    first = reminders.next_reminder(snapshot, local(5, 20, 0))
    assert first is not None and first.kind == SIGN_IN_SOON
    reminders.given(first)
    second = reminders.next_reminder(snapshot, local(6, 8, 0))
    assert second is not None and second.kind == MARKET_OPEN


# --- SessionNotices with one timer -------------------------------------------


class RecordingNotifier(QObject):
    sign_in_clicked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.notices: list[Notice] = []

    def notify(self, notice: Notice) -> str:
        self.notices.append(notice)
        return "log"


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_session_notices_give_a_reminder_when_its_timer_fires(qtbot: QtBot) -> None:
    clock = MovableClock(local(5, 17, 0))
    notifier = RecordingNotifier()
    reminders = policy()
    notices = SessionNotices(notifier, clock, reminders=reminders)  # type: ignore[arg-type]  # duck-typed notifier

    # Due now: shown at once.
    notices.on_session_changed(replace(VALID, sign_in_deadline=local(5, 18, 0)))
    assert [n.kind for n in notifier.notices] == [SIGN_IN_SOON]

    # Started late in the warning hour: shown at once too.
    clock.now = local(5, 17, 59, 59)
    notices.on_session_changed(replace(VALID, sign_in_deadline=local(5, 18, 0, 1)))
    assert len(notifier.notices) == 2

    # Due in a second: shown when the one timer fires, not before.
    clock.now = local(5, 12, 0)
    notices.on_session_changed(
        replace(VALID, sign_in_deadline=local(5, 12, 0) + timedelta(hours=1, seconds=1))
    )
    assert len(notifier.notices) == 2
    clock.now = local(5, 12, 0, 1)
    qtbot.waitUntil(lambda: len(notifier.notices) == 3, timeout=5000)
    assert notifier.notices[-1].kind == SIGN_IN_SOON


def test_session_notices_hold_back_in_quiet_hours_but_not_sign_in_needed(
    qtbot: QtBot,
) -> None:
    clock = MovableClock(local(6, 2, 0))
    notifier = RecordingNotifier()
    notices = SessionNotices(
        notifier,  # type: ignore[arg-type]  # duck-typed notifier
        clock,
        reminders=policy(quiet_hours=("22:00", "07:00")),
    )

    notices.on_session_changed(VALID)
    notices.on_session_changed(
        SessionSnapshot(
            state=SessionState.SIGN_IN_NEEDED,
            last_error="TradeStation refused the saved sign-in",
            error_code="invalid_grant",
        )
    )

    assert [n.kind for n in notifier.notices] == [SIGN_IN_NEEDED]


# --- the [notifications] and [ui] tables --------------------------------------


def test_config_reads_notifications_and_language(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text(
        "[notifications]\n"
        'quiet_hours = "22:00-07:00"\n'
        'market_open = "09:30"\n'
        "sign_in_warning_s = 1800\n"
        "[ui]\n"
        'language = "ro"\n',
        encoding="utf-8",
    )
    config = load_config(file)
    assert config.problems == ()
    assert config.notifications == NotificationSettings(
        quiet_hours=("22:00", "07:00"), market_open="09:30", sign_in_warning_s=1800
    )
    assert config.ui.language == "ro"


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('quiet_hours = "22-07"', "notifications.quiet_hours"),
        ('quiet_hours = "25:00-07:00"', "notifications.quiet_hours"),
        ('market_open = "9:30"', "notifications.market_open"),
        ("sign_in_warning_s = -1", "notifications.sign_in_warning_s"),
        ("reminder_ahead_s = 5", "notifications.reminder_ahead_s"),
        ('enabled = "yes"', "notifications.enabled"),
    ],
)
def test_config_names_a_wrong_notification_value(
    tmp_path: Path, line: str, key: str
) -> None:
    file = tmp_path / "config.toml"
    file.write_text(f"[notifications]\n{line}\n", encoding="utf-8")
    config = load_config(file)
    assert [problem.key for problem in config.problems] == [key]
    assert config.notifications == NotificationSettings()


def test_config_refuses_an_unknown_language(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text('[ui]\nlanguage = "fr"\n', encoding="utf-8")
    config = load_config(file)
    assert [problem.key for problem in config.problems] == ["ui.language"]
    assert config.ui.language == "system"


# --- the "Sign in" action -----------------------------------------------------


@pytest.mark.parametrize("kind", [SIGN_IN_SOON, MARKET_OPEN, SIGN_IN_NEEDED])
def test_reminders_offer_the_sign_in_action(qtbot: QtBot, kind: str) -> None:
    from tstray.ui.notifications import Notifier, _notify_call

    body = _notify_call(Notice(kind, "title", "message")).body
    actions = body[5]
    assert "sign-in" in actions
    assert "default" in actions

    notifier = Notifier(use_desktop_service=False)
    with qtbot.waitSignal(notifier.sign_in_clicked, timeout=1000):
        notifier.on_desktop_action_invoked(kind, "sign-in")


def test_other_notices_offer_no_sign_in(qtbot: QtBot) -> None:
    from tstray.ui.notifications import RECOVERED, Notifier, _notify_call

    assert _notify_call(Notice(RECOVERED, "title", "message")).body[5] == []
    notifier = Notifier(use_desktop_service=False)
    with qtbot.assertNotEmitted(notifier.sign_in_clicked):
        notifier.on_desktop_action_invoked(RECOVERED, "default")
