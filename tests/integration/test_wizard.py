"""Tests for the first-run wizard (tstray.ui.setup_wizard) with real Qt
widgets, driven by the keyboard alone: typing, Tab, arrows, Space and Enter
take a user from the first page to "Sign in to test".

Set TSTRAY_SCREENSHOTS=1 to also save /tmp/tstray-wizard-<page>.png.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QWizard
from pytestqt.qtbot import QtBot

from tests.helpers.keyboard import focused, tab_to
from tstray.config import DEFAULT_SCOPES
from tstray.ui.settings_dialog import SettingsValues
from tstray.ui.setup_wizard import API_KEY_PAGE_URL, SetupWizard

SECRET = "s3cret-client-value-Wz55"


def screenshot(wizard: SetupWizard, page: int) -> None:
    image = wizard.grab().toImage()
    assert not image.isNull()
    if os.environ.get("TSTRAY_SCREENSHOTS"):
        image.save(str(Path(tempfile.gettempdir()) / f"tstray-wizard-{page}.png"))


@pytest.fixture
def wizard(qtbot: QtBot) -> Iterator[SetupWizard]:
    window = SetupWizard()
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    client_id = window.findChild(QLineEdit, "client_id")
    client_id.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is client_id)
    yield window


def test_wizard_by_keyboard_only(qtbot: QtBot, wizard: SetupWizard) -> None:
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    assert not next_button.isEnabled()
    screenshot(wizard, 1)

    qtbot.keyClicks(focused(), "  my-api-key ")
    assert next_button.isEnabled()
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused().objectName() == "client_secret"
    qtbot.keyClicks(focused(), SECRET)
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused().objectName() == "pkce"
    qtbot.keyClick(focused(), Qt.Key.Key_Space)

    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: wizard.currentId() == 1, timeout=2000)
    screenshot(wizard, 2)

    tab_to(qtbot, "redirect_uri")
    qtbot.keyClick(focused(), Qt.Key.Key_Up)
    tab_to(qtbot, "environment_live")
    qtbot.keyClick(focused(), Qt.Key.Key_Down)
    tab_to(qtbot, "scope_MarketData")
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    tab_to(qtbot, "scope_OptionSpreads")
    qtbot.keyClick(focused(), Qt.Key.Key_Space)

    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: wizard.currentId() == 2, timeout=2000)
    screenshot(wizard, 3)
    tab_to(qtbot, "start_at_login")
    qtbot.keyClick(focused(), Qt.Key.Key_Space)

    with qtbot.waitSignal(wizard.setup_completed, timeout=2000) as completed:
        qtbot.keyClick(focused(), Qt.Key.Key_Return)

    values = completed.args[0]
    assert isinstance(values, SettingsValues)
    assert values.client_id == "my-api-key"
    assert values.client_secret == SECRET
    assert values.pkce is False
    assert values.redirect_uri == "http://localhost:8080"
    assert values.environment == "sim"
    assert "MarketData" not in values.scopes
    assert "OptionSpreads" in values.scopes
    assert values.scopes[:2] == ("openid", "offline_access")
    assert values.start_at_login is True
    assert not wizard.isVisible()


def test_wizard_starts_from_the_current_settings(qtbot: QtBot) -> None:
    window = SetupWizard(
        SettingsValues(client_id="kept-key", scopes=DEFAULT_SCOPES, environment="sim")
    )
    qtbot.addWidget(window)

    values = window.values()
    assert values.client_id == "kept-key"
    assert values.environment == "sim"
    assert set(values.scopes) == set(DEFAULT_SCOPES)


def test_wizard_enter_without_a_key_stays(qtbot: QtBot, wizard: SetupWizard) -> None:
    qtbot.keyClicks(focused(), "   ")

    with qtbot.assertNotEmitted(wizard.setup_completed, wait=200):
        qtbot.keyClick(focused(), Qt.Key.Key_Return)
    assert wizard.currentId() == 0


def test_wizard_escape_cancels(qtbot: QtBot, wizard: SetupWizard) -> None:
    qtbot.keyClicks(focused(), "half-typed")

    with (
        qtbot.assertNotEmitted(wizard.setup_completed, wait=200),
        qtbot.waitSignal(wizard.rejected, timeout=2000),
    ):
        qtbot.keyClick(focused(), Qt.Key.Key_Escape)


def test_wizard_secret_is_hidden_and_the_key_page_is_plain_text(
    wizard: SetupWizard,
) -> None:
    secret = wizard.findChild(QLineEdit, "client_secret")
    assert secret.echoMode() is QLineEdit.EchoMode.Password
    assert "PKCE" in secret.placeholderText()

    link = wizard.findChild(QLabel, "api_key_page")
    assert API_KEY_PAGE_URL in link.text()
    assert link.textFormat() is Qt.TextFormat.PlainText
    assert not link.openExternalLinks()
