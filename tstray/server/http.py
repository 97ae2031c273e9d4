"""HTTP/1.1 messages for the local token service: parsing request heads,
serialising answers, and the limits a client must stay within.

It understands just enough HTTP for the service: requests with at most a
bounded ``Content-Length`` body (only where a route takes one), answers with
``Content-Length`` or, for streams, chunked. Anything it does not understand
is an ``HttpError`` (a 4xx/5xx answer, then the connection closes); a chunked
request body is never accepted, so a body can never be mistaken for the next
request. The connections
themselves live in ``tstray.server.connection``. It never logs header values
or request targets, because they can carry the API key or a token.
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
from typing import Protocol

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
        body: the request body (empty unless the route takes one).
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    http_10: bool
    keep_alive: bool
    peer: str = ""
    body: bytes = b""

    @property
    def body_length(self) -> int:
        """The announced ``Content-Length`` (checked by ``parse_head``)."""
        return int(self.headers.get("content-length", "0"))


class BodyWriter(Protocol):
    """Where a ``StreamResponse`` writes its body, on the serving loop."""

    def write(self, data: bytes) -> None:
        """Sends ``data`` as it is (one chunk); empty data is skipped."""

    async def drain(self) -> None:
        """Waits until the client has read enough to send more."""

    @property
    def buffered_bytes(self) -> int:
        """Bytes written but not yet taken by the client's socket."""

    @property
    def closed(self) -> bool:
        """True once the connection is gone or closing."""

    def close(self) -> None:
        """Drops the connection (a client too slow to keep up)."""


@dataclass(slots=True)
class StreamResponse:
    """An answer whose body is made over time (events, pass-through).

    Attributes:
        status: the HTTP status code.
        headers: extra header lines, each ending in CRLF, already encoded.
        produce: writes the body; the answer ends when it returns. If it
            raises, the connection is dropped, so the client sees the answer
            cut short rather than complete.
    """

    status: int
    headers: bytes
    produce: Callable[[BodyWriter], Awaitable[None]]


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


def parse_head(head: bytes, max_body_bytes: int = 0) -> Request:
    """Parses a request line and header fields (without the final CRLF CRLF).

    Args:
        head: the request line and header fields.
        max_body_bytes: the largest ``Content-Length`` accepted; whether the
            route takes a body at all is the caller's to check.

    Raises:
        HttpError: the head is malformed, uses another HTTP version, or
            announces a chunked body or one over ``max_body_bytes``.
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

    # Only a body of known length is read, so where one request ends is never
    # in doubt and a body can never be mistaken for the next one (smuggling).
    if "transfer-encoding" in headers:
        raise HttpError(501, "transfer_encoding", "chunked request bodies are refused")
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit() or not length.isascii():
            raise HttpError(400, "bad_request", "malformed Content-Length")
        if int(length) > max_body_bytes:
            if max_body_bytes == 0:
                message = "request bodies are not accepted"
            else:
                message = f"request bodies are limited to {max_body_bytes} bytes"
            raise HttpError(413, "body_not_allowed", message)

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
        max_body_bytes: the largest request body, on routes that take one;
            it must arrive within ``head_timeout_s`` too.
    """

    max_head_bytes: int = 8192
    max_connections: int = 256
    head_timeout_s: float = 10.0
    idle_timeout_s: float = 30.0
    max_body_bytes: int = 0


Answer = Response | StreamResponse
Handler = Callable[[Request], "Answer | Awaitable[Answer]"]


# RFC 9110 section 6.6.1 asks for Date; formatting it once a second keeps it
# off the per-request cost.
@functools.lru_cache(maxsize=1)
def _date_line(second: int) -> bytes:
    return b"Date: %s\r\n" % formatdate(second, usegmt=True).encode()


def serialise_response(
    response: Response, method: str, keep_alive: bool, http_10: bool
) -> bytes:
    """The bytes of one whole answer: status line, headers, body.

    Args:
        response: the answer.
        method: the request's method; a HEAD answer carries no body.
        keep_alive: False adds ``Connection: close``.
        http_10: an HTTP/1.0 client needs ``Connection: keep-alive`` spelled out.
    """
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


def serialise_stream_head(response: StreamResponse, chunked: bool) -> bytes:
    """The status line and headers of a streamed answer.

    An HTTP/1.1 client gets the body chunked and the connection may carry
    on; an HTTP/1.0 client gets it until the connection closes.
    """
    framing = b"Transfer-Encoding: chunked\r\n" if chunked else b"Connection: close\r\n"
    return b"".join(
        (
            _STATUS_LINES[response.status],
            _date_line(int(time.time())),
            response.headers,
            framing,
            b"\r\n",
        )
    )


class StreamOwner(Protocol):
    """What a ``ChunkWriter`` needs of its connection."""

    @property
    def closing(self) -> bool:
        """True once the connection is gone or closing."""

    async def wait_writable(self) -> None:
        """Returns once the client reads again (or the connection is gone)."""

    def abort(self) -> None:
        """Drops the connection at once."""


class ChunkWriter:
    """The ``BodyWriter`` of one streamed answer: frames each write as a
    chunk for HTTP/1.1, sends it as it is for HTTP/1.0.

    Args:
        owner: the connection.
        transport: where to write; None when the client is already gone.
        chunked: frame the body in chunks.
    """

    def __init__(
        self,
        owner: StreamOwner,
        transport: asyncio.WriteTransport | None,
        chunked: bool,
    ) -> None:
        self._owner = owner
        self._transport = transport
        self._chunked = chunked

    def write(self, data: bytes) -> None:
        if not data or self._transport is None or self.closed:
            return
        if self._chunked:
            self._transport.writelines((b"%x\r\n" % len(data), data, b"\r\n"))
        else:
            self._transport.write(data)

    async def drain(self) -> None:
        await self._owner.wait_writable()

    @property
    def buffered_bytes(self) -> int:
        if self._transport is None or self.closed:
            return 0
        return self._transport.get_write_buffer_size()

    @property
    def closed(self) -> bool:
        return self._transport is None or self._owner.closing

    def close(self) -> None:
        self._owner.abort()
