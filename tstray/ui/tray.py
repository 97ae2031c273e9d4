"""The tray icon and its menu: shows the session's health and passes the
user's clicks on as signals.

``TrayController`` is told about the session with ``update(snapshot)`` and
answers with signals; it owns no logic about tokens and never reads or shows
one (the "Copy access token" item only asks for it). The tooltip's time left
is refreshed by one timer that runs only while a token is held and the icon
is visible, and fires when the shown minute changes: no polling.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from tstray.session.state import Health, SessionSnapshot, SessionState
from tstray.ui.icons import icon_for
from tstray.ui.texts import tooltip, tr

log = logging.getLogger(__name__)

# Lands the tooltip refresh just after the shown minute has changed.
_TICK_SLACK_S = 0.25
# In the token's last minute the tooltip counts seconds down in steps this big.
_LAST_MINUTE_STEP_S = 15.0


class TrayController(QObject):
    """Owns the tray icon and its menu.

    Signals:
        sign_in_requested: the user chose "Sign in…" / "Sign in again…", or
            clicked the icon while not signed in.
        browser_sign_in_requested: the user chose "Sign in with my
            browser…".
        copy_token_requested: the user chose "Copy access token".
        status_requested: the user chose "Status…", clicked the icon while
            signed in, or double-clicked it.
        settings_requested: the user chose "Settings…".
        sign_out_requested: the user chose "Sign out".
        revoke_requested: the user chose "Revoke at TradeStation…".
        quit_requested: the user chose "Quit".
    """

    sign_in_requested = Signal()
    browser_sign_in_requested = Signal()
    copy_token_requested = Signal()
    status_requested = Signal()
    settings_requested = Signal()
    sign_out_requested = Signal()
    revoke_requested = Signal()
    quit_requested = Signal()

    def __init__(
        self, clock: Callable[[], datetime], parent: QObject | None = None
    ) -> None:
        """Builds the icon and menu for a signed-out session; call ``show()``.

        Args:
            clock: returns the current time (UTC), used for the time left.
            parent: the owning QObject, if any.
        """
        super().__init__(parent)
        self._clock = clock
        self._snapshot = SessionSnapshot()

        self._menu = QMenu()
        self._sign_in_action = self._add_action(self.sign_in_requested)
        self._browser_sign_in_action = self._add_action(self.browser_sign_in_requested)
        self._browser_sign_in_action.setText(tr("Sign in with my browser\u2026"))
        self._copy_action = self._add_action(self.copy_token_requested)
        self._status_action = self._add_action(self.status_requested)
        self._settings_action = self._add_action(self.settings_requested)
        self._settings_action.setText(tr("Settings\u2026"))
        self._menu.addSeparator()
        self._sign_out_action = self._add_action(self.sign_out_requested)
        self._revoke_action = self._add_action(self.revoke_requested)
        self._revoke_action.setText(tr("Revoke at TradeStation\u2026"))
        self._quit_action = self._add_action(self.quit_requested)
        self._copy_action.setText(tr("Copy access token"))
        self._status_action.setText(tr("Status\u2026"))
        self._sign_out_action.setText(tr("Sign out"))
        self._quit_action.setText(tr("Quit"))

        # The copy item's state depends on the clock, so it is checked again
        # each time the menu opens, not only when a snapshot arrives.
        self._menu.aboutToShow.connect(self.on_menu_about_to_show)

        self._tray_icon = QSystemTrayIcon(self)
        self._tray_icon.setContextMenu(self._menu)
        self._tray_icon.activated.connect(self.on_tray_icon_activated)

        self._tooltip_timer = QTimer(self)
        self._tooltip_timer.setSingleShot(True)
        self._tooltip_timer.timeout.connect(self.on_tooltip_timer_timeout)

        self.destroyed.connect(self._menu.deleteLater)
        self.update(self._snapshot)

    @property
    def tray_icon(self) -> QSystemTrayIcon:
        """The ``QSystemTrayIcon`` itself (for tests and the notifier)."""
        return self._tray_icon

    @property
    def menu(self) -> QMenu:
        """The context menu (for tests)."""
        return self._menu

    @property
    def current_health(self) -> Health:
        """The health the icon shows now."""
        return self._snapshot.health

    @property
    def tooltip_timer_active(self) -> bool:
        """Whether the time-left refresh is scheduled (for tests)."""
        return self._tooltip_timer.isActive()

    def show(self) -> bool:
        """Shows the icon; returns whether a tray shows it now.

        The icon is made visible even without a tray: Qt embeds it as soon as
        a tray host appears, which happens when tstray starts at login before
        the panel does.
        """
        self._tray_icon.show()
        self._schedule_tooltip_refresh()
        if not QSystemTrayIcon.isSystemTrayAvailable():
            log.warning("no system tray on this desktop yet; the icon appears with one")
            return False
        return True

    def hide(self) -> None:
        """Hides the icon and stops the tooltip refresh."""
        self._tray_icon.hide()
        self._tooltip_timer.stop()

    def update(self, snapshot: SessionSnapshot) -> None:
        """Shows ``snapshot``: icon, tooltip and which menu items are usable."""
        if snapshot.health is not self._snapshot.health:
            log.debug("tray shows %s", snapshot.health.name)
        self._snapshot = snapshot

        self._tray_icon.setIcon(icon_for(snapshot.health))
        self._tray_icon.setToolTip(tooltip(snapshot, self._clock()))
        self._update_actions()
        self._schedule_tooltip_refresh()

    def on_menu_about_to_show(self) -> None:
        self._update_actions()

    def on_tray_icon_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        """A plain left click signs in when needed, else opens the status; a
        double click always opens the status."""
        if reason is QSystemTrayIcon.ActivationReason.DoubleClick:
            self.status_requested.emit()
            return
        if reason is not QSystemTrayIcon.ActivationReason.Trigger:
            return
        if self._snapshot.health in (Health.SIGNED_OUT, Health.NEEDS_USER):
            self.sign_in_requested.emit()
        else:
            self.status_requested.emit()

    def on_tooltip_timer_timeout(self) -> None:
        self._tray_icon.setToolTip(tooltip(self._snapshot, self._clock()))
        self._update_actions()
        self._schedule_tooltip_refresh()

    def _add_action(self, signal: SignalInstance) -> QAction:
        action = self._menu.addAction("")
        action.triggered.connect(signal)
        return action

    def _update_actions(self) -> None:
        snapshot = self._snapshot
        signed_out = snapshot.state is SessionState.SIGNED_OUT
        has_valid_token = snapshot.token_if_valid(self._clock()) is not None

        self._sign_in_action.setText(
            tr("Sign in\u2026") if signed_out else tr("Sign in again\u2026")
        )
        self._copy_action.setEnabled(has_valid_token)
        self._sign_out_action.setEnabled(not signed_out)
        self._revoke_action.setEnabled(not signed_out)

    def _schedule_tooltip_refresh(self) -> None:
        """Plans one tooltip refresh for when the shown minute changes."""
        self._tooltip_timer.stop()
        if not self._tray_icon.isVisible():
            return
        seconds_left = self._snapshot.seconds_left(self._clock())
        if self._snapshot.access_token is None or seconds_left is None:
            return
        if seconds_left <= 0:
            # Expired: the tooltip already says so and will not change again.
            return

        # "17 min" turns into "16 min" when seconds_left crosses a multiple
        # of 60; in the last minute the seconds are shown, so a few more
        # refreshes keep them roughly right until the expiry.
        if seconds_left >= 60:
            wait_s = seconds_left % 60
        else:
            wait_s = min(seconds_left, _LAST_MINUTE_STEP_S)
        wait_ms = math.ceil((wait_s + _TICK_SLACK_S) * 1000)
        self._tooltip_timer.start(wait_ms)
