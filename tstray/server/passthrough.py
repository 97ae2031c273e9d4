"""The pass-through: ``/v1/api/live/<path>`` and ``/v1/api/sim/<path>`` sent on
to TradeStation's API with the access token added.

A program that uses it never handles a token at all. The request's method,
body, query and a safe few headers go upstream with ``Authorization: Bearer``
and the session's token; the answer streams back chunk by chunk as it
arrives, so TradeStation's long-lived quote and order streams work. A 401
from upstream costs one refresh (shared with every request that hit it
together, and at most one per ``forced_refresh_interval_s``) and one retry.

It runs on the service's own loop with its own ``httpx.AsyncClient``, made
(and httpx imported) on the first forwarded request: most users never use
the pass-through, and httpx with its TLS set-up costs about 11 MB. It never
forwards the local API key or any other client header beyond the safe ones,
never sends the token anywhere but the configured bases, never buffers an
answer whole, and never logs a path, a query, a header or a body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import unquote

from tstray.server.http import (
    COMMON_HEADERS,
    Answer,
    BodyWriter,
    Request,
    Response,
    StreamResponse,
    error_response,
)
from tstray.session.state import SessionSnapshot, SessionState

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

PREFIX = "/v1/api/"
METHODS = ("GET", "POST", "PUT", "DELETE")
BODY_METHODS = frozenset({"POST", "PUT", "DELETE"})
MAX_BODY_BYTES = 1024 * 1024

# A token this close to expiry could lapse on the way; refresh first.
_MIN_TTL_S = 5.0
# Unreserved and sub-delimiter characters, "%", ":", "@" and "/": a path
# segment as RFC 3986 spells it, nothing that could become a fragment, a
# backslash or a second authority on the way.
_SAFE_PATH = re.compile(r"[A-Za-z0-9\-._~%!$&'()*+,;=:@/]+")
_FORWARDED_REQUEST_HEADERS = ("content-type", "accept")
_FORWARDED_ANSWER_HEADERS = frozenset(
    {b"content-type", b"content-encoding", b"retry-after"}
)
_KNOWN_STATUSES = frozenset(status.value for status in HTTPStatus)

SnapshotReader = Callable[[], SessionSnapshot]
Refresher = Callable[[float], Awaitable[SessionSnapshot]]
Unavailable = Callable[[SessionSnapshot], Response]


class Passthrough:
    """Forwards requests to TradeStation's API on the serving loop.

    Args:
        upstreams: base URL per name, ``{"live": ..., "sim": ...}``.
        snapshot: a cheap, thread-safe read of the current session.
        clock: the wall clock, UTC.
        refreshed: asks the session (shared, time-limited) for a snapshot
            whose token lives at least the given seconds more.
        unavailable: the 503 answer for a snapshot without a usable token.
        timeout: the upstream timeouts; ``read`` bounds the silence within
            a stream too.
        forced_refresh_interval_s: the least time between two refreshes
            forced by upstream 401s, so a key TradeStation refuses for
            another reason cannot make every request refresh.
    """

    def __init__(
        self,
        *,
        upstreams: Mapping[str, str],
        snapshot: SnapshotReader,
        clock: Callable[[], datetime],
        refreshed: Refresher,
        unavailable: Unavailable,
        timeout: httpx.Timeout | None = None,
        forced_refresh_interval_s: float = 30.0,
    ) -> None:
        self._upstreams = {
            f"{PREFIX}{name}/": url.rstrip("/") for name, url in upstreams.items()
        }
        self._snapshot = snapshot
        self._clock = clock
        self._refreshed = refreshed
        self._unavailable = unavailable
        self._timeout = timeout
        self._open = False
        self._forced_refresh_interval_s = forced_refresh_interval_s
        self._forced: asyncio.Future[SessionSnapshot] | None = None
        self._forced_at = 0.0
        self._client: httpx.AsyncClient | None = None

    def matches(self, path: str) -> bool:
        """True for a path this forwards (``/v1/api/<name>/...``)."""
        return path.startswith(PREFIX) and self._base_of(path) is not None

    def accepts_body(self, request: Request) -> bool:
        return request.method in BODY_METHODS and self.matches(request.path)

    def open(self) -> None:
        """Starts forwarding; call on the serving loop's thread. The HTTP
        client is made there on the first request."""
        self._open = True

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                timeout=self._timeout or httpx.Timeout(30.0, connect=10.0, read=300.0),
                follow_redirects=False,
                # Streams are long-lived: the number open is bounded by the
                # local service's own connection limit instead.
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=16),
            )
        return self._client

    async def aclose(self) -> None:
        self._open = False
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def handle(self, request: Request) -> Answer:
        """Forwards one request (it already passed the gate)."""
        found = self._base_of(request.path)
        if found is None or not self._open:
            return error_response(404, "not_found", "no such path")
        prefix, base = found
        rest = request.path[len(prefix) :]
        if not _is_safe_path(rest):
            message = "the API path has characters or segments that are not allowed"
            return error_response(400, "invalid_path", message)
        url = f"{base}/{rest}" + (f"?{request.query}" if request.query else "")

        snapshot, token = await self._usable_token()
        if token is None:
            return self._unavailable(snapshot)

        import httpx

        client = self._http_client()
        name = prefix[len(PREFIX) : -1]
        answer: httpx.Response | None = None
        try:
            answer = await self._send(client, request, url, token)
            if answer.status_code == 401:
                newer = await self._token_after_401(snapshot, token)
                if newer is not None:
                    log.info("%s API refused the token; retrying after a refresh", name)
                    await answer.aclose()
                    answer = None
                    answer = await self._send(client, request, url, newer)
        except httpx.HTTPError as exc:
            log.warning("the %s API could not be reached: %s", name, type(exc).__name__)
            message = f"the TradeStation {name} API could not be reached"
            return error_response(502, "upstream_unreachable", message)
        except BaseException:
            # The client left meanwhile: give the upstream connection back.
            if answer is not None:
                await answer.aclose()
            raise
        log.debug("%s %s API answered %d", request.method, name, answer.status_code)
        return await _relay(answer, name)

    # Steps.

    def _base_of(self, path: str) -> tuple[str, str] | None:
        for prefix, base in self._upstreams.items():
            if path.startswith(prefix):
                return prefix, base
        return None

    async def _usable_token(self) -> tuple[SessionSnapshot, str | None]:
        snapshot = self._snapshot()
        token = snapshot.token_if_valid(self._clock(), _MIN_TTL_S)
        if token is not None:
            return snapshot, token
        if snapshot.state in (SessionState.SIGNED_OUT, SessionState.SIGN_IN_NEEDED):
            return snapshot, None
        with contextlib.suppress(Exception):
            snapshot = await self._refreshed(_MIN_TTL_S)
        return snapshot, snapshot.token_if_valid(self._clock(), _MIN_TTL_S)

    async def _send(
        self, client: httpx.AsyncClient, request: Request, url: str, token: str
    ) -> httpx.Response:
        headers = {
            name: request.headers[name]
            for name in _FORWARDED_REQUEST_HEADERS
            if name in request.headers
        }
        headers["authorization"] = f"Bearer {token}"
        # Bytes are relayed as they come, so they must not be compressed.
        headers["accept-encoding"] = "identity"
        upstream = client.build_request(
            request.method, url, headers=headers, content=request.body or None
        )
        return await client.send(upstream, stream=True)

    async def _token_after_401(self, used: SessionSnapshot, token: str) -> str | None:
        """A token other than ``token`` after at most one forced refresh."""
        current = self._snapshot()
        newer = current.token_if_valid(self._clock(), _MIN_TTL_S)
        if newer is not None and newer != token:
            return newer  # refreshed meanwhile

        forced = self._forced
        if forced is None or (
            forced.done()
            and time.monotonic() - self._forced_at >= self._forced_refresh_interval_s
        ):
            # Asking for more life than the refused token had left makes
            # the session refresh, whatever its schedule says.
            left_s = max(0.0, used.seconds_left(self._clock()) or 0.0)
            forced = asyncio.ensure_future(self._refreshed(left_s + 1.0))
            # Its failure is read here, even if every waiter went away.
            forced.add_done_callback(_read_outcome)
            self._forced = forced
            self._forced_at = time.monotonic()
        with contextlib.suppress(Exception):
            await asyncio.shield(forced)

        newer = self._snapshot().token_if_valid(self._clock(), _MIN_TTL_S)
        return newer if newer is not None and newer != token else None


def _read_outcome(future: asyncio.Future[SessionSnapshot]) -> None:
    if not future.cancelled():
        future.exception()


def _is_safe_path(rest: str) -> bool:
    if not rest or _SAFE_PATH.fullmatch(rest) is None:
        return False
    # Dot segments would climb out of the base path once normalised.
    segments = unquote(rest).split("/")
    return not any(segment in (".", "..") for segment in segments) and "\\" not in (
        unquote(rest)
    )


async def _relay(answer: httpx.Response, name: str) -> Answer:
    if answer.status_code not in _KNOWN_STATUSES:
        await answer.aclose()
        message = f"the TradeStation {name} API answered with an unknown status"
        return error_response(502, "upstream_unreachable", message)

    # The raw bytes relayed need their encoding named, should upstream have
    # compressed despite the request for identity.
    headers = b"".join(
        b"%s: %s\r\n" % (name, value)
        for name, value in answer.headers.raw
        if name.lower() in _FORWARDED_ANSWER_HEADERS
    )

    async def produce(writer: BodyWriter) -> None:
        try:
            if writer.closed:
                return  # the client left before the answer began
            async for chunk in answer.aiter_raw():
                writer.write(chunk)
                if writer.closed:
                    return
                # Read no faster than the client reads: nothing piles up.
                await writer.drain()
        finally:
            await answer.aclose()

    # Tells TradeStation's own answers (a 401 included) from tstray's.
    origin = b"X-Tstray-Upstream: %s\r\n" % name.encode()
    return StreamResponse(
        answer.status_code, headers + origin + COMMON_HEADERS, produce
    )
