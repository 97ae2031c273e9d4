"""Tests for tstray.ui.first_run and tstray.ui.status_dialog with real Qt
widgets (on Xvfb under tests/with-desktop.sh, offscreen elsewhere): the
first-run window is driven by keyboard alone, the status window is read back
as text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tstray.session.state import SessionSnapshot, SessionState
from tstray.ui.first_run import API_KEY_PAGE_URL, FirstRunDialog
from tstray.ui.status_dialog import StatusDialog

NOW = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)
TOKEN = "eyJ-secret-access-token-value"
SECRET = "s3cret-client-value"

VALID = SessionSnapshot(
    state=SessionState.VALID,
    access_token=TOKEN,
    expires_at=NOW + timedelta(minutes=17, seconds=30),
    account="Demo Trader",
    next_refresh_at=NOW + timedelta(minutes=12, seconds=30),
)
SIGN_IN_NEEDED = SessionSnapshot(
    state=SessionState.SIGN_IN_NEEDED,
    account="Demo Trader",
    last_error="TradeStation refused the saved sign-in (invalid_grant)",
    error_code="invalid_grant",
)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


@pytest.fixture
def first_run(qtbot: QtBot) -> Iterator[FirstRunDialog]:
    dialog = FirstRunDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitExposed(dialog)
    client_id = dialog.findChild(QLineEdit, "client_id")
    qtbot.waitUntil(lambda: QApplication.focusWidget() is client_id)
    yield dialog


def ok_button(dialog: FirstRunDialog) -> QPushButton:
    box = dialog.findChild(QDialogButtonBox)
    return box.button(QDialogButtonBox.StandardButton.Ok)


def test_first_run_by_keyboard_only(qtbot: QtBot, first_run: FirstRunDialog) -> None:
    assert not ok_button(first_run).isEnabled()

    qtbot.keyClicks(focused(), "  my-api-key ")
    assert ok_button(first_run).isEnabled()
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused().objectName() == "client_secret"
    qtbot.keyClicks(focused(), SECRET)

    with qtbot.waitSignal(first_run.accepted, timeout=2000):
        qtbot.keyClick(focused(), Qt.Key.Key_Return)

    assert first_run.values() == ("my-api-key", SECRET)


def test_first_run_secret_is_optional_and_hidden(
    qtbot: QtBot, first_run: FirstRunDialog
) -> None:
    secret = first_run.findChild(QLineEdit, "client_secret")
    assert secret.echoMode() is QLineEdit.EchoMode.Password
    assert "PKCE" in secret.placeholderText()

    qtbot.keyClicks(focused(), "key-only")
    with qtbot.waitSignal(first_run.accepted, timeout=2000):
        qtbot.keyClick(focused(), Qt.Key.Key_Enter)

    assert first_run.values() == ("key-only", "")


def test_first_run_enter_without_a_key_does_nothing(
    qtbot: QtBot, first_run: FirstRunDialog
) -> None:
    qtbot.keyClicks(focused(), "   ")

    with qtbot.assertNotEmitted(first_run.accepted, wait=200):
        qtbot.keyClick(focused(), Qt.Key.Key_Return)
    assert first_run.isVisible()


def test_first_run_escape_cancels(qtbot: QtBot, first_run: FirstRunDialog) -> None:
    qtbot.keyClicks(focused(), "half-typed")

    with qtbot.waitSignal(first_run.rejected, timeout=2000):
        qtbot.keyClick(focused(), Qt.Key.Key_Escape)


def test_first_run_shows_the_api_key_page_as_plain_text(
    first_run: FirstRunDialog,
) -> None:
    labels = [label for label in first_run.findChildren(QLabel) if label.text()]
    link = next(label for label in labels if API_KEY_PAGE_URL in label.text())

    assert link.textFormat() is Qt.TextFormat.PlainText
    assert not link.openExternalLinks()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def status(qtbot: QtBot, clock: Clock) -> StatusDialog:
    dialog = StatusDialog(clock)
    qtbot.addWidget(dialog)
    return dialog


def buttons(dialog: StatusDialog) -> dict[str, QPushButton]:
    return {b.text().replace("&", ""): b for b in dialog.findChildren(QPushButton)}


def test_status_when_signed_in(status: StatusDialog) -> None:
    status.update(VALID)

    local_time = VALID.next_refresh_at.astimezone().strftime("%H:%M")  # type: ignore[union-attr]
    assert status.texts() == {
        "state": "Signed in as Demo Trader",
        "account": "Demo Trader",
        "time_left": "Token valid for 17 min",
        "next_refresh": f"in 12 min ({local_time})",
    }
    assert buttons(status)["Copy token"].isEnabled()
    assert "Sign in again" in buttons(status)


def test_status_when_a_sign_in_is_needed(status: StatusDialog) -> None:
    status.update(SIGN_IN_NEEDED)

    assert status.texts() == {
        "state": "Sign-in needed",
        "account": "Demo Trader",
        "time_left": "No token held",
        "last_error": "TradeStation refused the saved sign-in (invalid_grant)",
        "fix": "Choose \u201cSign in again\u2026\u201d in the tray menu.",
    }
    assert not buttons(status)["Copy token"].isEnabled()
    assert buttons(status)["Sign in again"].isDefault()


def test_status_when_offline_says_what_to_do(status: StatusDialog) -> None:
    status.update(
        replace(
            VALID,
            state=SessionState.OFFLINE,
            last_error="no answer from the sign-in service",
            error_code="network",
            next_refresh_at=NOW + timedelta(seconds=40),
        )
    )

    texts = status.texts()
    assert texts["state"] == "Can't reach TradeStation, retrying in 40 s"
    assert "internet connection" in texts["fix"]
    assert texts["time_left"] == "Token valid for 17 min"


def test_status_when_signed_out(status: StatusDialog) -> None:
    status.update(SessionSnapshot())

    assert status.texts() == {"state": "Signed out", "time_left": "No token held"}
    assert "Sign in" in buttons(status)


def test_status_never_shows_the_token(status: StatusDialog) -> None:
    for snapshot in (
        VALID,
        SIGN_IN_NEEDED,
        replace(VALID, state=SessionState.RETRYING),
    ):
        status.update(snapshot)
        for label in status.findChildren(QLabel):
            assert TOKEN not in label.text()


def test_status_counts_down_while_open(
    qtbot: QtBot, status: StatusDialog, clock: Clock
) -> None:
    status.update(VALID)
    assert not status.tick_timer_active

    status.show()
    qtbot.waitExposed(status)
    assert status.tick_timer_active
    clock.now += timedelta(minutes=3)

    # No new snapshot: the dialog's own timer must bring the new time.
    qtbot.waitUntil(
        lambda: status.texts()["time_left"] == "Token valid for 14 min", timeout=5000
    )

    status.hide()
    assert not status.tick_timer_active


def test_status_buttons_emit_their_signals(qtbot: QtBot, status: StatusDialog) -> None:
    status.update(VALID)
    status.show()
    qtbot.waitExposed(status)
    by_text = buttons(status)

    for text, signal in (
        ("Sign in again", status.sign_in_requested),
        ("Copy token", status.copy_token_requested),
        ("Open log folder", status.open_log_folder_requested),
    ):
        with qtbot.waitSignal(signal, timeout=1000):
            qtbot.mouseClick(by_text[text], Qt.MouseButton.LeftButton)
