"""Tells the session to look at its schedule again when the world changed
under it: the network came back, or the computer woke from sleep.

``WakeUps`` listens to the system's own announcements and calls ``on_wake``
(the app passes ``Session.wake``), so a refresh that fell due while the laptop
slept, or a retry waiting out a network backoff, happens within a second
instead of at the end of the session's nap. It adds no timer and polls
nothing: a clock jump needs no hook here, because the session's loop already
compares the wall clock with the token's absolute expiry after every nap.

Sources, each optional and skipped quietly when the system lacks it:

- Network: Qt's ``QNetworkInformation`` (its default backend: NetworkManager
  or GLib on Linux, the system APIs on Windows and macOS); a change of
  reachability to ``Online`` wakes the session.
- Resume on Linux: logind's ``PrepareForSleep(false)`` on the system bus,
  received with jeepney on a private thread (the same library the keyring
  and the notifications use). Only signals from ``org.freedesktop.login1``
  itself are accepted.
- Resume on Windows: ``WM_POWERBROADCAST`` with ``PBT_APMRESUMEAUTOMATIC``
  through a native event filter. Untested here (no Windows machine); if the
  broadcast never reaches Qt's windows, the nap loop still catches up.
- Resume on macOS: no hook. ``NSWorkspaceDidWakeNotification`` would need
  PyObjC, which tstray does not depend on; the nap loop catches up within
  ``Session.max_nap_s``.

This module never blocks the event loop, never logs a token (it sees none),
and never raises out of ``start()`` because a source is missing.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractNativeEventFilter, QCoreApplication, QObject, Signal
from PySide6.QtNetwork import QNetworkInformation

log = logging.getLogger(__name__)

Reachability = QNetworkInformation.Reachability

LOGIND_NAME = "org.freedesktop.login1"
LOGIND_PATH = "/org/freedesktop/login1"
LOGIND_MANAGER = "org.freedesktop.login1.Manager"
# A bus that answers at all answers at once; past this it is stuck.
_DBUS_REPLY_TIMEOUT_S = 5.0

# Windows: the message, and the two ways it says "resumed".
_WM_POWERBROADCAST = 0x0218
_PBT_RESUME_EVENTS = (0x0007, 0x0012)  # PBT_APMRESUMESUSPEND, ...RESUMEAUTOMATIC


class _LogindWatcher:
    """Receives logind's ``PrepareForSleep`` on its own thread.

    Calls ``on_sleep_changed(going_to_sleep)`` from that thread; the caller
    must hop to its own thread (``WakeUps`` does it with a queued signal).
    """

    def __init__(
        self,
        bus_address: str,
        on_sleep_changed: Callable[[bool], None],
        on_listening: Callable[[], None],
    ) -> None:
        self._bus_address = bus_address
        self._on_sleep_changed = on_sleep_changed
        self._on_listening = on_listening
        # Signals received, and None to stop.
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(
            target=self._run, name="tstray-logind", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._inbox.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            from jeepney import MatchRule
            from jeepney.bus_messages import message_bus
            from jeepney.io.threading import open_dbus_router

            with open_dbus_router(bus=self._bus_address) as router:
                rule = MatchRule(
                    type="signal",
                    interface=LOGIND_MANAGER,
                    path=LOGIND_PATH,
                    member="PrepareForSleep",
                )
                # The bus resolves the well-known name to its current owner,
                # so a look-alike signal from another program never reaches
                # us. (The local filter sees only the owner's unique name.)
                rule_at_bus = MatchRule(
                    type="signal",
                    sender=LOGIND_NAME,
                    interface=LOGIND_MANAGER,
                    path=LOGIND_PATH,
                    member="PrepareForSleep",
                )
                router.send_and_get_reply(
                    message_bus.AddMatch(rule_at_bus), timeout=_DBUS_REPLY_TIMEOUT_S
                )
                with router.filter(rule, queue=self._inbox):
                    log.debug("watching logind for resume from sleep")
                    self._on_listening()
                    self._serve()
        except Exception as exc:  # no system bus, no jeepney, a dropped bus
            log.info(
                "resume from sleep is not watched (%s): %s", self._bus_address, exc
            )

    def _serve(self) -> None:
        while (message := self._inbox.get()) is not None:
            body = message.body
            if len(body) == 1 and isinstance(body[0], bool):
                self._on_sleep_changed(body[0])


if sys.platform == "win32":
    from ctypes import wintypes

    class _PowerBroadcastFilter(QAbstractNativeEventFilter):
        """Sees ``WM_POWERBROADCAST`` among the messages Qt's windows get."""

        def __init__(self, on_resume: Callable[[], None]) -> None:
            super().__init__()
            self._on_resume = on_resume

        def nativeEventFilter(self, event_type: Any, message: Any) -> Any:  # noqa: N802 - Qt override
            if bytes(event_type) == b"windows_generic_MSG":
                msg = wintypes.MSG.from_address(int(message))
                if (
                    msg.message == _WM_POWERBROADCAST
                    and msg.wParam in _PBT_RESUME_EVENTS
                ):
                    self._on_resume()
            return False, 0


