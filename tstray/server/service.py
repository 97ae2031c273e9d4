"""LocalTokenService: the local token service on its own thread and loop.

It binds the loopback port synchronously (so a busy port is reported before
the app goes on, naming the program that holds it), then serves
``tstray.server.api`` over ``tstray.server.connection`` on a plain asyncio loop in
a private daemon thread. Load on the port therefore never runs on the GUI
thread; only a needed refresh crosses over, as one coroutine on the GUI loop.
It never binds anything but a loopback address, and ``stop`` never waits
without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from tstray.oauth.tokens import utc_now
from tstray.server.api import (
    BadKeyThrottle,
    FreshTokenGetter,
    RejectionLog,
    SnapshotReader,
    TokenApi,
)
from tstray.server.connection import HttpServer
from tstray.server.http import HttpLimits
from tstray.server.passthrough import MAX_BODY_BYTES
from tstray.session.state import SessionSnapshot

log = logging.getLogger(__name__)

_BACKLOG = 512
_START_TIMEOUT_S = 5.0


class PortInUseError(Exception):
    """The port is taken by another socket.

    Attributes:
        port: the port asked for.
        reason: a sentence for the user naming the port and, when it could be
            found, the process that holds it.
    """

    def __init__(self, port: int, reason: str) -> None:
        super().__init__(reason)
        self.port = port
        self.reason = reason


class LocalTokenService:
    """Serves fresh access tokens to local programs on a loopback port.

    Args:
        port: the port to listen on; 0 picks a free one (see ``port``).
        api_key: the key clients must send as a bearer token on ``/v1/*``.
        snapshot: a cheap, thread-safe read of the current session.
        ensure_fresh: coroutine function run on ``main_loop``; makes the
            session hold a token with at least the given seconds left.
        main_loop: the GUI (qasync) loop ``ensure_fresh`` runs on.
        clock: the wall clock, UTC.
        hosts: loopback addresses to listen on; one that this machine lacks
            (IPv6 turned off) is skipped.
        head_timeout_s: time for a client to send a whole request head.
        idle_timeout_s: how long a kept-alive connection may sit idle.
        max_connections: open connections; more are closed at once.
        refresh_timeout_s: how long a request waits for ``ensure_fresh``.
        allowed_origins: web origins allowed to call, with CORS for them.
        upstreams: the pass-through's bases, ``{"live": url, "sim": url}``
            (TradeStation's when None).
        events_heartbeat_s: how often an event stream gets a comment line,
            which is how a vanished client is noticed.
        session_loaded: False when the service starts before the stored
            session has been read; requests that need the session then wait
            for ``mark_session_loaded`` (at most ``refresh_timeout_s``).
    """

    def __init__(
        self,
        *,
        port: int,
        api_key: str,
        snapshot: SnapshotReader,
        ensure_fresh: FreshTokenGetter,
        main_loop: asyncio.AbstractEventLoop,
        clock: Callable[[], datetime] = utc_now,
        hosts: Sequence[str] = ("127.0.0.1", "::1"),
        head_timeout_s: float = 10.0,
        idle_timeout_s: float = 30.0,
        max_connections: int = 256,
        refresh_timeout_s: float = 15.0,
        allowed_origins: Sequence[str] = (),
        upstreams: Mapping[str, str] | None = None,
        events_heartbeat_s: float = 15.0,
        session_loaded: bool = True,
    ) -> None:
        for host in hosts:
            if not ipaddress.ip_address(host).is_loopback:
                raise ValueError(f"{host} is not a loopback address")
        self._requested_port = port
        self._hosts = tuple(hosts)
        self._limits = HttpLimits(
            max_connections=max_connections,
            head_timeout_s=head_timeout_s,
            idle_timeout_s=idle_timeout_s,
            max_body_bytes=MAX_BODY_BYTES,
        )
        self._rejections = RejectionLog()
        self._api = TokenApi(
            api_key=api_key,
            snapshot=snapshot,
            ensure_fresh=ensure_fresh,
            main_loop=main_loop,
            clock=clock,
            rejections=self._rejections,
            throttle=BadKeyThrottle(),
            refresh_timeout_s=refresh_timeout_s,
            allowed_origins=allowed_origins,
            upstreams=upstreams,
            events_heartbeat_s=events_heartbeat_s,
            session_loaded=session_loaded,
        )
        self._port = 0
        self._addresses: list[tuple[str, int]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested: asyncio.Event | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None

    @property
    def port(self) -> int:
        """The bound port (0 before ``start``)."""
        return self._port

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The ``(host, port)`` of every listening socket."""
        return list(self._addresses)

    def set_api_key(self, api_key: str) -> None:
        """Accepts a new API key (after a rotation); safe from any thread."""
        self._api.set_api_key(api_key)

    @property
    def event_streams(self) -> int:
        """How many ``/v1/events`` streams are open (or about to start)."""
        return self._api.events.subscriber_count

    def publish(self, snapshot: SessionSnapshot) -> None:
        """Tells the ``/v1/events`` streams of a new session snapshot.

        A session listener: safe from any thread, never blocks (the snapshot
        is handed to the service's loop), does nothing while stopped.
        """
        self._api.events.publish(snapshot)

    def mark_session_loaded(self) -> None:
        """Lets requests that need the session through, now that it has been
        read from the keyring. Safe from any thread; works stopped too."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._api.mark_session_loaded)
                return
            except RuntimeError:
                pass  # closed meanwhile: no request can be waiting
        self._api.mark_session_loaded()

    def start(self) -> None:
        """Binds the port, then serves on the service's own thread.

        Raises:
            PortInUseError: the port is taken.
            OSError: no loopback address could be bound.
            RuntimeError: already started, or the thread failed to start.
        """
        if self._thread is not None:
            raise RuntimeError("the local token service is already running")
        sockets = self._bind()
        self._port = sockets[0].getsockname()[1]
        self._addresses = [sock.getsockname()[:2] for sock in sockets]
        self._api.set_port(self._port)
        self._api.forget_load_waiters()

        self._loop = asyncio.new_event_loop()
        self._stop_requested = asyncio.Event()
        self._started.clear()
        self._start_error = None
        self._thread = threading.Thread(
            target=self._run, args=(sockets,), name="tstray-token-service", daemon=True
        )
        self._thread.start()
        if not self._started.wait(_START_TIMEOUT_S) or self._start_error:
            self.stop()
            raise RuntimeError("the local token service failed to start")
        log.info(
            "local token service listening on %s",
            ", ".join(f"{host} port {port}" for host, port in self._addresses),
        )

    def stop(self, timeout_s: float = 5.0) -> None:
        """Closes the listeners and every connection and joins the thread,
        waiting at most ``timeout_s``. Safe to call twice."""
        thread, loop, stop_requested = self._thread, self._loop, self._stop_requested
        if thread is None or loop is None or stop_requested is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(stop_requested.set)
        thread.join(timeout_s)
        if thread.is_alive():
            log.warning("the local token service did not stop within %g s", timeout_s)
        self._thread = None
        self._addresses = []
        log.info("local token service stopped")

    # Binding, on the caller's thread.

    def _bind(self) -> list[socket.socket]:
        # With port 0 the first address picks the port and the others must
        # get the same one, which a few tries make near certain.
        tries = 5 if self._requested_port == 0 else 1
        for attempt in range(tries):
            try:
                return self._bind_all()
            except PortInUseError:
                if attempt == tries - 1:
                    raise
        raise AssertionError("unreachable")

    def _bind_all(self) -> list[socket.socket]:
        sockets: list[socket.socket] = []
        port = self._requested_port
        try:
            for host in self._hosts:
                sock = _bind_one(host, port)
                if sock is not None:
                    sockets.append(sock)
                    port = sock.getsockname()[1]
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        if not sockets:
            raise OSError(f"no loopback address to listen on ({self._hosts})")
        return sockets

    # The service thread.

    def _run(self, sockets: list[socket.socket]) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(_log_loop_error)
        try:
            loop.run_until_complete(self._serve(sockets))
        except BaseException as exc:
            self._start_error = exc
            log.exception("the local token service stopped on an error")
        finally:
            for sock in sockets:
                sock.close()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._started.set()

    async def _serve(self, sockets: list[socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        assert self._stop_requested is not None
        http = HttpServer(
            loop,
            self._api.handle,
            self._limits,
            self._rejections.note,
            accepts_body=self._api.accepts_body,
        )
        # Both bind to this loop and thread: the streams' timers and the
        # pass-through's HTTP client.
        self._api.events.open(loop)
        self._api.passthrough.open()
        servers = [
            await loop.create_server(http.protocol_factory, sock=sock, backlog=_BACKLOG)
            for sock in sockets
        ]
        self._started.set()
        try:
            await self._stop_requested.wait()
        finally:
            for server in servers:
                server.close()
            self._api.events.close()
            http.close_all()
            for server in servers:
                await server.wait_closed()
            await self._api.passthrough.aclose()


def _bind_one(host: str, port: int) -> socket.socket | None:
    """A listening socket on ``host``, or None if this machine lacks it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        if family == socket.AF_INET6 and exc.errno == errno.EAFNOSUPPORT:
            log.info("IPv6 is turned off; not listening on %s", host)
            return None
        raise
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        _set_address_reuse(sock)
        sock.bind((host, port))
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(port, _port_in_use_reason(host, port)) from exc
        if family == socket.AF_INET6 and exc.errno in (
            errno.EADDRNOTAVAIL,
            errno.EAFNOSUPPORT,
        ):
            log.info("this machine has no %s; not listening there", host)
            return None
        raise
    return sock


def _set_address_reuse(sock: socket.socket) -> None:
    if sys.platform.startswith("linux"):
        # A restart may bind while old connections sit in TIME_WAIT; Linux
        # still refuses while another socket listens on the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    elif sys.platform == "win32":
        # Without this, Windows lets another program bind the same port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)


def _port_in_use_reason(host: str, port: int) -> str:
    holder = ""
    try:
        holder = describe_port_holder(port)
    except Exception:  # best effort: never let the diagnosis hide the error
        log.debug("could not find who holds port %d", port, exc_info=True)
    by = f"by {holder}" if holder else "by another program"
    return (
        f"port {port} on {host} is already in use {by}; stop that program or set"
        " another [server] port in config.toml"
    )


def describe_port_holder(port: int, proc: Path = Path("/proc")) -> str:
    """Names the process holding a TCP ``port``, from Linux's /proc.

    Returns ``"process 1234 (name, /usr/bin/exe)"``, or "" when it cannot be
    told (another OS, another user's process). The command line is never
    read: it may hold secrets.
    """
    inodes = _socket_inodes(port, proc)
    if not inodes:
        return ""
    deadline = time.monotonic() + 1.0
    for pid_dir in proc.iterdir():
        if time.monotonic() > deadline:
            break
        if not pid_dir.name.isdigit():
            continue
        if _holds_any(pid_dir / "fd", inodes):
            return f"process {pid_dir.name} ({_process_name(pid_dir)})"
    return ""


def _holds_any(fd_dir: Path, links: set[str]) -> bool:
    try:
        fds = list(fd_dir.iterdir())
    except OSError:  # another user's process, or it just ended
        return False
    for fd in fds:
        # A descriptor may close between the listing and the read.
        with contextlib.suppress(OSError):
            if os.readlink(fd) in links:
                return True
    return False


def _socket_inodes(port: int, proc: Path) -> set[str]:
    """``socket:[inode]`` links of the TCP sockets bound to ``port``."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) < 10 or fields[9] == "0":
                continue
            local_port = fields[1].rpartition(":")[2]
            if int(local_port, 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    return inodes


def _process_name(pid_dir: Path) -> str:
    parts = []
    with contextlib.suppress(OSError):
        parts.append((pid_dir / "comm").read_text().strip())
    with contextlib.suppress(OSError):
        parts.append(os.readlink(pid_dir / "exe"))
    return ", ".join(parts) or "unknown program"


def _log_loop_error(
    loop: asyncio.AbstractEventLoop, context: dict[str, object]
) -> None:
    exc = context.get("exception")
    log.error(
        "error in the local token service loop: %s",
        context.get("message", "no message"),
        exc_info=exc if isinstance(exc, BaseException) else None,
    )
