"""Tests for tstray.ui.tray and tstray.ui.notifications on a real X screen
with a real tray host (tests/with-desktop.sh: Xvfb + trayer), a real D-Bus
session and, since no notification daemon runs here, a stand-in service
(tests/helpers/notification_service.py).

The icon checks read both what Qt was given and what the tray host actually
shows, by grabbing trayer's window from the X screen.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from tests.conftest import skip_or_fail
from tstray.session.state import Health, SessionSnapshot, SessionState
from tstray.ui.icons import ICON_FILES, ICON_SIZES_PX, icon_for, resource_path
from tstray.ui.notifications import (
    RECOVERED,
    SIGN_IN_NEEDED,
    Notice,
    NotificationPolicy,
    Notifier,
    SessionNotices,
)
from tstray.ui.tray import TrayController

NOW = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)
TOKEN = "eyJ-secret-access-token-value"

VALID = SessionSnapshot(
    state=SessionState.VALID,
    access_token=TOKEN,
    expires_at=NOW + timedelta(minutes=17, seconds=30),
    account="Demo Trader",
    next_refresh_at=NOW + timedelta(minutes=12),
)
SNAPSHOTS = {
    Health.SIGNED_OUT: SessionSnapshot(),
    Health.OK: VALID,
    Health.DEGRADED: replace(
        VALID, state=SessionState.RETRYING, last_error="HTTP 503", error_code="x"
    ),
    Health.NEEDS_USER: SessionSnapshot(
        state=SessionState.SIGN_IN_NEEDED,
        last_error="TradeStation refused the saved sign-in",
        error_code="invalid_grant",
    ),
}
EXPECTED_COLOUR = {
    Health.SIGNED_OUT: "grey",
    Health.OK: "green",
    Health.DEGRADED: "amber",
    Health.NEEDS_USER: "red",
}
SIGN_IN_NOTICE = Notice(SIGN_IN_NEEDED, "TradeStation sign-in needed", "Sign in.")
RECOVERED_NOTICE = Notice(RECOVERED, "Token refresh working again", "All good.")
NOTIFICATION_SERVICE = Path(__file__).parents[1] / "helpers" / "notification_service.py"


class Clock:
    """A settable clock for the widgets."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def colour_counts(image: QImage) -> Counter[str]:
    """Counts the opaque pixels of each of the four icon colours."""
    counts: Counter[str] = Counter()
    for y in range(image.height()):
        for x in range(image.width()):
            colour = QColor(image.pixelColor(x, y))
            if colour.alpha() < 200:
                continue
            hue, saturation, value = (
                colour.hsvHue(),
                colour.hsvSaturation(),
                colour.value(),
            )
            if saturation >= 110 and value >= 110:
                if 80 <= hue <= 160:
                    counts["green"] += 1
                elif 25 <= hue <= 60:
                    counts["amber"] += 1
                elif hue <= 12 or hue >= 345:
                    counts["red"] += 1
            elif saturation < 30 and 115 <= value <= 170:
                counts["grey"] += 1
    return counts


def dominant(counts: Counter[str]) -> str:
    return counts.most_common(1)[0][0] if counts else "none"


def dominant_colour(image: QImage) -> str:
    return dominant(colour_counts(image))


def tray_panel_window() -> str:
    """The id of trayer's panel window, which holds the embedded icons."""
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r'(0x[0-9a-f]+) "panel": \("panel" "trayer"\)', tree)
    if match is None:
        pytest.fail(f"no trayer panel on the screen:\n{tree}")
    return match.group(1)


def grab_window(window_id: str) -> QImage:
    png = subprocess.run(
        ["import", "-window", window_id, "png:-"], capture_output=True, check=True
    ).stdout
    image = QImage.fromData(png)
    assert not image.isNull()
    return image


def wait_for_panel_colour(qtbot: QtBot, panel: str, expected: str) -> Counter[str]:
    """Waits until the tray host's window mostly shows ``expected``; the host
    repaints an embedded icon in its own time. Returns the last counts."""
    seen: list[Counter[str]] = []

    def shows_expected() -> bool:
        seen.append(colour_counts(grab_window(panel)))
        return dominant(seen[-1]) == expected

    qtbot.waitUntil(shows_expected, timeout=10_000)
    return seen[-1]


@pytest.fixture
def clock() -> Clock:
    return Clock()


_tray_host_found: dict[str, bool] = {}


