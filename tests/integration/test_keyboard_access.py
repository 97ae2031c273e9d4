"""tstray's windows can be used from the keyboard alone, in English and in
Romanian: Tab reaches every field and button, every labelled field has a
mnemonic, no two mnemonics in one view share a letter, Enter has a default
button to press, and no tooltip line is wider than 60 characters.

The windows are the real ones, shown on Qt's offscreen or Xvfb screen, and
Tab is pressed with pytest-qt as a user would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QTabWidget,
    QToolTip,
    QWidget,
    QWizard,
    QWizardPage,
)
from pytestqt.qtbot import QtBot

from tstray.i18n import install_translation
from tstray.session.state import SessionSnapshot, SessionState
from tstray.ui.first_run import FirstRunDialog
from tstray.ui.status_dialog import StatusDialog
from tstray.ui.texts import TOOLTIP_LINE_CHARS
from tstray.ui.tooltips import install_tooltip_wrapper

NOW = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)
MNEMONIC = re.compile(r"(?<!&)&([^&\s])")


def _status() -> QDialog:
    dialog = StatusDialog(lambda: NOW)
    dialog.update(
        SessionSnapshot(
            state=SessionState.SIGN_IN_NEEDED,
            last_error="TradeStation refused the saved sign-in (invalid_grant)",
            error_code="invalid_grant",
            expires_at=NOW - timedelta(minutes=3),
        )
    )
    return dialog


def _windows() -> dict[str, Callable[[], QDialog]]:
    windows: dict[str, Callable[[], QDialog]] = {
        "first run": FirstRunDialog,
        "status": _status,
    }
    try:
        from tstray.ui.setup_wizard import SetupWizard

        windows["setup wizard"] = SetupWizard
    except ImportError:
        pass
    try:
        from tstray.ui.settings_dialog import SettingsDialog, SettingsValues

        windows["settings"] = lambda: SettingsDialog(SettingsValues())
    except ImportError:
        pass
    return windows


@pytest.fixture(params=["en", "ro"])
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    install_translation(request.param)
    yield request.param
    install_translation("en")


def _mnemonic(text: str) -> str | None:
    found = MNEMONIC.search(text)
    return found.group(1).lower() if found else None


def _scope(widget: QWidget, window: QWidget) -> QWidget:
    """The view a widget is seen in: its tab page or wizard page, else the
    window itself."""
    node: QWidget | None = widget
    while node is not None and node is not window:
        parent = node.parentWidget()
        if isinstance(node, QWizardPage):
            return node
        if isinstance(parent, QStackedWidget) and isinstance(
            parent.parentWidget(), QTabWidget
        ):
            return node
        node = parent
    return window


def _mnemonics_by_scope(window: QWidget) -> dict[QWidget, list[tuple[str, str]]]:
    found: dict[QWidget, list[tuple[str, str]]] = {}
    for child in window.findChildren(QWidget):
        if isinstance(child, QAbstractButton) or (
            isinstance(child, QLabel) and child.buddy() is not None
        ):
            text = child.text()
        elif isinstance(child, QGroupBox):
            text = child.title()
        else:
            continue
        letter = _mnemonic(text)
        if letter is not None and child.isVisibleTo(window):
            found.setdefault(_scope(child, window), []).append((letter, text))
    return found


def _tab_stops(window: QWidget) -> list[QWidget]:
    """The widgets a user must be able to reach with Tab in the current view."""
    stops: list[QWidget] = []
    for child in window.findChildren(QWidget):
        if not (child.isVisible() and child.isEnabled()):
            continue
        if not child.focusPolicy() & Qt.FocusPolicy.TabFocus:
            continue
        if isinstance(child, QRadioButton) and not child.isChecked():
            continue  # arrow keys move within a group of radio buttons
        if isinstance(child.parentWidget(), (QAbstractSpinBox, QComboBox)):
            continue  # the spin box or combo box itself takes the focus
        focusable = (QLineEdit, QComboBox, QAbstractSpinBox, QCheckBox, QPushButton)
        if isinstance(child, (*focusable, QRadioButton)):
            stops.append(child)
    return stops


def _press_tab_round(qtbot: QtBot, window: QWidget, stops: int) -> set[QWidget]:
    reached: set[QWidget] = set()
    for _ in range(stops * 2 + 4):
        focused = window.focusWidget()
        if focused is not None:
            reached.add(focused)
        qtbot.keyClick(focused or window, Qt.Key.Key_Tab)
    return reached


@pytest.mark.parametrize("name", sorted(_windows()))
def test_tab_reaches_every_field_and_button(
    qtbot: QtBot, language: str, name: str
) -> None:
    window = _windows()[name]()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()

    views: list[Callable[[], None]] = [lambda: None]
    tabs = window.findChild(QTabWidget)
    if tabs is not None:
        views = [lambda i=i: tabs.setCurrentIndex(i) for i in range(tabs.count())]

    for show_view in views:
        show_view()
        stops = _tab_stops(window)
        first = stops[0] if stops else window
        first.setFocus(Qt.FocusReason.TabFocusReason)
        reached = _press_tab_round(qtbot, window, len(stops))
        missed = [
            f"{type(w).__name__}({getattr(w, 'text', lambda: '')()!r})"
            for w in stops
            if w not in reached
        ]
        assert missed == [], f"{name} ({language}): Tab never reaches {missed}"


@pytest.mark.parametrize("name", sorted(_windows()))
def test_mnemonics_are_there_and_distinct(language: str, name: str) -> None:
    window = _windows()[name]()
    try:
        window.show()
        pages: list[QWidget] = [window]
        if isinstance(window, QWizard):
            pages = [window.page(i) for i in window.pageIds()]

        # Every field with a label can be jumped to with Alt+letter.
        # A field grouping buttons (Live / Simulator, the scopes) is reached
        # through its buttons, which Tab must reach (checked above).
        for label in window.findChildren(QLabel):
            buddy = label.buddy()
            if buddy is None or not label.text():
                continue
            if buddy.focusPolicy() & Qt.FocusPolicy.TabFocus:
                assert _mnemonic(label.text()), f"{name}: no mnemonic: {label.text()}"
            else:
                buttons = buddy.findChildren(QAbstractButton)
                assert buttons, f"{name}: {label.text()} labels nothing usable"
                assert all(
                    b.focusPolicy() & Qt.FocusPolicy.TabFocus for b in buttons
                ), label.text()

        by_scope = _mnemonics_by_scope(window)
        shared = by_scope.get(window, [])
        for scope, letters in by_scope.items():
            if scope is window and len(by_scope) > 1:
                continue
            seen = letters + ([] if scope is window else shared)
            counts = [letter for letter, _ in seen]
            clashes = sorted(text for letter, text in seen if counts.count(letter) > 1)
            assert clashes == [], f"{name} ({language}): same mnemonic: {clashes}"
        assert pages
    finally:
        window.close()
        window.deleteLater()


@pytest.mark.parametrize("name", sorted(_windows()))
def test_enter_has_a_default_button(language: str, name: str) -> None:
    window = _windows()[name]()
    try:
        window.show()
        defaults = [
            button
            for button in window.findChildren(QPushButton)
            if button.isVisible() and (button.isDefault() or button.autoDefault())
        ]
        assert defaults, f"{name}: Enter presses nothing"
    finally:
        window.close()
        window.deleteLater()


@pytest.mark.parametrize("name", sorted(_windows()))
def test_tooltips_fit(qtbot: QtBot, language: str, name: str) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    wrapper = install_tooltip_wrapper(app)
    window = _windows()[name]()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        shown: list[str] = []
        for widget in [window, *window.findChildren(QWidget)]:
            if not widget.toolTip() or not widget.isVisible():
                continue
            # What Qt sends when the mouse rests on the widget.
            event = QHelpEvent(
                QEvent.Type.ToolTip, QPoint(2, 2), widget.mapToGlobal(QPoint(2, 2))
            )
            QApplication.sendEvent(widget, event)
            shown.append(QToolTip.text() or widget.toolTip())
            QToolTip.hideText()

        too_wide = [
            line
            for tip in shown
            for line in tip.splitlines()
            if len(line) > TOOLTIP_LINE_CHARS
        ]
        assert too_wide == [], f"{name} ({language}): {too_wide}"
    finally:
        app.removeEventFilter(wrapper)
        wrapper.deleteLater()


def test_tray_tooltip_fits_even_with_a_long_reason(language: str) -> None:
    from tstray.ui.texts import tooltip

    snapshot = SessionSnapshot(
        state=SessionState.SIGN_IN_NEEDED,
        last_error=(
            "TradeStation refused the saved sign-in (invalid_grant: Unknown or "
            "invalid refresh token.)"
        ),
    )
    lines = tooltip(snapshot, NOW).splitlines()
    assert all(len(line) <= TOOLTIP_LINE_CHARS for line in lines), lines
    assert len(lines) >= 3
