"""A small, strict HTTP/1.1 server on a plain asyncio event loop.

It speaks just enough HTTP for the local token service: requests without a
body, keep-alive and pipelining, answers with ``Content-Length``. Anything it
does not understand is refused with a 4xx/5xx answer and the connection is
closed; nothing a client sends can make it read a body, buffer more than one
bounded request head, hold a connection forever or disturb another connection.
It never logs header values or request targets, because they can carry the API
key or a token, and it never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

log = logging.getLogger(__name__)

_STATUS_LINES = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode()
    for status in HTTPStatus
}
# Every answer may carry something private, so none may be cached or sniffed.
COMMON_HEADERS = b"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
JSON_HEADERS = b"Content-Type: application/json\r\n" + COMMON_HEADERS

# RFC 9112 section 3: method SP origin-form SP HTTP-version. Only origin-form
# targets are served; this is not a proxy.
_REQUEST_LINE = re.compile(r"([A-Z]{1,20}) (/[\x21-\x7e]*) HTTP/1\.([01])")
_OTHER_VERSION = re.compile(r"[A-Z]{1,20} \S+ HTTP/(?!1\.[01]\Z)\d(\.\d)?")
# RFC 9110 section 5: a token, a colon, then a value of visible characters,
# spaces and tabs. No space before the colon and no obsolete line folding.
_HEADER_LINE = re.compile(
    r"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*"
    r"((?:[^\x00-\x08\x0a-\x1f\x7f]*[^\x00-\x20\x7f])?)[ \t]*"
)
# These appear once; two of them is how request smuggling and Host confusion
# start, so a repeat is refused rather than merged.
_SINGLE_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "authorization", "origin"}
)
_MAX_HEADERS = 100


@dataclass(slots=True)
class Response:
    """One answer, ready to serialise.

    Attributes:
        status: the HTTP status code.
        body: the payload; left out for HEAD but counted in Content-Length.
        headers: extra header lines, each ending in CRLF, already encoded.
        close: close the connection after this answer.
    """

    status: int
    body: bytes
    headers: bytes
    close: bool = False


def error_response(
    status: int, code: str, message: str, *, headers: bytes = b"", close: bool = False
) -> Response:
    """The JSON error answer every route uses: ``{"error", "message"}``."""
    body = json.dumps({"error": code, "message": message}).encode()
    return Response(status, body, JSON_HEADERS + headers, close)


@dataclass(slots=True)
class Request:
    """One parsed request head.

    Attributes:
        method: the method, upper case (``GET``).
        path: the target up to ``?``, not percent-decoded.
        query: the target after ``?`` (empty when there is none).
        headers: field names in lower case; repeats joined with ", ".
        http_10: True for an HTTP/1.0 request.
        keep_alive: whether the client wants the connection kept open.
        peer: the client's address, for log lines.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    http_10: bool
    keep_alive: bool
    peer: str = ""


@dataclass
class HttpError(Exception):
    """A request that cannot be served; the connection closes after the answer.

    Attributes:
        status: the HTTP status to answer with.
        code: the ``error`` code in the JSON body, also the log category.
        message: the ``message`` in the JSON body.
    """

    status: int
    code: str
    message: str