@pytest.fixture
def desktop(qtbot: QtBot) -> None:
    """Needs the real tray host and the X tools used to look at it."""
    if not os.environ.get("DISPLAY"):
        skip_or_fail("no X display (run under tests/with-desktop.sh)")
    for tool in ("xwininfo", "import", "xdotool"):
        if shutil.which(tool) is None:
            skip_or_fail(f"{tool} is not installed")

    # trayer may still be claiming the tray selection when the tests start;
    # once it has been found missing, later tests need not wait again.
    if _tray_host_found.get("found") is None:
        try:
            qtbot.waitUntil(QSystemTrayIcon.isSystemTrayAvailable, timeout=10_000)
            _tray_host_found["found"] = True
        except qtbot.TimeoutError:
            _tray_host_found["found"] = False
    if not _tray_host_found["found"]:
        skip_or_fail("no system tray host on the display")


@pytest.fixture
def tray(qapp: QApplication, clock: Clock) -> Iterator[TrayController]:
    controller = TrayController(clock)
    yield controller
    controller.hide()
    controller.deleteLater()
    qapp.processEvents()


@pytest.fixture
def shown_tray(desktop: None, tray: TrayController) -> TrayController:
    assert tray.show() is True
    return tray


def test_each_health_has_its_own_icon(qapp: QApplication) -> None:
    images = {}
    for health in Health:
        icon = icon_for(health)
        assert sorted(size.width() for size in icon.availableSizes()) == sorted(
            ICON_SIZES_PX
        )
        images[health] = icon.pixmap(32).toImage()
        assert dominant_colour(images[health]) == EXPECTED_COLOUR[health]

    for first, second in combinations(Health, 2):
        assert images[first] != images[second], (first, second)


def test_resource_path_finds_every_icon_and_refuses_escapes() -> None:
    for name in ICON_FILES.values():
        assert resource_path(name).read_bytes().startswith(b"<?xml")

    with pytest.raises(ValueError):
        resource_path("../pyproject.toml")
    with pytest.raises(FileNotFoundError, match="looked in"):
        resource_path("icons/missing.svg")


def test_icons_differ_without_colour(qapp: QApplication) -> None:
    """The glyphs alone tell the states apart (for colour-blind users)."""
    greys = {
        health: icon_for(health)
        .pixmap(16)
        .toImage()
        .convertToFormat(QImage.Format.Format_Grayscale8)
        for health in Health
    }
    for first, second in combinations(Health, 2):
        assert greys[first] != greys[second], (first, second)


@pytest.mark.tray
def test_update_sets_the_icon_of_each_health(shown_tray: TrayController) -> None:
    shown: dict[Health, QImage] = {}
    for health, snapshot in SNAPSHOTS.items():
        shown_tray.update(snapshot)

        assert shown_tray.current_health is health
        shown[health] = shown_tray.tray_icon.icon().pixmap(32).toImage()
        assert dominant_colour(shown[health]) == EXPECTED_COLOUR[health]

    for first, second in combinations(Health, 2):
        assert shown[first] != shown[second], (first, second)


@pytest.mark.tray
def test_the_tray_host_shows_the_icon_of_each_health(
    qtbot: QtBot, shown_tray: TrayController
) -> None:
    panel = tray_panel_window()
    for health in (Health.OK, Health.DEGRADED, Health.NEEDS_USER, Health.SIGNED_OUT):
        shown_tray.update(SNAPSHOTS[health])

        expected = EXPECTED_COLOUR[health]
        counts = wait_for_panel_colour(qtbot, panel, expected)
        others = sum(n for colour, n in counts.items() if colour != expected)
        assert counts[expected] > 3 * others, counts


