"""Tests for the status window (tstray.ui.status_dialog) and its 24-hour
timeline (tstray.ui.timeline) with real Qt widgets (on Xvfb under
tests/with-desktop.sh, offscreen elsewhere): rows read back as text, the
timeline rendered to a QImage and its pixels checked where events are, and
a double click on the tray icon opening the status.

Set TSTRAY_SCREENSHOTS=1 to also save /tmp/tstray-status.png.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel, QPushButton, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from tstray.session.history import EventKind, HistoryEvent
from tstray.session.state import Health, SessionSnapshot, SessionState
from tstray.ui.status_dialog import StatusDialog, countdown
from tstray.ui.timeline import (
    BAND_COLOURS,
    FAILURE_COLOUR,
    FINAL_FAILURE_COLOUR,
    REFRESH_COLOUR,
    SIGN_IN_COLOUR,
    TimelineWidget,
)
from tstray.ui.tray import TrayController

NOW = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)
TOKEN = "eyJ-secret-access-token-value"
S = SessionState

VALID = SessionSnapshot(
    state=S.VALID,
    access_token=TOKEN,
    expires_at=NOW + timedelta(minutes=17, seconds=30),
    account="Demo Trader",
    next_refresh_at=NOW + timedelta(minutes=12, seconds=30),
)
SIGN_IN_NEEDED = SessionSnapshot(
    state=S.SIGN_IN_NEEDED,
    account="Demo Trader",
    last_error="TradeStation refused the saved sign-in (invalid_grant)",
    error_code="invalid_grant",
)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def local(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M")


def a_day(now: datetime) -> list[HistoryEvent]:
    """A night that held, one offline spell, a refused sign-in, a restart."""
    events = [
        HistoryEvent(now - timedelta(hours=23), EventKind.START, S.SIGNED_OUT),
        HistoryEvent(now - timedelta(hours=22), EventKind.SIGN_IN, S.VALID),
    ]
    moment = now - timedelta(hours=22)
    while moment < now - timedelta(hours=7):
        moment += timedelta(minutes=15)
        if now - timedelta(hours=14) <= moment < now - timedelta(hours=13):
            continue
        events.append(HistoryEvent(moment, EventKind.REFRESH, S.VALID))
    events += [
        HistoryEvent(
            now - timedelta(hours=14), EventKind.FAILURE, S.OFFLINE, "network"
        ),
        HistoryEvent(
            now - timedelta(hours=6),
            EventKind.FAILURE,
            S.SIGN_IN_NEEDED,
            "invalid_grant",
        ),
        HistoryEvent(now - timedelta(hours=5), EventKind.STOP, S.SIGN_IN_NEEDED),
        HistoryEvent(now - timedelta(hours=3), EventKind.START, S.SIGN_IN_NEEDED),
        HistoryEvent(now - timedelta(hours=2), EventKind.SIGN_IN, S.VALID),
    ]
    return sorted(events, key=lambda event: event.at)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def status(qtbot: QtBot, clock: Clock) -> StatusDialog:
    dialog = StatusDialog(clock, environment="Live (api.tradestation.com)")
    qtbot.addWidget(dialog)
    return dialog


def buttons(dialog: StatusDialog) -> dict[str, QPushButton]:
    return {b.text().replace("&", ""): b for b in dialog.findChildren(QPushButton)}


def test_countdown() -> None:
    assert countdown(0) == "0:00"
    assert countdown(-5) == "0:00"
    assert countdown(65.9) == "1:05"
    assert countdown(3600 + 62) == "1:01:02"


def test_status_when_signed_in(status: StatusDialog) -> None:
    status.update(VALID)

    assert status.texts() == {
        "state": "Signed in as Demo Trader",
        "account": "Demo Trader",
        "environment": "Live (api.tradestation.com)",
        "time_left": f"valid for 17:30 (expires {local(VALID.expires_at)})",  # type: ignore[arg-type]
        "next_refresh": f"in 12:30 ({local(VALID.next_refresh_at)})",  # type: ignore[arg-type]
    }
    assert buttons(status)["Copy token"].isEnabled()
    assert "Sign in again" in buttons(status)


def test_status_shows_the_rotating_key_deadline(status: StatusDialog) -> None:
    deadline = NOW + timedelta(hours=21, minutes=10)
    status.update(replace(VALID, sign_in_deadline=deadline))

    assert status.texts()["sign_in_deadline"].startswith("in 21 h 10 min (")

    status.update(replace(VALID, sign_in_deadline=NOW - timedelta(minutes=1)))
    assert "24-hour limit has passed" in status.texts()["sign_in_deadline"]


def test_status_when_a_sign_in_is_needed(status: StatusDialog) -> None:
    status.update(SIGN_IN_NEEDED)

    texts = status.texts()
    assert texts["state"] == "Sign-in needed"
    assert texts["time_left"] == "No token held"
    assert texts["last_error"] == SIGN_IN_NEEDED.last_error
    assert texts["fix"] == "Choose \u201cSign in again\u2026\u201d in the tray menu."
    assert not buttons(status)["Copy token"].isEnabled()
    assert buttons(status)["Sign in again"].isDefault()


def test_status_when_offline_says_what_to_do(status: StatusDialog) -> None:
    status.update(
        replace(
            VALID,
            state=S.OFFLINE,
            last_error="no answer from the sign-in service",
            error_code="network",
            next_refresh_at=NOW + timedelta(seconds=40),
        )
    )

    texts = status.texts()
    assert texts["state"] == "Can't reach TradeStation, retrying in 40 s"
    assert "internet connection" in texts["fix"]
    assert texts["next_refresh"].startswith("in 0:40 (")


def test_status_when_signed_out(status: StatusDialog) -> None:
    status.update(SessionSnapshot())

    assert status.texts() == {
        "state": "Signed out",
        "environment": "Live (api.tradestation.com)",
        "time_left": "No token held",
    }
    assert "Sign in" in buttons(status)


def test_status_never_shows_the_token(status: StatusDialog) -> None:
    for snapshot in (VALID, SIGN_IN_NEEDED, replace(VALID, state=S.RETRYING)):
        status.update(snapshot)
        for label in status.findChildren(QLabel):
            assert TOKEN not in label.text()


def test_status_counts_down_each_second_while_open(
    qtbot: QtBot, status: StatusDialog, clock: Clock
) -> None:
    status.update(VALID)
    assert not status.tick_timer_active

    status.show()
    qtbot.waitExposed(status)
    assert status.tick_timer_active
    clock.now += timedelta(minutes=3, seconds=1)

    # No new snapshot: the dialog's own timer must bring the new time.
    qtbot.waitUntil(
        lambda: status.texts()["time_left"].startswith("valid for 14:29 "),
        timeout=5000,
    )
    assert status.texts()["next_refresh"].startswith("in 9:29 ")

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


def test_status_shows_the_history_in_its_timeline(qtbot: QtBot, clock: Clock) -> None:
    events = a_day(NOW)
    dialog = StatusDialog(clock, history=lambda: events)
    qtbot.addWidget(dialog)

    dialog.update(VALID)

    summary = dialog.timeline.accessibleDescription()
    refreshes = sum(event.kind is EventKind.REFRESH for event in events)
    assert summary.startswith(f"Last 24 hours: {refreshes} refreshes, 2 failures, 2 ")


# -- the timeline, pixel by pixel ----------------------------------------------


def render(widget: TimelineWidget) -> QImage:
    image = QImage(widget.size(), QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    widget.render(image)
    return image


def colours_in_column(image: QImage, x: float, top: int, bottom: int) -> set[str]:
    """The colours at ``x`` (and the pixel either side: antialiasing spreads
    a thin line over two columns)."""
    return {
        image.pixelColor(column, y).name()
        for column in (round(x) - 1, round(x), round(x) + 1)
        for y in range(top, bottom)
    }


def is_near(colour: str, wanted: QColor, tolerance: int = 40) -> bool:
    found = QColor(colour)
    return (
        abs(found.red() - wanted.red())
        + abs(found.green() - wanted.green())
        + abs(found.blue() - wanted.blue())
        <= tolerance
    )


@pytest.fixture
def timeline(qtbot: QtBot, clock: Clock) -> TimelineWidget:
    widget = TimelineWidget(clock)
    qtbot.addWidget(widget)
    widget.resize(720, widget.sizeHint().height())
    return widget


def test_timeline_draws_each_kind_of_event_where_it_happened(
    timeline: TimelineWidget,
) -> None:
    timeline.set_events(a_day(NOW))
    image = render(timeline)
    band_top, band_bottom = timeline.band_rows()
    mark_top, mark_bottom = timeline.mark_rows()
    band_middle = (band_top + band_bottom) // 2

    def band_colour(moment: datetime) -> QColor:
        # Upper half of the band, clear of the refresh ticks.
        return image.pixelColor(round(timeline.x_for(moment)), band_top + 4)

    # The session held overnight: green band between the refreshes.
    assert band_colour(NOW - timedelta(hours=18, minutes=7)) == BAND_COLOURS[Health.OK]
    # The offline hour is amber, the refused sign-in red.
    offline = band_colour(NOW - timedelta(hours=13, minutes=30))
    assert offline == BAND_COLOURS[Health.DEGRADED]
    refused = band_colour(NOW - timedelta(hours=5, minutes=30))
    assert refused == BAND_COLOURS[Health.NEEDS_USER]
    # While tstray was not running: neither a state colour nor plain white
    # everywhere (hatching).
    not_running = colours_in_column(
        image, timeline.x_for(NOW - timedelta(hours=4)), band_top + 1, band_bottom - 1
    )
    assert not any(
        is_near(c, colour, 10) for c in not_running for colour in BAND_COLOURS.values()
    )
    assert len(not_running) > 1
    # Before the first start: nothing known either.
    assert band_colour(NOW - timedelta(hours=23, minutes=30)) != BAND_COLOURS[Health.OK]

    # A refresh tick in the lower half of the band.
    tick_x = timeline.x_for(NOW - timedelta(hours=18))
    assert any(
        is_near(c, REFRESH_COLOUR)
        for c in colours_in_column(image, tick_x, band_middle, band_bottom + 4)
    )
    # Failure marks above the band: amber for the temporary one, red for the
    # final one; the sign-ins are blue dots.
    for moment, colour in (
        (NOW - timedelta(hours=14), FAILURE_COLOUR),
        (NOW - timedelta(hours=6), FINAL_FAILURE_COLOUR),
        (NOW - timedelta(hours=2), SIGN_IN_COLOUR),
    ):
        column = colours_in_column(image, timeline.x_for(moment), mark_top, mark_bottom)
        assert any(is_near(c, colour) for c in column), (moment, column)

    # Where nothing happened, no marks above the band.
    quiet = colours_in_column(
        image, timeline.x_for(NOW - timedelta(hours=10)), mark_top, mark_bottom
    )
    assert quiet == {"#ffffff"} or all(
        not is_near(c, FAILURE_COLOUR) and not is_near(c, SIGN_IN_COLOUR) for c in quiet
    )


def test_timeline_scrolls_with_the_clock(
    timeline: TimelineWidget, clock: Clock
) -> None:
    sign_in = HistoryEvent(NOW - timedelta(hours=1), EventKind.SIGN_IN, S.VALID)
    timeline.set_events([sign_in])
    before = timeline.x_for(sign_in.at)

    clock.now += timedelta(hours=6)
    timeline.set_events([sign_in])

    assert timeline.x_for(sign_in.at) < before
    # Older than 24 hours: off the chart (pinned to its left edge).
    clock.now += timedelta(hours=24)
    timeline.set_events([sign_in])
    assert timeline.x_for(sign_in.at) == timeline.x_for(clock.now - timedelta(days=2))
    assert timeline.summary().startswith("Last 24 hours: 0 refreshes, 0 failures, 0 ")


def test_double_click_on_the_tray_icon_opens_the_status(
    qtbot: QtBot, clock: Clock
) -> None:
    tray = TrayController(clock)
    for snapshot in (SessionSnapshot(), VALID):
        tray.update(snapshot)
        with qtbot.waitSignal(tray.status_requested, timeout=1000):
            tray.on_tray_icon_activated(QSystemTrayIcon.ActivationReason.DoubleClick)
    tray.deleteLater()


def test_screenshot_of_the_status_window(qtbot: QtBot) -> None:
    """Renders the window as a user sees it; saved when TSTRAY_SCREENSHOTS=1."""
    now = datetime.now(UTC).replace(microsecond=0)
    events = a_day(now)
    dialog = StatusDialog(
        lambda: now, history=lambda: events, environment="Live (api.tradestation.com)"
    )
    qtbot.addWidget(dialog)
    dialog.update(
        replace(
            VALID,
            expires_at=now + timedelta(minutes=17, seconds=29),
            next_refresh_at=now + timedelta(minutes=12, seconds=29),
            sign_in_deadline=now + timedelta(hours=22),
        )
    )
    dialog.show()
    qtbot.waitExposed(dialog)

    image = dialog.grab().toImage()
    assert image.width() >= 600
    if os.environ.get("TSTRAY_SCREENSHOTS"):
        image.save(str(Path(tempfile.gettempdir()) / "tstray-status.png"))
