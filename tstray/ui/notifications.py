"""Tells the user, once, when the session needs them or has been failing,
and when it recovered, through the tray's balloon or the desktop's
notification service.

``NotificationPolicy`` is plain logic: from snapshot changes and the passing
of time it decides whether a notice is due, at most one per change of state,
never a stream. ``Notifier`` shows a notice and reports a click on it.
``SessionNotices`` joins them to the session with one timer. None of them
ever puts a token, a code or a secret in a notice: the texts come from the
snapshot's ``last_error``, which the session keeps free of them.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from tstray.session.state import Health, SessionSnapshot, SessionState
from tstray.ui.reminders import MARKET_OPEN, SIGN_IN_SOON, ReminderPolicy
from tstray.ui.texts import fix_for, format_duration, reason_words, tr

log = logging.getLogger(__name__)

SIGN_IN_NEEDED = "sign_in_needed"
REFRESH_FAILING = "refresh_failing"
RECOVERED = "recovered"
# Notices whose click (or "Sign in" button) starts a sign-in.
SIGN_IN_KINDS = frozenset({SIGN_IN_NEEDED, SIGN_IN_SOON, MARKET_OPEN})

_NOTIFY_SERVICE = "org.freedesktop.Notifications"
_NOTIFY_PATH = "/org/freedesktop/Notifications"
# A desktop notification service answers at once; past this it is stuck.
_DBUS_REPLY_TIMEOUT_S = 5.0
_BALLOON_SHOWN_MS = 15_000


@dataclass(frozen=True)
class Notice:
    """One message for the user.

    Attributes:
        kind: ``sign_in_needed``, ``refresh_failing`` or ``recovered``.
        title: a few words saying what happened.
        message: what it means and what to do.
    """

    kind: str
    title: str
    message: str


def _sign_in_needed_notice(snapshot: SessionSnapshot) -> Notice:
    reason = reason_words(snapshot) or tr("TradeStation no longer accepts the sign-in")
    return Notice(
        SIGN_IN_NEEDED,
        tr("TradeStation sign-in needed"),
        tr("{reason}. Programs get no token until you sign in again. {fix}").format(
            reason=reason.rstrip("."),
            fix=fix_for(snapshot.error_code or "invalid_grant"),
        ),
    )


def _refresh_failing_notice(snapshot: SessionSnapshot, failing_s: float) -> Notice:
    if snapshot.state is SessionState.EXPIRED_RETRYING:
        effect = tr("The token has expired, so programs get no token until then.")
    else:
        effect = tr("Programs still get the current token until it expires.")
    reason = reason_words(snapshot) or tr("no answer")
    return Notice(
        REFRESH_FAILING,
        tr("Token refresh failing"),
        tr(
            "tstray has not refreshed the token for {duration} ({reason}) and "
            "keeps retrying. {effect} {fix}"
        )
        .format(
            duration=format_duration(failing_s),
            reason=reason.rstrip("."),
            effect=effect,
            fix=fix_for(snapshot.error_code),
        )
        .rstrip(),
    )


def _recovered_notice() -> Notice:
    return Notice(
        RECOVERED,
        tr("Token refresh working again"),
        tr("tstray refreshed the token; programs get fresh tokens again."),
    )


class NotificationPolicy:
    """Decides when a notice is due; no Qt, no clock of its own.

    Feed it every snapshot change with ``decide`` and, for time passing
    without a change, call ``tick`` at ``next_check_at()``.
    """

    def __init__(self, failing_after_s: float = 120.0) -> None:
        """Starts with no stretch under way.

        Args:
            failing_after_s: how long the health must stay degraded
                (retrying, offline, expired) before ``refresh_failing``.
        """
        self.failing_after_s = failing_after_s
        self._degraded_since: datetime | None = None
        self._failing_noticed = False
        self._sign_in_noticed = False

    def next_check_at(self) -> datetime | None:
        """When ``tick`` will produce ``refresh_failing``, if it still can."""
        if self._degraded_since is None or self._failing_noticed:
            return None
        return self._degraded_since + timedelta(seconds=self.failing_after_s)

    def decide(
        self, previous: SessionSnapshot, current: SessionSnapshot, now: datetime
    ) -> Notice | None:
        """The notice, if any, that the change from ``previous`` to
        ``current`` at ``now`` calls for."""
        health = current.health

        if health is Health.NEEDS_USER:
            # The sign-in notice says all there is to say; after the sign-in
            # a "working again" notice would only repeat the obvious.
            self._degraded_since = None
            self._failing_noticed = False
            if previous.health is not Health.NEEDS_USER:
                self._sign_in_noticed = False
            if self._sign_in_noticed:
                return None
            self._sign_in_noticed = True
            return _sign_in_needed_notice(current)
        self._sign_in_noticed = False

        if health is Health.DEGRADED:
            if previous.health is not Health.DEGRADED or self._degraded_since is None:
                self._degraded_since = now
            return self.tick(current, now)
        self._degraded_since = None

        if health is Health.OK and self._failing_noticed:
            self._failing_noticed = False
            return _recovered_notice()

        # Signed out: a fresh start, nothing is owed to the user.
        self._failing_noticed = False
        return None

    def tick(self, current: SessionSnapshot, now: datetime) -> Notice | None:
        """The ``refresh_failing`` notice once the degraded stretch that
        began earlier has lasted ``failing_after_s``; otherwise None."""
        due = self.next_check_at()
        if current.health is not Health.DEGRADED or due is None or now < due:
            return None
        self._failing_noticed = True
        failing_s = self.failing_after_s + (now - due).total_seconds()
        return _refresh_failing_notice(current, failing_s)


_NOTICE_HEALTH = {
    SIGN_IN_NEEDED: Health.NEEDS_USER,
    REFRESH_FAILING: Health.DEGRADED,
    RECOVERED: Health.OK,
    SIGN_IN_SOON: Health.DEGRADED,
    MARKET_OPEN: Health.DEGRADED,
}


def _notify_call(notice: Notice) -> Any:
    """The org.freedesktop.Notifications.Notify call for ``notice``."""
    from jeepney import DBusAddress, new_method_call

    from tstray.ui.icons import ICON_FILES, resource_path

    try:
        app_icon = str(resource_path(ICON_FILES[_NOTICE_HEALTH[notice.kind]]))
    except (KeyError, FileNotFoundError):
        app_icon = ""
    actions: list[str] = []
    urgency = 1
    if notice.kind in SIGN_IN_KINDS:
        # "default" is a click on the notice itself; "sign-in" is a button.
        actions = ["default", tr("Sign in"), "sign-in", tr("Sign in")]
        urgency = 2 if notice.kind == SIGN_IN_NEEDED else 1
    hints = {"urgency": ("y", urgency), "desktop-entry": ("s", "tstray")}

    address = DBusAddress(_NOTIFY_PATH, _NOTIFY_SERVICE, _NOTIFY_SERVICE)
    args = ("tstray", 0, app_icon, notice.title, notice.message, actions, hints, -1)
    return new_method_call(address, "Notify", "susssasa{sv}i", args)


class _DesktopNotifications(QObject):
    """Shows notices through the freedesktop notification service.

    WORKAROUND: PySide6's QtDBus cannot send a D-Bus ``uint32`` (Python ints
    go out as ``int32``), and Notify's ``replaces_id`` is one, so strict
    services (GNOME, KDE, dunst) refuse the call. The call is therefore sent
    with jeepney, which ``keyring`` itself needs on Linux, from one worker
    thread that also receives ``ActionInvoked`` on the same connection (some
    services send it only to the connection that asked). Recheck on PySide6
    6.12.

    Signals:
        action_invoked(str, str): notice kind and action key of a click on
            one of our notices.
        failed(object): a ``Notice`` that could not be shown.
    """

    action_invoked = Signal(str, str)
    failed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Notices to send, action signals received, and None to stop.
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._unreachable = False

    def send(self, notice: Notice) -> None:
        if self._unreachable:
            self.failed.emit(notice)
            return
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="tstray-notifications", daemon=True
            )
            self._thread.start()
        self._inbox.put(notice)

        # The worker may have given up between the check above and the put.
        if self._unreachable:
            self._fail_waiting_notices()

    def close(self, timeout_s: float = 2.0) -> None:
        if self._thread is not None:
            self._inbox.put(None)
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        try:
            from jeepney import MatchRule
            from jeepney.bus_messages import message_bus
            from jeepney.io.threading import open_dbus_router

            with open_dbus_router(bus="SESSION") as router:
                rule = MatchRule(
                    type="signal",
                    interface=_NOTIFY_SERVICE,
                    path=_NOTIFY_PATH,
                    member="ActionInvoked",
                )
                router.send_and_get_reply(
                    message_bus.AddMatch(rule), timeout=_DBUS_REPLY_TIMEOUT_S
                )
                with router.filter(rule, queue=self._inbox):
                    self._serve(router)
        except Exception as exc:  # no bus, no jeepney, a broken connection
            log.warning("the desktop notification service is unreachable: %s", exc)
            self._unreachable = True
            self._fail_waiting_notices()

    def _serve(self, router: Any) -> None:
        from jeepney.wrappers import unwrap_msg

        kinds_by_id: dict[int, str] = {}
        while True:
            item = self._inbox.get()
            if item is None:
                return
            if isinstance(item, Notice):
                try:
                    reply = router.send_and_get_reply(
                        _notify_call(item), timeout=_DBUS_REPLY_TIMEOUT_S
                    )
                    (notification_id,) = unwrap_msg(reply)
                except Exception as exc:  # an error reply, a timeout
                    log.warning("the desktop refused a notification: %s", exc)
                    self.failed.emit(item)
                    continue
                kinds_by_id[notification_id] = item.kind
                continue

            # An ActionInvoked signal: ids we did not hand out are not ours.
            notification_id, action_key = item.body
            kind = kinds_by_id.get(notification_id)
            if kind is not None:
                self.action_invoked.emit(kind, action_key)

    def _fail_waiting_notices(self) -> None:
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Notice):
                self.failed.emit(item)


class Notifier(QObject):
    """Shows notices: the tray's balloon when a tray icon is visible, else
    the desktop's notification service, else a WARNING in the log.

    Signals:
        sign_in_clicked: the user clicked a ``sign_in_needed`` notice (or its
            "Sign in" button).
    """

    sign_in_clicked = Signal()

    def __init__(
        self,
        tray_icon: QSystemTrayIcon | None = None,
        parent: QObject | None = None,
        use_desktop_service: bool = True,
    ) -> None:
        """Shows notices through ``tray_icon`` while it is visible.

        Args:
            tray_icon: the tray icon whose balloon to use when it is visible.
            parent: the owning QObject, if any.
            use_desktop_service: whether to fall back to the freedesktop
                notification service (off on platforms without D-Bus).
        """
        super().__init__(parent)
        self._tray_icon: QSystemTrayIcon | None = None
        self._last_balloon_kind = ""
        self._desktop: _DesktopNotifications | None = None
        if use_desktop_service:
            self._desktop = _DesktopNotifications(self)
            self._desktop.action_invoked.connect(self.on_desktop_action_invoked)
            self._desktop.failed.connect(self.on_desktop_failed)
        self.set_tray_icon(tray_icon)

    def set_tray_icon(self, tray_icon: QSystemTrayIcon | None) -> None:
        if self._tray_icon is not None:
            self._tray_icon.messageClicked.disconnect(self.on_tray_message_clicked)
        self._tray_icon = tray_icon
        if tray_icon is not None:
            tray_icon.messageClicked.connect(self.on_tray_message_clicked)

    def notify(self, notice: Notice) -> str:
        """Shows ``notice``; returns the way used: "tray", "desktop" or "log"."""
        log.info("notice %s: %s", notice.kind, notice.title)
        tray_icon = self._tray_icon
        # A visible icon is not enough: it stays "visible" while it waits for
        # a tray host to appear, and a balloon from it would reach nobody.
        if (
            tray_icon is not None
            and tray_icon.isVisible()
            and QSystemTrayIcon.isSystemTrayAvailable()
            and QSystemTrayIcon.supportsMessages()
        ):
            self._last_balloon_kind = notice.kind
            icon = (
                QSystemTrayIcon.MessageIcon.Information
                if notice.kind == RECOVERED
                else QSystemTrayIcon.MessageIcon.Warning
            )
            tray_icon.showMessage(notice.title, notice.message, icon, _BALLOON_SHOWN_MS)
            return "tray"

        if self._desktop is not None:
            self._desktop.send(notice)
            return "desktop"

        self._log_notice(notice)
        return "log"

    def close(self) -> None:
        """Stops the desktop notification worker, if it was started."""
        if self._desktop is not None:
            self._desktop.close()

    def on_tray_message_clicked(self) -> None:
        if self._last_balloon_kind in SIGN_IN_KINDS:
            self.sign_in_clicked.emit()

    def on_desktop_action_invoked(self, kind: str, action_key: str) -> None:
        if kind in SIGN_IN_KINDS and action_key in ("default", "sign-in"):
            self.sign_in_clicked.emit()

    def on_desktop_failed(self, notice: Notice) -> None:
        self._log_notice(notice)

    @staticmethod
    def _log_notice(notice: Notice) -> None:
        log.warning("%s: %s", notice.title, notice.message)


class SessionNotices(QObject):
    """Feeds session snapshots to a ``NotificationPolicy`` (and the timed
    reminders of a ``ReminderPolicy``) and their notices to a ``Notifier``,
    with one timer for the next notice that time alone brings. Quiet hours
    hold back every notice but "sign-in needed"."""

    def __init__(
        self,
        notifier: Notifier,
        clock: Callable[[], datetime],
        policy: NotificationPolicy | None = None,
        parent: QObject | None = None,
        reminders: ReminderPolicy | None = None,
    ) -> None:
        super().__init__(parent)
        self._notifier = notifier
        self._clock = clock
        self._policy = policy or NotificationPolicy()
        self._reminders = reminders
        self._snapshot = SessionSnapshot()
        self._due_timer = QTimer(self)
        self._due_timer.setSingleShot(True)
        self._due_timer.timeout.connect(self.on_due_timer_timeout)

    def on_session_changed(self, snapshot: SessionSnapshot) -> None:
        previous, self._snapshot = self._snapshot, snapshot
        self._show(self._policy.decide(previous, snapshot, self._clock()))

    def on_due_timer_timeout(self) -> None:
        self._show(self._policy.tick(self._snapshot, self._clock()))

    def _show(self, notice: Notice | None) -> None:
        now = self._clock()
        reminders = self._reminders
        if notice is not None:
            urgent = notice.kind == SIGN_IN_NEEDED
            if reminders is None or reminders.allows(notice.kind, now, urgent=urgent):
                self._notifier.notify(notice)
            else:
                log.info("notice %s held back (quiet hours or off)", notice.kind)

        due = self._policy.next_check_at()
        if reminders is not None:
            reminder = reminders.next_reminder(self._snapshot, now)
            if reminder is not None and reminder.due_at <= now:
                reminders.given(reminder)
                self._notifier.notify(
                    Notice(reminder.kind, reminder.title, reminder.message)
                )
                reminder = reminders.next_reminder(self._snapshot, now)
            if reminder is not None and (due is None or reminder.due_at < due):
                due = reminder.due_at

        self._due_timer.stop()
        if due is not None:
            wait_s = max(0.0, (due - self._clock()).total_seconds())
            # A little late rather than early, so the tick finds it due.
            self._due_timer.start(int(wait_s * 1000) + 50)