@pytest.mark.tray
def test_a_real_click_on_the_tray_icon_asks_for_sign_in(
    qtbot: QtBot, shown_tray: TrayController
) -> None:
    panel = tray_panel_window()
    wait_for_panel_colour(qtbot, panel, "grey")
    geometry = subprocess.run(
        ["xdotool", "getwindowgeometry", "--shell", panel],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    values = dict(line.split("=") for line in geometry.split())
    x = int(values["X"]) + int(values["WIDTH"]) // 2
    y = int(values["Y"]) + int(values["HEIGHT"]) // 2

    with qtbot.waitSignal(shown_tray.sign_in_requested, timeout=5000):
        subprocess.run(
            ["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True
        )


def test_show_without_a_tray_host_says_so_and_waits_for_one(
    qapp: QApplication, tray: TrayController, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault injection: a desktop with no tray host cannot be had on this
    # display, which has one (tests/integration/test_tray_late_host.py starts
    # a real screen without one).
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", lambda: False)

    assert tray.show() is False
    assert tray.tray_icon.isVisible()


def menu_state(tray: TrayController) -> dict[str, bool]:
    tray.on_menu_about_to_show()
    return {
        action.text(): action.isEnabled()
        for action in tray.menu.actions()
        if not action.isSeparator()
    }


def test_menu_when_signed_out(qapp: QApplication, tray: TrayController) -> None:
    tray.update(SNAPSHOTS[Health.SIGNED_OUT])

    assert menu_state(tray) == {
        "Sign in\u2026": True,
        "Sign in with my browser\u2026": True,
        "Copy access token": False,
        "Status\u2026": True,
        "Settings\u2026": True,
        "Sign out": False,
        "Revoke at TradeStation\u2026": False,
        "Quit": True,
    }
    assert [a.isSeparator() for a in tray.menu.actions()].index(True) == 5


@pytest.mark.parametrize(
    ("health", "can_copy"),
    [(Health.OK, True), (Health.DEGRADED, True), (Health.NEEDS_USER, False)],
)
def test_menu_when_signed_in(
    qapp: QApplication, tray: TrayController, health: Health, can_copy: bool
) -> None:
    tray.update(SNAPSHOTS[health])

    assert menu_state(tray) == {
        "Sign in again\u2026": True,
        "Sign in with my browser\u2026": True,
        "Copy access token": can_copy,
        "Status\u2026": True,
        "Settings\u2026": True,
        "Sign out": True,
        "Revoke at TradeStation\u2026": True,
        "Quit": True,
    }


def test_copy_is_disabled_once_the_token_expired(
    qapp: QApplication, tray: TrayController, clock: Clock
) -> None:
    tray.update(VALID)
    assert menu_state(tray)["Copy access token"] is True

    clock.now = NOW + timedelta(minutes=17, seconds=31)

    assert menu_state(tray)["Copy access token"] is False


def test_menu_items_emit_their_signals(qtbot: QtBot, tray: TrayController) -> None:
    tray.update(VALID)
    signals = [
        tray.sign_in_requested,
        tray.browser_sign_in_requested,
        tray.copy_token_requested,
        tray.status_requested,
        tray.settings_requested,
        tray.sign_out_requested,
        tray.revoke_requested,
        tray.quit_requested,
    ]
    actions = [a for a in tray.menu.actions() if not a.isSeparator()]

    for action, signal in zip(actions, signals, strict=True):
        with qtbot.waitSignal(signal, timeout=1000):
            action.trigger()


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        (Health.SIGNED_OUT, "sign_in_requested"),
        (Health.NEEDS_USER, "sign_in_requested"),
        (Health.OK, "status_requested"),
        (Health.DEGRADED, "status_requested"),
    ],
)
def test_left_click_emits_by_health(
    qtbot: QtBot, tray: TrayController, health: Health, expected: str
) -> None:
    tray.update(SNAPSHOTS[health])
    other = (
        "status_requested" if expected == "sign_in_requested" else "sign_in_requested"
    )

    with (
        qtbot.waitSignal(getattr(tray, expected), timeout=1000),
        qtbot.assertNotEmitted(getattr(tray, other)),
    ):
        tray.tray_icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)

    with qtbot.assertNotEmitted(getattr(tray, expected)):
        tray.on_tray_icon_activated(QSystemTrayIcon.ActivationReason.Context)


def test_tooltip_says_who_and_how_long(
    qapp: QApplication, tray: TrayController, clock: Clock
) -> None:
    tray.update(VALID)
    assert tray.tray_icon.toolTip() == (
        "tstray \u2014 Signed in as Demo Trader\nToken valid for 17 min"
    )

    clock.now += timedelta(minutes=2)
    tray.on_tooltip_timer_timeout()

    assert tray.tray_icon.toolTip().endswith("Token valid for 15 min")
    assert TOKEN not in tray.tray_icon.toolTip()


@pytest.mark.tray
def test_tooltip_timer_runs_only_while_a_token_is_shown(
    shown_tray: TrayController, clock: Clock
) -> None:
    shown_tray.update(VALID)
    assert shown_tray.tooltip_timer_active
    # Due just after "17 min" turns into "16 min", 30 s after NOW.
    assert shown_tray._tooltip_timer.interval() == 30_250

    shown_tray.update(SNAPSHOTS[Health.NEEDS_USER])
    assert not shown_tray.tooltip_timer_active

    shown_tray.update(VALID)
    shown_tray.hide()
    assert not shown_tray.tooltip_timer_active


