"""Moving through a window with the keyboard, as a user without a mouse does:
which widget has the focus, and Tab until a named one has it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot


def focused() -> QWidget:
    """The widget with the keyboard focus (fails when none has it)."""
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def tab_to(qtbot: QtBot, name: str, limit: int = 20) -> QWidget:
    """Presses Tab until the widget named ``name`` has the focus."""
    for _ in range(limit):
        if focused().objectName() == name:
            return focused()
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    raise AssertionError(f"Tab never reached {name}; stuck at {focused()!r}")
