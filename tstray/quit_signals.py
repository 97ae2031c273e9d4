"""Turns SIGTERM and SIGINT into an orderly quit while Qt's event loop runs.

Python runs signal handlers only when the main thread executes Python code,
which an idle Qt loop never does. ``signal.set_wakeup_fd`` writes a byte to a
socket on every signal, and a ``QSocketNotifier`` on that socket wakes Qt at
once, with no polling timer.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier

log = logging.getLogger(__name__)


class QuitOnSignals(QObject):
    """Calls ``on_quit`` once when SIGTERM or SIGINT arrives."""

    def __init__(
        self, on_quit: Callable[[], None], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._on_quit = on_quit
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        signal.set_wakeup_fd(self._writer.fileno())
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self._notifier = QSocketNotifier(
            self._reader.fileno(), QSocketNotifier.Type.Read, self
        )
        self._notifier.activated.connect(self.on_notifier_activated)

    def _on_signal(self, signum: int, _frame: object) -> None:
        """Nothing to do here: the wakeup byte already reached the notifier."""

    def on_notifier_activated(self) -> None:
        # The wakeup fd carries one byte per signal: its number.
        try:
            received = self._reader.recv(64)
        except OSError:
            return
        quitting = [n for n in received if n in (signal.SIGTERM, signal.SIGINT)]
        if quitting:
            log.info("received %s; quitting", signal.Signals(quitting[0]).name)
            self._on_quit()

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        self._notifier.setEnabled(False)
        self._reader.close()
        self._writer.close()