@pytest.mark.tray
def test_balloon_click_on_a_sign_in_notice_asks_for_sign_in(
    qtbot: QtBot, shown_tray: TrayController
) -> None:
    notifier = Notifier(shown_tray.tray_icon, use_desktop_service=False)

    assert notifier.notify(SIGN_IN_NOTICE) == "tray"
    with qtbot.waitSignal(notifier.sign_in_clicked, timeout=1000):
        shown_tray.tray_icon.messageClicked.emit()

    assert notifier.notify(RECOVERED_NOTICE) == "tray"
    with qtbot.assertNotEmitted(notifier.sign_in_clicked):
        shown_tray.tray_icon.messageClicked.emit()


def test_without_tray_or_desktop_service_the_notice_goes_to_the_log(
    qapp: QApplication, tray: TrayController, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(tray.tray_icon, use_desktop_service=False)

    with caplog.at_level(logging.WARNING, logger="tstray.ui.notifications"):
        assert notifier.notify(SIGN_IN_NOTICE) == "log"

    assert "TradeStation sign-in needed: Sign in." in caplog.messages


@pytest.fixture
def notification_service(qapp: QApplication) -> Iterator[subprocess.Popen[str]]:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip_or_fail("no D-Bus session bus (run under tests/with-desktop.sh)")
    service = subprocess.Popen(
        [sys.executable, str(NOTIFICATION_SERVICE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert service.stdout is not None
    assert service.stdout.readline().strip() == "ready"
    yield service
    service.kill()
    service.wait()


def test_desktop_notification_click_asks_for_sign_in(
    qtbot: QtBot, notification_service: subprocess.Popen[str]
) -> None:
    notifier = Notifier(None)
    assert notification_service.stdin is not None
    assert notification_service.stdout is not None

    assert notifier.notify(SIGN_IN_NOTICE) == "desktop"
    call = json.loads(notification_service.stdout.readline())
    assert call["signature"] == "susssasa{sv}i"
    assert call["args"][3:5] == [SIGN_IN_NOTICE.title, SIGN_IN_NOTICE.message]
    assert call["args"][5] == ["default", "Sign in", "sign-in", "Sign in"]

    # A click on someone else's notification is not ours.
    with qtbot.assertNotEmitted(notifier.sign_in_clicked, wait=500):
        notification_service.stdin.write("click 7 default\n")
        notification_service.stdin.flush()

    with qtbot.waitSignal(notifier.sign_in_clicked, timeout=5000):
        notification_service.stdin.write(f"click {call['id']} sign-in\n")
        notification_service.stdin.flush()
    notifier.close()


def test_desktop_notification_refused_goes_to_the_log(
    qtbot: QtBot, qapp: QApplication, caplog: pytest.LogCaptureFixture
) -> None:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip_or_fail("no D-Bus session bus (run under tests/with-desktop.sh)")
    notifier = Notifier(None)

    # No notification service owns the name on this bus: the call fails.
    with caplog.at_level(logging.WARNING, logger="tstray.ui.notifications"):
        assert notifier.notify(RECOVERED_NOTICE) == "desktop"
        qtbot.waitUntil(
            lambda: "Token refresh working again: All good." in caplog.messages,
            timeout=10_000,
        )
    notifier.close()


class RecordingNotifier(Notifier):
    def __init__(self) -> None:
        super().__init__(None, use_desktop_service=False)
        self.notices: list[Notice] = []

    def notify(self, notice: Notice) -> str:
        self.notices.append(notice)
        return "recorded"


def test_session_notices_shows_the_failing_notice_when_time_passes(
    qtbot: QtBot, qapp: QApplication
) -> None:
    notifier = RecordingNotifier()
    real_clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
    notices = SessionNotices(notifier, real_clock, NotificationPolicy(0.2))

    notices.on_session_changed(VALID)
    notices.on_session_changed(SNAPSHOTS[Health.DEGRADED])
    assert notifier.notices == []

    # No further snapshot arrives: the timer alone must bring the notice.
    qtbot.waitUntil(lambda: len(notifier.notices) == 1, timeout=5000)
    assert notifier.notices[0].kind == "refresh_failing"

    notices.on_session_changed(VALID)
    assert [n.kind for n in notifier.notices] == ["refresh_failing", "recovered"]
