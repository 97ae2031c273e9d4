"""tstray.wakeups against a real D-Bus daemon: a private bus stands in for
the system bus, and a stand-in logind on it announces sleep and resume the
way systemd-logind does (``PrepareForSleep(b)`` from ``org.freedesktop.login1``).

Network reachability comes through the constructor's seam: no test can take
this machine's network down and up again, so a fake source emits the changes
Qt's ``QNetworkInformation`` would.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from jeepney import DBusAddress, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QNetworkInformation
from pytestqt.qtbot import QtBot

from tests.conftest import skip_or_fail
from tstray.wakeups import LOGIND_MANAGER, LOGIND_NAME, LOGIND_PATH, WakeUps

Reachability = QNetworkInformation.Reachability
WAIT_MS = 10_000


@pytest.fixture
def private_bus() -> Iterator[str]:
    """A D-Bus daemon of our own; yields its address."""
    if shutil.which("dbus-daemon") is None:
        skip_or_fail("dbus-daemon is not installed")
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert daemon.stdout is not None
    address = daemon.stdout.readline().strip()
    assert address.startswith("unix:"), address
    yield address
    daemon.terminate()
    daemon.wait(timeout=10)


def _connect(address: str, name: str | None = None) -> DBusConnection:
    connection = open_dbus_connection(bus=address)
    if name is not None:
        reply = connection.send_and_get_reply(message_bus.RequestName(name, 4))
        assert reply.body[0] == 1, "could not own the name"
    return connection


def _prepare_for_sleep(connection: DBusConnection, going_to_sleep: bool) -> None:
    address = DBusAddress(LOGIND_PATH, interface=LOGIND_MANAGER)
    connection.send(new_signal(address, "PrepareForSleep", "b", (going_to_sleep,)))
    # A round trip: the bus has routed the signal once the reply is here.
    connection.send_and_get_reply(message_bus.GetId())


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


def test_resume_from_sleep_wakes_the_session_and_nothing_else_does(
    qtbot: QtBot, private_bus: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tstray.wakeups")
    logind = _connect(private_bus, LOGIND_NAME)
    impostor = _connect(private_bus)
    network = _FakeNetwork()
    calls: list[str] = []
    wakeups = WakeUps(
        lambda: calls.append("wake"),
        reachability_changed=network.reachability_changed,
        system_bus_address=private_bus,
    )
    try:
        with qtbot.waitSignal(wakeups.resume_watch_started, timeout=WAIT_MS):
            wakeups.start()

        # Any program may send this signal; only logind's counts. Then logind
        # says it is going to sleep, which must not wake anything either.
        _prepare_for_sleep(impostor, False)
        _prepare_for_sleep(logind, True)
        qtbot.waitUntil(lambda: _logged(caplog, "going to sleep"), timeout=WAIT_MS)
        assert calls == []

        with qtbot.waitSignal(wakeups.woke, timeout=WAIT_MS) as woke:
            _prepare_for_sleep(logind, False)
        assert woke.args == ["resume"]
        assert calls == ["wake"]
    finally:
        wakeups.close()
        logind.close()
        impostor.close()


class _FakeNetwork(QObject):
    reachability_changed = Signal(Reachability)


def test_the_network_coming_back_wakes_the_session_once(qtbot: QtBot) -> None:
    network = _FakeNetwork()
    calls: list[str] = []
    wakeups = WakeUps(
        lambda: calls.append("wake"),
        reachability_changed=network.reachability_changed,
        system_bus_address="",
    )
    wakeups.start()
    try:
        network.reachability_changed.emit(Reachability.Disconnected)
        network.reachability_changed.emit(Reachability.Local)
        assert calls == []

        with qtbot.waitSignal(wakeups.woke, timeout=WAIT_MS) as woke:
            network.reachability_changed.emit(Reachability.Online)
        assert woke.args == ["network"]

        # Still online is no news; offline and back is.
        network.reachability_changed.emit(Reachability.Online)
        assert calls == ["wake"]
        network.reachability_changed.emit(Reachability.Disconnected)
        network.reachability_changed.emit(Reachability.Online)
        assert calls == ["wake", "wake"]
    finally:
        wakeups.close()


def test_a_missing_system_bus_and_network_backend_are_skipped_quietly(
    qtbot: QtBot, tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tstray.wakeups")
    calls: list[str] = []
    # The real default network backend, whatever this machine has (or none).
    wakeups = WakeUps(
        lambda: calls.append("wake"),
        system_bus_address=f"unix:path={tmp_path}/no-such-bus",
    )
    try:
        wakeups.start()
        qtbot.waitUntil(
            lambda: _logged(caplog, "resume from sleep is not watched"),
            timeout=WAIT_MS,
        )
        assert calls == []
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    finally:
        wakeups.close()