class WakeUps(QObject):
    """Calls ``on_wake`` after a resume from sleep or when the network is back.

    Args:
        on_wake: what to call, on this object's thread (the GUI thread).
        reachability_changed: the signal announcing reachability changes;
            ``None`` loads Qt's default ``QNetworkInformation`` backend and
            uses its ``reachabilityChanged``.
        system_bus_address: where logind lives; ``"SYSTEM"`` is the system
            bus, ``""`` turns the resume watch off.
        parent: the owning QObject, if any.

    Signals:
        woke(str): ``on_wake`` was called; the reason is ``"network"`` or
            ``"resume"``.
        resume_watch_started: the logind subscription is in place.
    """

    woke = Signal(str)
    resume_watch_started = Signal()
    # From the logind thread to this object's thread.
    _sleep_changed = Signal(bool)

    def __init__(
        self,
        on_wake: Callable[[], None],
        *,
        reachability_changed: Any = None,
        system_bus_address: str = "SYSTEM",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._on_wake = on_wake
        self._reachability_changed = reachability_changed
        self._system_bus_address = system_bus_address
        self._reachability = Reachability.Unknown
        self._logind: _LogindWatcher | None = None
        self._native_filter: QAbstractNativeEventFilter | None = None
        self._sleep_changed.connect(self.on_logind_sleep_changed)

    def start(self) -> None:
        """Subscribes to every source this system has; never raises."""
        self._watch_network()
        self._watch_resume()

    def close(self) -> None:
        """Stops the logind thread and the native filter."""
        if self._logind is not None:
            self._logind.stop()
            self._logind = None
        app = QCoreApplication.instance()
        if self._native_filter is not None and app is not None:
            app.removeNativeEventFilter(self._native_filter)
            self._native_filter = None

    # -- network -----------------------------------------------------------

    def _watch_network(self) -> None:
        changed = self._reachability_changed
        if changed is None:
            if not QNetworkInformation.loadDefaultBackend():
                log.info("network changes are not watched: no backend on this system")
                return
            information = QNetworkInformation.instance()
            if information is None:
                return
            self._reachability = information.reachability()
            changed = information.reachabilityChanged
            log.debug("watching network reachability (%s)", information.backendName())
        changed.connect(self.on_network_reachability_changed)

    def on_network_reachability_changed(self, reachability: Reachability) -> None:
        previous, self._reachability = self._reachability, reachability
        if reachability == Reachability.Online and previous != Reachability.Online:
            self._wake("network")

    # -- resume from sleep -------------------------------------------------

    def _watch_resume(self) -> None:
        if sys.platform == "win32":
            app = QCoreApplication.instance()
            if app is not None:
                self._native_filter = _PowerBroadcastFilter(
                    lambda: self._sleep_changed.emit(False)
                )
                app.installNativeEventFilter(self._native_filter)
            return
        if sys.platform == "darwin" or not self._system_bus_address:
            log.debug("resume from sleep is caught by the session's clock checks")
            return
        self._logind = _LogindWatcher(
            self._system_bus_address,
            self._sleep_changed.emit,
            self.resume_watch_started.emit,
        )
        self._logind.start()

    def on_logind_sleep_changed(self, going_to_sleep: bool) -> None:
        if going_to_sleep:
            log.info("the system is going to sleep")
            return
        self._wake("resume")

    def _wake(self, reason: str) -> None:
        why = "the network is back" if reason == "network" else "resumed from sleep"
        log.info("re-checking the session: %s", why)
        self._on_wake()
        self.woke.emit(reason)