def parse_head(head: bytes) -> Request:
    """Parses a request line and header fields (without the final CRLF CRLF).

    Raises:
        HttpError: the head is malformed, uses another HTTP version, or
            announces a body (none of our routes takes one).
    """
    # Latin-1 maps every byte to one character, so decoding never fails and
    # the checks below see every byte as it was sent.
    lines = head.decode("latin-1").split("\r\n")
    match = _REQUEST_LINE.fullmatch(lines[0])
    if match is None:
        if _OTHER_VERSION.fullmatch(lines[0]):
            raise HttpError(
                505, "http_version", "only HTTP/1.0 and HTTP/1.1 are served"
            )
        raise HttpError(400, "bad_request", "malformed request line")
    method, target, minor = match.groups()
    if len(lines) > _MAX_HEADERS + 1:
        raise HttpError(431, "headers_too_large", "too many header fields")

    headers: dict[str, str] = {}
    for line in lines[1:]:
        field = _HEADER_LINE.fullmatch(line)
        if field is None:
            raise HttpError(400, "bad_request", "malformed header field")
        name = field[1].lower()
        value = field[2]
        if name in headers:
            if name in _SINGLE_HEADERS:
                raise HttpError(400, "bad_request", f"repeated {name} header")
            value = headers[name] + ", " + value
        headers[name] = value

    # No route takes a body; refusing one here means a body is never read,
    # so it can never be mistaken for the next request (smuggling).
    if "transfer-encoding" in headers:
        raise HttpError(501, "transfer_encoding", "request bodies are not accepted")
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit() or not length.isascii():
            raise HttpError(400, "bad_request", "malformed Content-Length")
        if int(length) > 0:
            raise HttpError(413, "body_not_allowed", "request bodies are not accepted")

    http_10 = minor == "0"
    if not http_10 and "host" not in headers:
        raise HttpError(400, "missing_host", "HTTP/1.1 requests need a Host header")
    connection = headers.get("connection", "").lower()
    keep_alive = "keep-alive" in connection if http_10 else "close" not in connection
    path, _, query = target.partition("?")
    return Request(method, path, query, headers, http_10, keep_alive)


@dataclass(frozen=True)
class HttpLimits:
    """What one client may cost the server.

    Attributes:
        max_head_bytes: request line plus header fields, CRLFs included.
        max_connections: open connections; more are closed at once.
        head_timeout_s: a client must send a whole request head within this
            long of connecting, or of the first byte of its next request.
        idle_timeout_s: a kept-alive connection with no request in progress
            is closed after this long.
    """

    max_head_bytes: int = 8192
    max_connections: int = 256
    head_timeout_s: float = 10.0
    idle_timeout_s: float = 30.0


Handler = Callable[[Request], "Response | Awaitable[Response]"]


# RFC 9110 section 6.6.1 asks for Date; formatting it once a second keeps it
# off the per-request cost.
@functools.lru_cache(maxsize=1)
def _date_line(second: int) -> bytes:
    return b"Date: %s\r\n" % formatdate(second, usegmt=True).encode()


