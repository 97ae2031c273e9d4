"""Renders the README's pictures of tstray's own windows, in English and in
Romanian: the tray menu (with the icon for each state), the status window
with a day's timeline, the setup wizard and the settings dialog.

The widgets are the real ones, built as the app builds them and fed a made-up
but realistic session (a night with an offline stretch, refreshes every 20
minutes); nothing signs in and no token is real. Output goes to
``docs/screenshots/<name>-<en|ro>.png``.

Run from the repository root, on the test desktop (Xvfb, real fonts):
    tests/with-desktop.sh /tmp/venv/bin/python docs/screenshots/make_ui_screenshots.py
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen"
)

from PySide6.QtCore import QPoint, QRect, Qt  # noqa: E402
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget, QWizard  # noqa: E402

from tstray.i18n import install_translation  # noqa: E402
from tstray.session.history import EventKind, HistoryEvent  # noqa: E402
from tstray.session.state import Health, SessionSnapshot, SessionState  # noqa: E402
from tstray.ui.icons import icon_for  # noqa: E402
from tstray.ui.status_dialog import StatusDialog  # noqa: E402
from tstray.ui.tray import TrayController  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
NOW = datetime.now(UTC).replace(microsecond=0)
TOKEN = "demo-token-not-real"  # noqa: S105  # a placeholder, never shown

VALID = SessionSnapshot(
    state=SessionState.VALID,
    access_token=TOKEN,
    expires_at=NOW + timedelta(minutes=17, seconds=40),
    account="Ana Popescu",
    last_refresh_at=NOW - timedelta(minutes=2),
    next_refresh_at=NOW + timedelta(minutes=12, seconds=40),
    sign_in_deadline=NOW + timedelta(hours=9, minutes=5),
)


def a_day_of_history() -> list[HistoryEvent]:
    """A day: started and signed in, refreshes every 20 minutes, 40 minutes
    offline in the night, a restart in the morning."""
    start = NOW - timedelta(hours=23, minutes=50)
    events = [
        HistoryEvent(start, EventKind.START, SessionState.SIGNED_OUT),
        HistoryEvent(
            start + timedelta(minutes=1), EventKind.SIGN_IN, SessionState.VALID
        ),
    ]
    outage = (NOW - timedelta(hours=14), NOW - timedelta(hours=13, minutes=20))
    restart = NOW - timedelta(hours=6)
    moment = start + timedelta(minutes=21)
    while moment < NOW - timedelta(minutes=2):
        if outage[0] <= moment < outage[1]:
            events.append(
                HistoryEvent(moment, EventKind.FAILURE, SessionState.OFFLINE, "network")
            )
        elif restart <= moment < restart + timedelta(minutes=20):
            events.append(HistoryEvent(moment, EventKind.STOP, SessionState.VALID))
            events.append(
                HistoryEvent(
                    moment + timedelta(minutes=3), EventKind.START, SessionState.VALID
                )
            )
        else:
            events.append(HistoryEvent(moment, EventKind.REFRESH, SessionState.VALID))
        moment += timedelta(minutes=20)
    events.append(
        HistoryEvent(NOW - timedelta(minutes=2), EventKind.REFRESH, SessionState.VALID)
    )
    return events


def save(pixmap: QPixmap, name: str, language: str) -> None:
    path = OUT / f"{name}-{language}.png"
    if not pixmap.save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(f"wrote {path.relative_to(ROOT)} ({pixmap.width()}x{pixmap.height()})")


def grab_window(app: QApplication, window: QWidget) -> QPixmap:
    window.show()
    window.raise_()
    for _ in range(5):
        app.processEvents()
    return window.grab()


def tray_picture(app: QApplication, language: str) -> QPixmap:
    """The menu as it opens under a panel showing the four state icons."""
    tray = TrayController(lambda: NOW)
    tray.update(VALID)
    menu = tray.menu
    tray.on_menu_about_to_show()
    menu.popup(QPoint(40, 60))
    for _ in range(5):
        app.processEvents()
    menu_picture = menu.grab()
    menu.hide()

    scale = menu_picture.devicePixelRatio()
    margin, panel_px, icon_px = 12, 32, 22
    width = max(menu_picture.width() / scale + 2 * margin, 300)
    height = panel_px + margin + menu_picture.height() / scale + margin
    picture = QPixmap(round(width), round(height))
    picture.fill(QColor("#e9ebee"))
    painter = QPainter(picture)
    painter.fillRect(QRect(0, 0, round(width), panel_px), QColor("#2b2f36"))

    # The four states, as the panel would show them.
    x = round(width) - margin - 4 * (icon_px + 8)
    for health in (Health.SIGNED_OUT, Health.OK, Health.DEGRADED, Health.NEEDS_USER):
        icon = icon_for(health).pixmap(icon_px, icon_px)
        painter.drawPixmap(x, (panel_px - icon_px) // 2, icon)
        x += icon_px + 8
    font = QFont(painter.font())
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor("#f0f0f0"))
    painter.drawText(
        QRect(margin, 0, 200, panel_px),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
        "tstray",
    )
    painter.drawPixmap(margin, panel_px + margin, menu_picture)
    painter.end()
    tray.deleteLater()
    return picture


def status_picture(app: QApplication, language: str) -> QPixmap:
    history = a_day_of_history()
    try:
        from tstray.ui.account_actions import environment_words

        environment = environment_words(False, "live")
    except ImportError:
        environment = ""
    dialog = StatusDialog(lambda: NOW, history=lambda: history, environment=environment)
    dialog.update(VALID)
    picture = grab_window(app, dialog)
    dialog.close()
    dialog.deleteLater()
    return picture


def wizard_pictures(app: QApplication, language: str) -> dict[str, QPixmap]:
    try:
        from tstray.ui.setup_wizard import SetupWizard
    except ImportError:
        from tstray.ui.first_run import FirstRunDialog

        dialog = FirstRunDialog()
        picture = grab_window(app, dialog)
        dialog.close()
        return {"first-run": picture}

    wizard = SetupWizard()
    pictures = {"setup-wizard": grab_window(app, wizard)}
    key_fields = [child for child in wizard.findChildren(QWidget) if child.objectName()]
    for field in key_fields:
        if field.objectName() == "client_id" and hasattr(field, "setText"):
            field.setText("Xy7AbCdEfGhIjKlMnOpQrStUvWxYz012")
    if isinstance(wizard, QWizard) and wizard.validateCurrentPage():
        wizard.next()
        pictures["setup-wizard-access"] = grab_window(app, wizard)
    wizard.close()
    wizard.deleteLater()
    return pictures


def settings_picture(app: QApplication, language: str) -> QPixmap | None:
    try:
        from tstray.ui.settings_dialog import SettingsDialog, SettingsValues
    except ImportError:
        return None
    dialog = SettingsDialog(
        SettingsValues(client_id="Xy7AbCdEfGhIjKlMnOpQrStUvWxYz012")
    )
    picture = grab_window(app, dialog)
    dialog.close()
    dialog.deleteLater()
    return picture


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationDisplayName("tstray")
    OUT.mkdir(parents=True, exist_ok=True)

    renderers: list[tuple[str, Callable[[QApplication, str], QPixmap | None]]] = [
        ("tray-menu", tray_picture),
        ("status", status_picture),
        ("settings", settings_picture),
    ]
    for language in ("en", "ro"):
        install_translation(language)
        for name, render in renderers:
            picture = render(app, language)
            if picture is not None:
                save(picture, name, language)
        for name, picture in wizard_pictures(app, language).items():
            save(picture, name, language)
    return 0


if __name__ == "__main__":
    sys.exit(main())
