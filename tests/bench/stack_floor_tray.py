"""The floor for tstray's own stack: the bare tray of ``bare_tray.py`` plus
what tstray's fixed choices need running, and nothing of tstray itself.

- always: an asyncio loop on the Qt event loop (qasync) and a loopback HTTP
  listener that answers ``GET /healthz`` with 503, on ``--port``;
- ``--clients``: also httpx with one ``AsyncClient`` (its TLS set-up) and the
  keyring library with its backend found (on Linux: secretstorage, D-Bus and
  the cryptography package), as a tray that has refreshed a token holds them.

``tests/bench/bench_footprint.py`` starts it next to the bare tray and tstray,
so the table shows how much of tstray's cost is the stack's and how much its
own. It runs until SIGTERM or SIGINT.

Run: ``python tests/bench/stack_floor_tray.py --port 31999 [--clients]``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import qasync
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

_ANSWER = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 11\r\n"
    b"Connection: close\r\n\r\nunavailable"
)


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(_ANSWER)
    await writer.drain()
    writer.close()


async def _serve(port: int, clients: bool, stop: asyncio.Event) -> None:
    server = await asyncio.start_server(_answer, "127.0.0.1", port)
    if clients:
        import httpx
        import keyring

        http = httpx.AsyncClient()
        keyring.get_keyring()
    await stop.wait()
    server.close()
    if clients:
        await http.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", action="store_true")
    args = parser.parse_args()

    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    pixmap = QPixmap(22, 22)
    pixmap.fill(QColor("#2e7d32"))
    tray = QSystemTrayIcon(QIcon(pixmap))
    tray.setToolTip("stack floor tray")
    tray.show()

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(_serve(args.port, args.clients, asyncio.Event()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