class HttpServer:
    """What all connections of one server share, and the timer that enforces
    the head and idle timeouts.

    Args:
        loop: the serving loop; the server is made on it.
        handler: answers a request, at once or as an awaitable.
        limits: what one client may cost.
        note_rejection: told ``(category, detail)`` of every refused request.

    Give ``protocol_factory`` to ``loop.create_server``; ``close_all`` drops
    every connection.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        handler: Handler,
        limits: HttpLimits,
        note_rejection: Callable[[str, str], None],
    ) -> None:
        self.loop = loop
        self.handler = handler
        self.limits = limits
        self.note_rejection = note_rejection
        self.connections: set[_Connection] = set()
        # One timer for all connections, instead of one per request, keeps
        # timer objects off the per-request cost.
        shortest_s = min(limits.head_timeout_s, limits.idle_timeout_s)
        self._tick_s = min(1.0, max(0.01, shortest_s / 4))
        self._sweeper: asyncio.TimerHandle | None = loop.call_later(
            self._tick_s, self._sweep
        )

    def protocol_factory(self) -> asyncio.Protocol:
        return _Connection(self)

    def close_all(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for connection in list(self.connections):
            connection.abort()

    def _sweep(self) -> None:
        now = self.loop.time()
        for connection in list(self.connections):
            if connection.deadline <= now:
                connection.on_deadline()
        self._sweeper = self.loop.call_later(self._tick_s, self._sweep)


_NO_DEADLINE = float("inf")
_INTERNAL_ERROR = error_response(500, "internal_error", "internal error", close=True)
_MAX_REQUESTS_PER_TURN = 100


class _Connection(asyncio.Protocol):
    """One client connection: reads request heads, answers them in order."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._limits = server.limits
        self._loop = server.loop
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._busy = False
        self._closing = False
        self._eof = False
        self._in_request = False
        self._read_paused = False
        self._read_limit = 2 * server.limits.max_head_bytes
        self._write_paused = False
        self._peer = ""
        self._task: asyncio.Task[None] | None = None
        self.deadline = _NO_DEADLINE

    # asyncio.Protocol callbacks.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        server = self._server
        if len(server.connections) >= self._limits.max_connections:
            limit = self._limits.max_connections
            server.note_rejection(
                "too_many_connections", f"{limit} connections open; closed a new one"
            )
            transport.abort()
            return

        self._transport = transport
        server.connections.add(self)
        peer = transport.get_extra_info("peername")
        self._peer = f"{peer[0]}:{peer[1]}" if peer else "unknown"
        self._in_request = True
        self.deadline = self._loop.time() + self._limits.head_timeout_s

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._closing = True
        self._transport = None
        self.deadline = _NO_DEADLINE
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        if not self._in_request:
            # The first byte of a new request starts its head timer; later
            # bytes do not push it back, so a trickling client runs out.
            self._in_request = True
            self.deadline = self._loop.time() + self._limits.head_timeout_s
        self._buffer = self._buffer + data if self._buffer else data
        if self._busy or self._write_paused:
            self._pace_reading()
        else:
            self._run(answered=False)

    def eof_received(self) -> bool:
        # A half-closed client may still read: answer what it already sent.
        self._eof = True
        if not self._busy and not self._write_paused and not self._closing:
            self._run(answered=False)
        return True

    def pause_writing(self) -> None:
        # The client is not reading its answers; stop making more until it does.
        self._write_paused = True
        self._pace_reading()
        self.deadline = self._loop.time() + self._limits.idle_timeout_s

    def resume_writing(self) -> None:
        self._write_paused = False
        if not self._busy and not self._closing:
            self._run(answered=True)

    # Timeouts and closing.

    def on_deadline(self) -> None:
        """Called by the server's timer once ``deadline`` has passed."""
        if self._closing or self._write_paused:
            # It will not read what is left to send: drop it.
            self.abort()
            return
        if self._busy:
            return
        if self._in_request:
            error = HttpError(408, "request_timeout", "no complete request in time")
            if self._buffer and self._transport is not None:
                out: list[bytes] = []
                self._reject(error, out)
                self._transport.writelines(out)
            else:
                self._server.note_rejection(error.code, f"{self._peer}: sent nothing")
            self._close()
            return
        log.debug("closing idle connection from %s", self._peer)
        self._close()

    def abort(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.abort()

    def _close(self) -> None:
        self._closing = True
        self._buffer = b""
        # close() flushes what is queued; the deadline bounds how long that
        # may take before on_deadline aborts.
        self.deadline = self._loop.time() + self._limits.idle_timeout_s
        if self._transport is not None:
            self._transport.close()

    # Request processing.

    def _run(self, answered: bool) -> None:
        try:
            self._process(answered)
        except Exception:
            # A bug must cost this one connection, never the server.
            log.exception("unexpected error on a connection from %s", self._peer)
            self.abort()

    def _pace_reading(self) -> None:
        # Read while answers flow and little is waiting; this bounds what one
        # client can make the server hold to one read beyond the threshold.
        transport = self._transport
        if transport is None:
            return
        wanted = not self._write_paused and len(self._buffer) <= self._read_limit
        if wanted and self._read_paused:
            transport.resume_reading()
        elif not wanted and not self._read_paused:
            transport.pause_reading()
        self._read_paused = not wanted

    def _process(self, answered: bool) -> None:
        transport = self._transport
        if transport is None or self._closing:
            return

        out: list[bytes] = []
        buffer = self._buffer
        max_head = self._limits.max_head_bytes
        # Requests are found by offset and the buffer is cut once at the
        # end: cutting it per request would copy it once per request.
        start = 0
        served = 0
        keep_alive = True
        while start < len(buffer) and keep_alive:
            first = buffer[start]
            if first in (13, 10):
                # RFC 9112 section 2.2: ignore empty lines before a request.
                start += 1
                continue
            if served == _MAX_REQUESTS_PER_TURN:
                # Let other connections run before a long pipeline goes on.
                self._busy = True
                self._loop.call_soon(self._continue)
                break

            end = buffer.find(b"\r\n\r\n", start, start + max_head)
            if end < 0:
                if len(buffer) - start >= max_head:
                    error = HttpError(431, "headers_too_large", "head too large")
                    keep_alive = self._reject(error, out)
                elif not 65 <= first <= 90:
                    # Not a method's first letter: TLS, garbage, another protocol.
                    error = HttpError(400, "bad_request", "not an HTTP request")
                    keep_alive = self._reject(error, out)
                break
            head = buffer[start:end]
            start = end + 4

            try:
                request = parse_head(head)
            except HttpError as error:
                keep_alive = self._reject(error, out)
                break
            request.peer = self._peer
            served += 1
            answered = True
            try:
                result = self._server.handler(request)
            except Exception:
                log.exception("the request handler failed")
                result = _INTERNAL_ERROR

            if isinstance(result, Response):
                keep_alive = request.keep_alive and not result.close
                out.append(
                    _serialise(result, request.method, keep_alive, request.http_10)
                )
                continue

            # The handler has to wait (for a refresh, or to slow a guesser):
            # later pipelined requests wait too, so answers stay in order.
            self._busy = True
            self.deadline = _NO_DEADLINE
            self._task = self._loop.create_task(self._finish(request, result))
            break

        if start:
            buffer = buffer[start:]
        self._buffer = buffer
        if out:
            transport.writelines(out)
        if self._closing:
            return
        if not keep_alive:
            self._close()
            return
        self._pace_reading()
        if self._busy:
            return
        if self._eof:
            self._close()
            return
        if answered:
            # Start the next timer: a partial head has head_timeout_s from
            # now, an empty buffer means the connection is idle.
            self._in_request = bool(buffer)
            timeout_s = (
                self._limits.head_timeout_s if buffer else self._limits.idle_timeout_s
            )
            self.deadline = self._loop.time() + timeout_s

    def _continue(self) -> None:
        self._busy = False
        if not self._write_paused:
            self._run(answered=True)

    def _reject(self, error: HttpError, out: list[bytes]) -> bool:
        """Queues the error answer; returns False: the connection must close."""
        self._server.note_rejection(error.code, f"{self._peer}: {error.message}")
        response = error_response(error.status, error.code, error.message, close=True)
        out.append(_serialise(response, "", False, False))
        return False

    async def _finish(self, request: Request, pending: Awaitable[Response]) -> None:
        try:
            response = await pending
        except Exception:
            log.exception("the request handler failed")
            response = _INTERNAL_ERROR
        self._task = None
        self._busy = False
        if self._transport is None or self._closing:
            return

        keep_alive = request.keep_alive and not response.close
        self._transport.write(
            _serialise(response, request.method, keep_alive, request.http_10)
        )
        if not keep_alive:
            self._close()
        elif not self._write_paused:
            self._run(answered=True)


def _serialise(
    response: Response, method: str, keep_alive: bool, http_10: bool
) -> bytes:
    if not keep_alive:
        connection = b"Connection: close\r\n"
    else:
        connection = b"Connection: keep-alive\r\n" if http_10 else b""
    # HEAD gets the GET answer's headers, Content-Length included, no body.
    body = b"" if method == "HEAD" else response.body
    return b"".join(
        (
            _STATUS_LINES[response.status],
            _date_line(int(time.time())),
            response.headers,
            b"Content-Length: %d\r\n" % len(response.body),
            connection,
            b"\r\n",
            body,
        )
    )
