"""Tests for tstray.ui.first_run with real Qt widgets (on Xvfb under
tests/with-desktop.sh, offscreen elsewhere), driven by keyboard alone. The
status window's tests live in test_status_window.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
)
from pytestqt.qtbot import QtBot

from tests.helpers.keyboard import focused
from tstray.ui.first_run import API_KEY_PAGE_URL, FirstRunDialog

SECRET = "s3cret-client-value"


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
