"""``GET /v1/events``: the session's changes as server-sent events.

A long-running client keeps one connection open and learns of every change
without polling: an ``event: state`` (the ``/v1/status`` JSON) when the
session changes and an ``event: token`` (the ``/v1/token`` JSON) when a new
access token is published, plus a comment line every ``heartbeat_s`` so that
a dead client is noticed. The session's snapshots arrive from the GUI loop
through ``publish``, which only hands them over to the serving loop.

It never blocks either loop, never lets one slow client hold more than
``max_buffered_bytes`` of unsent events (that client is dropped), never
serves more than ``max_subscribers`` streams at once, and never logs an
event's content: token events carry the access token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tstray.server.http import (
    COMMON_HEADERS,
    BodyWriter,
    Response,
    StreamResponse,
    error_response,
)
from tstray.session.state import SessionSnapshot

log = logging.getLogger(__name__)

StatePayload = Callable[[SessionSnapshot, datetime], dict[str, Any]]
TokenPayload = Callable[[SessionSnapshot, str, datetime], dict[str, Any]]

EVENT_HEADERS = (
    b"Content-Type: text/event-stream; charset=utf-8\r\n"
    # Asks a reverse proxy, should a user put one in front, not to hold events.
    + b"X-Accel-Buffering: no\r\n"
    + COMMON_HEADERS
)
# Tells EventSource clients how long to wait before reconnecting.
_PREAMBLE = b"retry: 3000\n\n"
_HEARTBEAT = b": keep-alive\n\n"
# A subscription whose stream has not begun within this long is given up:
# its connection closed before the answer could start.
_RESERVATION_S = 10.0


@dataclass(eq=False)
class _Subscriber:
    reserved_at: float
    writer: BodyWriter | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class EventHub:
    """Fans the session's changes out to the ``/v1/events`` streams.

    ``open`` and ``close`` run on the serving loop (at start and stop),
    ``subscribe`` is the route, ``publish`` may be called from any thread.

    Args:
        snapshot: a cheap, thread-safe read of the current session.
        clock: the wall clock, UTC.
        state_payload: the ``/v1/status`` JSON of a snapshot.
        token_payload: the ``/v1/token`` JSON of a snapshot and its token.
        max_subscribers: streams open at once; more get 503.
        heartbeat_s: how often every stream gets a comment line.
        max_buffered_bytes: unsent bytes a stream may hold before its client
            is dropped as too slow.
    """

    def __init__(
        self,
        *,
        snapshot: Callable[[], SessionSnapshot],
        clock: Callable[[], datetime],
        state_payload: StatePayload,
        token_payload: TokenPayload,
        max_subscribers: int = 32,
        heartbeat_s: float = 15.0,
        max_buffered_bytes: int = 256 * 1024,
    ) -> None:
        self._snapshot = snapshot
        self._clock = clock
        self._state_payload = state_payload
        self._token_payload = token_payload
        self._max_subscribers = max_subscribers
        self._heartbeat_s = heartbeat_s
        self._max_buffered_bytes = max_buffered_bytes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._heartbeat: asyncio.TimerHandle | None = None
        self._subscribers: set[_Subscriber] = set()
        self._last_state: dict[str, Any] | None = None
        self._last_token: str | None = None

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def open(self, loop: asyncio.AbstractEventLoop) -> None:
        """Starts serving on ``loop`` (the serving loop, which runs this)."""
        self._subscribers.clear()
        current = self._snapshot()
        now = self._clock()
        self._last_state = _without_countdown(self._state_payload(current, now))
        self._last_token = current.token_if_valid(now)
        self._heartbeat = loop.call_later(self._heartbeat_s, self._beat)
        self._loop = loop

    def close(self) -> None:
        """Ends every stream; ``publish`` does nothing until ``open``."""
        self._loop = None
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        for subscriber in self._subscribers:
            subscriber.ended.set()
        self._subscribers.clear()

    def publish(self, snapshot: SessionSnapshot) -> None:
        """Hands a new snapshot to the streams; safe from any thread, never
        blocks. Meant as a session listener."""
        loop = self._loop
        if loop is None:
            return
        # The loop may close between the read above and this call (the
        # service is stopping): then there is no one left to tell.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._deliver, snapshot)

    def subscribe(self) -> Response | StreamResponse:
        """The ``GET /v1/events`` route (the request already passed the gate)."""
        loop = self._loop
        if loop is None:
            return error_response(503, "unavailable", "the service is stopping")
        if len(self._subscribers) >= self._max_subscribers:
            self._forget_stale_reservations(loop.time())
        if len(self._subscribers) >= self._max_subscribers:
            log.warning(
                "refused an event stream: %d streams already open",
                self._max_subscribers,
            )
            message = f"at most {self._max_subscribers} event streams at once"
            return error_response(503, "too_many_subscribers", message)

        # Counted from now, so a burst of requests cannot overshoot the limit
        # before their streams begin.
        subscriber = _Subscriber(reserved_at=loop.time())
        self._subscribers.add(subscriber)

        async def produce(writer: BodyWriter) -> None:
            await self._stream(subscriber, writer)

        return StreamResponse(200, EVENT_HEADERS, produce)

    # The streams, on the serving loop.

    async def _stream(self, subscriber: _Subscriber, writer: BodyWriter) -> None:
        if subscriber not in self._subscribers:
            return  # the hub closed meanwhile
        subscriber.writer = writer
        try:
            snapshot = self._snapshot()
            now = self._clock()
            first = [_PREAMBLE, _frame("state", self._state_payload(snapshot, now))]
            token = snapshot.token_if_valid(now)
            if token is not None:
                first.append(_frame("token", self._token_payload(snapshot, token, now)))
            writer.write(b"".join(first))
            if not writer.closed:
                await subscriber.ended.wait()
        finally:
            self._subscribers.discard(subscriber)

    def _deliver(self, snapshot: SessionSnapshot) -> None:
        now = self._clock()
        frames = []
        state = self._state_payload(snapshot, now)
        # expires_in counts down by itself; only real changes are events.
        comparable = _without_countdown(state)
        if comparable != self._last_state:
            self._last_state = comparable
            frames.append(_frame("state", state))
        token = snapshot.token_if_valid(now)
        if token is not None and token != self._last_token:
            self._last_token = token
            frames.append(_frame("token", self._token_payload(snapshot, token, now)))
        if frames:
            self._broadcast(b"".join(frames))

    def _beat(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._broadcast(_HEARTBEAT)
        self._forget_stale_reservations(loop.time())
        self._heartbeat = loop.call_later(self._heartbeat_s, self._beat)

    def _broadcast(self, data: bytes) -> None:
        for subscriber in list(self._subscribers):
            writer = subscriber.writer
            if writer is None:
                continue  # not begun; its first events will be current
            if writer.closed:
                subscriber.ended.set()
                continue
            if writer.buffered_bytes + len(data) > self._max_buffered_bytes:
                log.warning(
                    "dropped an event stream whose client stopped reading"
                    " (%d bytes unsent)",
                    writer.buffered_bytes,
                )
                subscriber.ended.set()
                self._subscribers.discard(subscriber)
                writer.close()
                continue
            writer.write(data)

    def _forget_stale_reservations(self, now: float) -> None:
        for subscriber in list(self._subscribers):
            if subscriber.writer is None and now - subscriber.reserved_at > (
                _RESERVATION_S
            ):
                self._subscribers.discard(subscriber)


def _frame(event: str, payload: dict[str, Any]) -> bytes:
    # Compact JSON has no newline, so each event's data is one line.
    data = json.dumps(payload, separators=(",", ":"))
    return f"event: {event}\ndata: {data}\n\n".encode()


def _without_countdown(state: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in state.items() if name != "expires_in"}
