"""One tstray per user and profile: the first start owns the session, later
starts hand their request over to it and exit.

Ownership is a ``QLockFile`` in the runtime folder. Qt writes the owner's PID
into it and treats the lock as stale once that process is gone, so a tstray
killed with SIGKILL never blocks the next start. Hand-over goes through a
``QLocalServer`` (a Unix socket or a Windows named pipe) whose name is derived
from the user and the lock's path, so profiles and users never meet.

Messages are single words (``activate``, ``sign-in``, ``reload-api-key``);
nothing secret ever crosses this channel.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

COMMANDS = ("activate", "sign-in", "reload-api-key")
_CONNECT_TIMEOUT_MS = 2000


def server_name(lock_path: Path) -> str:
    digest = hashlib.sha256(f"{getpass.getuser()}:{lock_path}".encode()).hexdigest()
    return f"tstray-{digest[:20]}"


class InstanceOwner(QObject):
    """Holds the lock while the app runs and listens for hand-overs.

    Signals:
        command_received(str): a later start asked for ``activate`` or
            ``sign-in``.
    """

    command_received = Signal(str)

    def __init__(self, lock_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_path = lock_path
        self._lock = QLockFile(str(lock_path))
        # 0 = never stale by age alone: only a dead owner makes it stale.
        self._lock.setStaleLockTime(0)
        self._server: QLocalServer | None = None

    def try_acquire(self) -> bool:
        """Takes ownership; False when another live tstray holds it."""
        if not self._lock.tryLock(0):
            return False

        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        name = server_name(self._lock_path)
        # A socket file left by a killed owner would make listen() fail.
        QLocalServer.removeServer(name)
        if not server.listen(name):
            log.warning("hand-over channel unavailable: %s", server.errorString())
        server.newConnection.connect(self.on_server_new_connection)
        self._server = server
        return True

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._lock.unlock()

    def on_server_new_connection(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._read_command(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read_command(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        command = bytes(socket.readLine().data()).decode("ascii", "replace").strip()
        if command not in COMMANDS:
            log.warning("ignored an unknown hand-over message")
            socket.disconnectFromServer()
            return
        socket.write(b"ok\n")
        socket.flush()
        socket.disconnectFromServer()
        log.info("a second start handed over: %s", command)
        self.command_received.emit(command)


def hand_over(
    lock_path: Path, command: str, wait_ms: int = _CONNECT_TIMEOUT_MS
) -> bool:
    """Sends ``command`` to the running owner; True when it acknowledged."""
    socket = QLocalSocket()
    socket.connectToServer(server_name(lock_path))
    if not socket.waitForConnected(wait_ms):
        return False
    socket.write(command.encode("ascii") + b"\n")
    socket.flush()
    acknowledged = (
        socket.waitForReadyRead(wait_ms) and socket.readLine().data() == b"ok\n"
    )
    socket.disconnectFromServer()
    return bool(acknowledged)


def run_owner_or_hand_over(
    lock_path: Path, command: str, sleep_ms: Callable[[int], None]
) -> InstanceOwner | None:
    """Returns an owner when this process should run the app, or None after
    handing ``command`` to the process that already runs it.

    Retries briefly: the owner may hold the lock but not yet listen.
    """
    owner = InstanceOwner(lock_path)
    for _attempt in range(10):
        if owner.try_acquire():
            return owner
        if hand_over(lock_path, command):
            return None
        sleep_ms(300)
    raise RuntimeError(
        f"another tstray holds {lock_path} but does not answer; "
        "if it hangs, end it and start tstray again"
    )
