"""Keeps every tooltip narrow enough to read: a plain-text tooltip line
longer than ``TOOLTIP_LINE_CHARS`` is wrapped at word boundaries when Qt is
about to show it.

Qt shows a plain-text tooltip on one line however long it is, so a sentence
of help runs across the screen. ``TooltipWrapper`` is one application-wide
event filter, installed once in ``app.py``, so no widget has to remember to
wrap its own tooltip. It only changes how a tooltip is laid out, never its
words, and it leaves rich-text tooltips (which Qt wraps itself) alone.
"""

from __future__ import annotations

import textwrap

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip, QWidget

from tstray.ui.texts import TOOLTIP_LINE_CHARS


def fit_tooltip(text: str, width: int = TOOLTIP_LINE_CHARS) -> str:
    """``text`` with every line wrapped to at most ``width`` characters."""
    # Imported here: the Qt namespace costs 17 ms to load, and no tooltip
    # shows during start-up.
    from PySide6.QtGui import Qt

    if Qt.mightBeRichText(text):
        return text
    return "\n".join(
        textwrap.fill(line, width, break_on_hyphens=False) if line else line
        for line in text.split("\n")
    )


class TooltipWrapper(QObject):
    """Wraps over-long plain-text tooltips as they are shown."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() is not QEvent.Type.ToolTip:
            return False
        if not isinstance(watched, QWidget) or not isinstance(event, QHelpEvent):
            return False
        text = watched.toolTip()
        fitted = fit_tooltip(text)
        if not text or fitted == text:
            return False

        QToolTip.showText(event.globalPos(), fitted, watched)
        return True


def install_tooltip_wrapper(app: QApplication) -> TooltipWrapper:
    """Installs the wrapper on ``app``; keep the returned object alive."""
    wrapper = TooltipWrapper(app)
    app.installEventFilter(wrapper)
    return wrapper
