"""Helpers for the local token service's tests: a "GUI" loop on its own
thread, a session stand-in, a settable clock and a raw HTTP/1.1 client that
reads answers byte by byte off a real loopback socket."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tstray.server import LocalTokenService
from tstray.session.state import SessionSnapshot, SessionState

API_KEY = "test-api-key-Zq8L0mW3vT6yB1nR4sK7pX2c"
TOKEN = "access-token-first-Hq3Jv9Pw2Ls8Nd4Rk6Tz"
FRESH_TOKEN = "access-token-fresh-Mb5Gc1Xy7Qe3Uo9Wa2Vi"
NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
SECRETS = (API_KEY, TOKEN, FRESH_TOKEN)


def snapshot(
    state: SessionState = SessionState.VALID,
    token: str | None = TOKEN,
    expires_in_s: float = 1200,
    **fields: Any,
) -> SessionSnapshot:
    """A session snapshot whose token expires ``expires_in_s`` after NOW."""
    expires_at = NOW + timedelta(seconds=expires_in_s) if token else None
    return SessionSnapshot(
        state=state,
        access_token=token,
        expires_at=expires_at,
        scope="MarketData",
        **fields,
    )


class Clock:
    """The service's wall clock, moved by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class LoopThread:
    """A plain asyncio loop running on its own thread: the "GUI" loop that
    ``ensure_fresh`` runs on."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    @property
    def thread_id(self) -> int | None:
        return self._thread.ident

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(_cancel_others(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


async def _cancel_others() -> None:
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class Session:
    """Stands in for the session: hands out its snapshot and records every
    ``ensure_fresh`` call (and the thread it ran on)."""

    current: SessionSnapshot
    after_refresh: SessionSnapshot | None = None
    hang: bool = False
    hold: threading.Event | None = None
    fail: bool = False
    calls: list[float] = field(default_factory=list)
    call_threads: list[int] = field(default_factory=list)

    def read(self) -> SessionSnapshot:
        return self.current

    async def ensure_fresh(self, min_ttl_s: float) -> SessionSnapshot:
        self.calls.append(min_ttl_s)
        self.call_threads.append(threading.get_ident())
        if self.hang:
            await asyncio.sleep(3600)
        while self.hold is not None and not self.hold.is_set():
            await asyncio.sleep(0.01)
        if self.fail:
            raise ConnectionError("the sign-in service cannot be reached")
        if self.after_refresh is not None:
            self.current = self.after_refresh
        return self.current


def wait_until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.01)


@contextlib.contextmanager
def running_service(
    session: Session, main_loop: asyncio.AbstractEventLoop, clock: Clock, **options: Any
) -> Iterator[LocalTokenService]:
    service = LocalTokenService(
        port=options.pop("port", 0),
        api_key=API_KEY,
        snapshot=session.read,
        ensure_fresh=session.ensure_fresh,
        main_loop=main_loop,
        clock=clock,
        **options,
    )
    service.start()
    try:
        yield service
    finally:
        service.stop()


@dataclass
class Answer:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        assert self.headers["content-type"] == "application/json"
        return json.loads(self.body)


def request_bytes(
    port: int,
    path: str = "/v1/token",
    *,
    method: str = "GET",
    key: str | None = API_KEY,
    host: str | None = None,
    version: str = "HTTP/1.1",
    headers: dict[str, str] | None = None,
) -> bytes:
    """A request head; ``host=""`` leaves the Host header out."""
    lines = [f"{method} {path} {version}"]
    host = f"127.0.0.1:{port}" if host is None else host
    if host:
        lines.append(f"Host: {host}")
    if key is not None:
        lines.append(f"Authorization: Bearer {key}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class RawClient:
    """One keep-alive connection, written and read by hand."""

    def __init__(
        self,
        port: int,
        host: str = "127.0.0.1",
        timeout_s: float = 10,
        receive_buffer_bytes: int = 0,
    ) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.settimeout(timeout_s)
        if receive_buffer_bytes:
            # Set before connecting, so the TCP window starts small too.
            self.sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes
            )
        self.sock.connect((host, port))
        self._file = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, path: str = "/v1/token", **options: Any) -> Answer:
        self.send(request_bytes(self.port, path, **options))
        return self.read_answer(head_only=options.get("method") == "HEAD")

    def read_answer(self, head_only: bool = False) -> Answer:
        status_line = self._file.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        version, status, reason = status_line.decode().rstrip("\r\n").split(" ", 2)
        assert version == "HTTP/1.1"
        headers: dict[str, str] = {}
        while (line := self._file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if head_only else int(headers["content-length"])
        return Answer(int(status), reason, headers, self._file.read(length))

    def closed_by_server(self) -> bool:
        """Waits for the server to close; True once it has (EOF or reset),
        False if it sends more bytes instead."""
        try:
            return self._file.read(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self._file.close()
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def get(port: int, path: str = "/v1/token", **options: Any) -> Answer:
    """One request on a new connection."""
    with RawClient(port) as client:
        return client.request(path, **options)
