"""The floor for any Qt tray app on this machine: a bare PySide6 program that
shows one tray icon and does nothing else.

``tests/bench/bench_footprint.py`` starts it side by side with tstray and
reports tstray's start-up time and memory as ratios to it. It must stay
bare: no timers, no menu, no imports beyond what a tray icon needs. It runs
until SIGTERM or SIGINT.

Run: ``python tests/bench/bare_tray.py`` (needs an X screen with a tray).
"""

from __future__ import annotations

import signal
import sys

from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QSystemTrayIcon


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)

    # A plain filled square: as cheap an icon as Qt can show.
    pixmap = QPixmap(22, 22)
    pixmap.fill(QColor("#2e7d32"))
    tray = QSystemTrayIcon(QIcon(pixmap))
    tray.setToolTip("bare tray")
    tray.show()

    # Python's handler runs only when the interpreter gets control; the default
    # action (terminate) needs no Python at all and keeps the program bare.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
