"""The connections of the local token service's HTTP server, on a plain
asyncio event loop.

``HttpServer`` holds what all connections of one listener share and the one
timer that enforces the head and idle timeouts; ``_Connection`` reads request
heads (parsed by ``tstray.server.http``), answers them in order, pipelining
and keep-alive included, and streams the answers that come in pieces.
Nothing a client sends can make a connection read a body a route does not
take, buffer more than one bounded request, stay open forever or disturb
another connection. It never logs header values or request targets, because
they can carry the API key or a token, and it never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from tstray.server.http import (
    Answer,
    ChunkWriter,
    Handler,
    HttpError,
    HttpLimits,
    Request,
    Response,
    StreamResponse,
    error_response,
    parse_head,
    serialise_response,
    serialise_stream_head,
)

log = logging.getLogger(__name__)


class HttpServer:
    """What all connections of one server share, and the timer that enforces
    the head and idle timeouts.

    Args:
        loop: the serving loop; the server is made on it.
        handler: answers a request, at once or as an awaitable.
        limits: what one client may cost.
        note_rejection: told ``(category, detail)`` of every refused request.
        accepts_body: whether a request (its head parsed) may send a body of
            up to ``limits.max_body_bytes``; by default none may.

    Give ``protocol_factory`` to ``loop.create_server``; ``close_all`` drops
    every connection.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        handler: Handler,
        limits: HttpLimits,
        note_rejection: Callable[[str, str], None],
        accepts_body: Callable[[Request], bool] | None = None,
    ) -> None:
        self.loop = loop
        self.handler = handler
        self.limits = limits
        self.note_rejection = note_rejection
        self.accepts_body = accepts_body or (lambda request: False)
        self.connections: set[_Connection] = set()
        # One timer for all connections, instead of one per request, keeps
        # timer objects off the per-request cost.
        shortest_s = min(limits.head_timeout_s, limits.idle_timeout_s)
        self._tick_s = min(1.0, max(0.01, shortest_s / 4))
        # Armed only while connections are open, so an idle tray never wakes.
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed = False

    def protocol_factory(self) -> asyncio.Protocol:
        return _Connection(self)

    def keep_sweeping(self) -> None:
        """Makes sure deadlines are checked while a connection is open."""
        if self._sweeper is None and not self._closed:
            self._sweeper = self.loop.call_later(self._tick_s, self._sweep)

    def evict_one_waiting(self) -> bool:
        """Makes room for a new connection by closing the one that has waited
        longest without sending a whole request (or sits idle).

        Without this, a local program holding every slot with half-sent
        requests (no key needed for that) would lock everyone else out until
        the head timeout; this way it only ever loses its own oldest ones.
        Connections busy with an answer (event streams) are never closed.
        """
        waiting = [c for c in self.connections if c.waiting_for_request]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: c.opened_at)
        self.note_rejection(
            "evicted", "all slots taken; closed the longest-waiting one"
        )
        oldest.abort()
        self.connections.discard(oldest)
        return True

    def close_all(self) -> None:
        self._closed = True
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
        self._sweeper = None
        if self.connections:
            self.keep_sweeping()


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
        self._drain_waiter: asyncio.Future[None] | None = None
        self._sent_continue = False
        self._streaming = False
        self.opened_at = 0.0
        self.deadline = _NO_DEADLINE

    # asyncio.Protocol callbacks.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        server = self._server
        if len(server.connections) >= self._limits.max_connections and not (
            server.evict_one_waiting()
        ):
            limit = self._limits.max_connections
            server.note_rejection(
                "too_many_connections", f"{limit} connections open; closed a new one"
            )
            transport.abort()
            return

        self._transport = transport
        self.opened_at = self._loop.time()
        server.connections.add(self)
        server.keep_sweeping()
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
        self._wake_drain_waiter()

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
        if self._streaming:
            # An event stream or pass-through has no end to wait for: a client
            # that closed its side has left, and its slot is freed at once.
            self.abort()
            return False
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
        self._wake_drain_waiter()
        if not self._busy and not self._closing:
            self._run(answered=True)

    @property
    def waiting_for_request(self) -> bool:
        """Not answering anything: a request head is awaited or half-sent."""
        return not self._busy and not self._closing

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
            head_start = start
            start = end + 4

            try:
                request = parse_head(head, self._limits.max_body_bytes)
            except HttpError as error:
                keep_alive = self._reject(error, out)
                break
            request.peer = self._peer
            if "content-length" in request.headers and request.body_length:
                body = self._take_body(request, buffer, start, out)
                if body is None:
                    keep_alive = False
                    break
                if not body:
                    start = head_start  # parsed again once the body is here
                    break
                request.body = body
                start += len(body)
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
                    serialise_response(
                        result, request.method, keep_alive, request.http_10
                    )
                )
                continue

            # The handler has to wait (for a refresh, or to slow a guesser),
            # or streams: later pipelined requests wait, so answers stay in
            # order.
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
        out.append(serialise_response(response, "", False, False))
        return False

    def _take_body(
        self, request: Request, buffer: bytes, start: int, out: list[bytes]
    ) -> bytes | None:
        """The whole body; b"" while it is still on its way; None when the
        route takes none (the refusal is queued in ``out``)."""
        if not self._server.accepts_body(request):
            error = HttpError(413, "body_not_allowed", "this route takes no body")
            self._reject(error, out)
            return None

        length = request.body_length
        if len(buffer) - start >= length:
            self._sent_continue = False
            self._read_limit = 2 * self._limits.max_head_bytes
            return buffer[start : start + length]

        # Read on until the whole body is here (still within the request's
        # time limit), and tell a client that waits for leave to send it.
        self._read_limit = start + length + self._limits.max_head_bytes
        if (
            not self._sent_continue
            and "100-continue" in request.headers.get("expect", "").lower()
        ):
            self._sent_continue = True
            out.append(b"HTTP/1.1 100 Continue\r\n\r\n")
        return b""

    async def _finish(
        self, request: Request, pending: Answer | Awaitable[Answer]
    ) -> None:
        if isinstance(pending, Response | StreamResponse):
            response: Answer = pending
        else:
            try:
                response = await pending
            except Exception:
                log.exception("the request handler failed")
                response = _INTERNAL_ERROR

        if isinstance(response, StreamResponse):
            keep_alive = await self._stream(request, response)
        else:
            keep_alive = request.keep_alive and not response.close
            if not self.closing:
                assert self._transport is not None
                self._transport.write(
                    serialise_response(
                        response, request.method, keep_alive, request.http_10
                    )
                )
        self._task = None
        self._busy = False
        if self.closing:
            return
        if not keep_alive:
            self._close()
        elif not self._write_paused:
            self._run(answered=True)

    async def _stream(self, request: Request, response: StreamResponse) -> bool:
        """Sends a streamed answer; returns whether the connection may go on."""
        transport = None if self._closing else self._transport
        chunked = not request.http_10
        if transport is not None:
            transport.write(serialise_stream_head(response, chunked))
        # Even for a client already gone the producer runs, seeing the writer
        # closed, so that it lets go of what it holds (an upstream answer).
        writer = ChunkWriter(self, transport, chunked)
        self._streaming = True
        try:
            await response.produce(writer)
        except Exception as exc:
            # The client must not take a cut-short body for a whole one.
            log.warning(
                "a streamed answer to %s broke off: %s", self._peer, type(exc).__name__
            )
            self.abort()
            return False
        finally:
            self._streaming = False
        if transport is None or writer.closed or not chunked:
            return False
        transport.write(b"0\r\n\r\n")
        return request.keep_alive

    async def wait_writable(self) -> None:
        """Returns once the client reads again (or the connection is gone)."""
        while self._write_paused and not self._closing:
            self._drain_waiter = self._loop.create_future()
            await self._drain_waiter

    @property
    def closing(self) -> bool:
        return self._closing or self._transport is None

    def _wake_drain_waiter(self) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
