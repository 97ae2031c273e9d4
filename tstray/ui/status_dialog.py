"""The status window: the session in words, a 24-hour timeline, and the
buttons that fix what is wrong.

It shows what ``update(snapshot)`` gave it, and counts the token's expiry
and the next refresh down each second while it is open (its timer stops
when it is hidden). It never shows the token itself: "Copy token" only asks
for it with a signal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from PySide6.QtCore import QLocale, Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tstray.session.history import HistoryEvent
from tstray.session.state import Health, SessionSnapshot, SessionState
from tstray.ui.texts import (
    fix_for,
    format_duration,
    headline,
    reason_words,
    time_left_words,
    tr,
)
from tstray.ui.timeline import TimelineWidget

_TICK_MS = 1000


def countdown(seconds: float) -> str:
    """A clock-style count down: "17:05", "1:02:09"; never negative."""
    whole_s = max(0, int(seconds))
    hours, rest = divmod(whole_s, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def _local_time(moment: datetime, now: datetime) -> str:
    local, local_now = moment.astimezone(), now.astimezone()
    if local.date() == local_now.date():
        return local.strftime("%H:%M")
    # The day in the user's language, not the C locale's.
    day = QLocale().dayName(local.isoweekday(), QLocale.FormatType.ShortFormat)
    return f"{day} {local.strftime('%H:%M')}"


def _when_words(moment: datetime | None, now: datetime) -> str:
    """ "in 12:05 (14:03)", "now", or "—" when nothing is planned."""
    if moment is None:
        return "\u2014"
    wait_s = (moment - now).total_seconds()
    if wait_s <= 0:
        return tr("now")
    return tr("in {countdown} ({time})").format(
        countdown=countdown(wait_s), time=_local_time(moment, now)
    )


def _deadline_words(moment: datetime | None, now: datetime) -> str:
    """ "in 23 h 10 min (Tue 09:30)" for the rotating-key limit."""
    if moment is None:
        return "\u2014"
    wait_s = (moment - now).total_seconds()
    if wait_s <= 0:
        return tr("now: the 24-hour limit has passed")
    return tr("in {duration} ({time})").format(
        duration=format_duration(wait_s), time=_local_time(moment, now)
    )


def _token_words(snapshot: SessionSnapshot, now: datetime) -> str:
    """ "valid for 17:05 (expires 14:20)", or why no token can be had."""
    seconds_left = snapshot.seconds_left(now)
    if snapshot.access_token is None or seconds_left is None or seconds_left <= 0:
        return time_left_words(snapshot, now)
    assert snapshot.expires_at is not None
    return tr("valid for {countdown} (expires {time})").format(
        countdown=countdown(seconds_left),
        time=_local_time(snapshot.expires_at, now),
    )


def _value_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class StatusDialog(QDialog):
    """Shows one session snapshot in words.

    Signals:
        sign_in_requested: "Sign in again" was pressed.
        copy_token_requested: "Copy token" was pressed.
        open_log_folder_requested: "Open log folder" was pressed.
    """

    sign_in_requested = Signal()
    copy_token_requested = Signal()
    open_log_folder_requested = Signal()

    def __init__(
        self,
        clock: Callable[[], datetime],
        parent: QWidget | None = None,
        *,
        history: Callable[[], Sequence[HistoryEvent]] = list,
        environment: str = "",
    ) -> None:
        """Builds the window for a signed-out session; call ``update``.

        Args:
            clock: returns the current time (UTC).
            parent: the parent widget, if any.
            history: returns the session's events of the last 24 hours.
            environment: "Live", "Simulator" or "Demo", in words.
        """
        super().__init__(parent)
        self.setWindowTitle(tr("tstray status"))
        self.setMinimumWidth(600)
        self._clock = clock
        self._history = history
        self._snapshot = SessionSnapshot()

        self._state_label = _value_label("state")
        font = self._state_label.font()
        font.setBold(True)
        self._state_label.setFont(font)
        self._account_label = _value_label("account")
        self._environment_label = _value_label("environment")
        self._environment_label.setText(environment or "\u2014")
        self._time_left_label = _value_label("time_left")
        self._next_refresh_label = _value_label("next_refresh")
        self._deadline_label = _value_label("sign_in_deadline")
        self._error_label = _value_label("last_error")
        self._fix_label = _value_label("fix")

        self._form = QFormLayout()
        self._form.setLabelAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        )
        self._add_row(tr("State:"), self._state_label)
        self._add_row(tr("Account:"), self._account_label)
        self._add_row(tr("Environment:"), self._environment_label)
        self._add_row(tr("Token:"), self._time_left_label)
        self._add_row(tr("Next refresh:"), self._next_refresh_label)
        self._add_row(tr("Sign in again by:"), self._deadline_label)
        self._add_row(tr("Problem:"), self._error_label)
        self._add_row(tr("What to do:"), self._fix_label)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self._sign_in_button = self._add_button(buttons, self.sign_in_requested)
        self._copy_button = self._add_button(buttons, self.copy_token_requested)
        self._log_button = self._add_button(buttons, self.open_log_folder_requested)
        self._copy_button.setText(tr("&Copy token"))
        self._log_button.setText(tr("Open &log folder"))
        buttons.rejected.connect(self.reject)
        self._close_button = buttons.button(QDialogButtonBox.StandardButton.Close)

        self._timeline = TimelineWidget(clock)
        timeline_box = QGroupBox(tr("Last 24 hours"))
        timeline_layout = QVBoxLayout(timeline_box)
        timeline_layout.addWidget(self._timeline)

        layout = QVBoxLayout(self)
        layout.addLayout(self._form)
        layout.addSpacing(8)
        layout.addWidget(timeline_box)
        layout.addSpacing(8)
        layout.addWidget(buttons)

        self._tick_timer = QTimer(self)
        self._tick_timer.setInterval(_TICK_MS)
        self._tick_timer.timeout.connect(self.on_tick_timer_timeout)
        self._refresh_texts()

    @property
    def timeline(self) -> TimelineWidget:
        """The 24-hour chart (for tests)."""
        return self._timeline

    def set_environment(self, environment: str) -> None:
        """Shows which TradeStation environment the settings point at."""
        self._environment_label.setText(environment or "\u2014")

    @property
    def tick_timer_active(self) -> bool:
        """Whether the once-a-second refresh runs (for tests)."""
        return self._tick_timer.isActive()

    def texts(self) -> dict[str, str]:
        """What each visible row says, by name (for tests and bug reports)."""
        labels = (
            self._state_label,
            self._account_label,
            self._environment_label,
            self._time_left_label,
            self._next_refresh_label,
            self._deadline_label,
            self._error_label,
            self._fix_label,
        )
        return {
            label.objectName(): label.text()
            for label in labels
            if self._form.isRowVisible(label)
        }

    # QWidget.update() repaints; this one shows a snapshot, like the tray's,
    # and still asks for the repaint.
    def update(self, snapshot: SessionSnapshot) -> None:  # type: ignore[override]
        """Shows ``snapshot``."""
        self._snapshot = snapshot
        self._refresh_texts()
        super().update()

    def on_tick_timer_timeout(self) -> None:
        self._refresh_texts()

    def showEvent(self, event: QShowEvent) -> None:
        self._refresh_texts()
        self._tick_timer.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._tick_timer.stop()
        super().hideEvent(event)

    def _add_row(self, name: str, value: QLabel) -> None:
        # Names stay level with the first line of a value that wraps.
        name_label = QLabel(name)
        name_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._form.addRow(name_label, value)

    def _add_button(
        self, buttons: QDialogButtonBox, signal: SignalInstance
    ) -> QPushButton:
        button = buttons.addButton("", QDialogButtonBox.ButtonRole.ActionRole)
        button.setAutoDefault(False)
        button.clicked.connect(signal)
        return button

    def _refresh_texts(self) -> None:
        snapshot, now = self._snapshot, self._clock()
        signed_out = snapshot.state is SessionState.SIGNED_OUT

        self._state_label.setText(headline(snapshot, now, with_reason=False))
        self._account_label.setText(snapshot.account or "\u2014")
        self._time_left_label.setText(_token_words(snapshot, now))
        self._next_refresh_label.setText(_when_words(snapshot.next_refresh_at, now))
        self._deadline_label.setText(_deadline_words(snapshot.sign_in_deadline, now))
        self._error_label.setText(reason_words(snapshot))
        self._fix_label.setText(fix_for(snapshot.error_code))
        self._timeline.set_events(self._history())

        self._form.setRowVisible(self._account_label, not signed_out)
        self._form.setRowVisible(
            self._next_refresh_label, snapshot.next_refresh_at is not None
        )
        self._form.setRowVisible(
            self._deadline_label, snapshot.sign_in_deadline is not None
        )
        self._form.setRowVisible(self._error_label, bool(snapshot.last_error))
        self._form.setRowVisible(self._fix_label, bool(snapshot.error_code))

        self._sign_in_button.setText(
            tr("&Sign in") if signed_out else tr("&Sign in again")
        )
        self._copy_button.setEnabled(snapshot.token_if_valid(now) is not None)

        # When only a sign-in helps, Enter should do it; otherwise Enter closes.
        needs_sign_in = snapshot.health in (Health.SIGNED_OUT, Health.NEEDS_USER)
        self._sign_in_button.setDefault(needs_sign_in)
        self._close_button.setDefault(not needs_sign_in)
