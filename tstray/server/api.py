"""The local token service's routes: ``/v1/token``, ``/v1/status``,
``/v1/events``, ``/v1/openapi.json``, the ``/v1/api/*`` pass-through and
``/healthz``.

Every request passes the same gate first: an exact loopback ``Host`` (which
defeats DNS rebinding), no ``Origin`` (browsers' cross-site requests) unless
the user listed it, no proxy headers, no credential in the URL, and on ``/v1/*`` the API key as a
bearer token. The routes then read the session's immutable snapshot; when the
token is too old they ask the session, on the GUI loop, for a fresh one. This
module never logs a header value, the API key or a token, never serves a token
that has expired by the wall clock, and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from urllib.parse import parse_qsl

from tstray.config import ApiSettings
from tstray.server import openapi, passthrough
from tstray.server.cors import CorsPolicy
from tstray.server.events import EventHub
from tstray.server.http import (
    COMMON_HEADERS,
    Answer,
    Request,
    Response,
    error_response,
)
from tstray.server.passthrough import Passthrough

# iso_utc stays importable from here, where it used to live.
from tstray.server.payloads import iso_utc as iso_utc
from tstray.server.payloads import (
    json_response,
    status_payload,
    token_payload,
)
from tstray.session.state import SessionSnapshot, SessionState

log = logging.getLogger(__name__)

SnapshotReader = Callable[[], SessionSnapshot]
FreshTokenGetter = Callable[[float], Awaitable[SessionSnapshot]]

MAX_MIN_TTL_S = 3600
_MIN_TTL = re.compile(r"[0-9]{1,4}(\.[0-9]{1,6})?")
# Names under which clients are known to put credentials in URLs. URLs end up
# in shell history, proxies and logs, so such a request is refused outright.
_SECRET_PARAMS = frozenset({"key", "api_key", "apikey", "access_token", "token"})
_PROXY_HEADERS = frozenset(
    {"x-forwarded-for", "x-forwarded-host", "x-real-ip", "forwarded", "via"}
)
_TEXT_HEADERS = b"Content-Type: text/plain; charset=utf-8\r\n" + COMMON_HEADERS
_HEALTHY = Response(200, b"ok", _TEXT_HEADERS)
_UNHEALTHY = Response(503, b"unavailable", _TEXT_HEADERS)


class RejectionLog:
    """Logs refused requests without letting a flood of them flood the log.

    Every refusal is one DEBUG line; a WARNING per category is written at most
    once per ``interval_s``, counting the refusals since the last one.
    """

    def __init__(
        self, interval_s: float = 60.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval_s = interval_s
        self._monotonic = monotonic
        self._last_warning_at: dict[str, float] = {}
        self._since_warning: dict[str, int] = {}

    def note(self, category: str, detail: str) -> None:
        """Records one refusal. ``detail`` must not hold request content."""
        now = self._monotonic()
        count = self._since_warning.get(category, 0) + 1
        last = self._last_warning_at.get(category)
        if last is not None and now - last < self._interval_s:
            self._since_warning[category] = count
            log.debug("refused a request (%s): %s", category, detail)
            return
        self._last_warning_at[category] = now
        self._since_warning[category] = 0
        if count == 1:
            log.warning("refused a request (%s): %s", category, detail)
        else:
            log.warning(
                "refused %d requests (%s) since the last warning; latest: %s",
                count,
                category,
                detail,
            )


class BadKeyThrottle:
    """Slows the answers to a client that keeps guessing the API key.

    More than ``limit`` wrong keys within ``window_s`` (counted for the whole
    server: every client is local) delay each further 401 by a growing
    amount, at most ``max_delay_s``. The delay is an ``asyncio.sleep`` on the
    one connection, so other clients are served at full speed meanwhile.
    """

    def __init__(
        self,
        limit: int = 10,
        window_s: float = 10.0,
        max_delay_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window_s = window_s
        self._max_delay_s = max_delay_s
        self._monotonic = monotonic
        # Bounded, so a flood of guesses cannot grow it without end.
        self._failures: deque[float] = deque(maxlen=4 * limit + 64)

    def delay_after_failure_s(self) -> float:
        """Records one wrong key; returns how long to hold its 401 answer."""
        now = self._monotonic()
        failures = self._failures
        while failures and now - failures[0] > self._window_s:
            failures.popleft()
        failures.append(now)
        excess = len(failures) - self._limit
        if excess <= 0:
            return 0.0
        return min(self._max_delay_s, 0.1 * excess)


class TokenApi:
    """Answers the local token service's requests.

    Args:
        api_key: the key clients send as ``Authorization: Bearer <key>``.
        snapshot: a cheap, thread-safe read of the current session.
        ensure_fresh: a coroutine function, run on ``main_loop``, that makes
            the session hold a token with at least the given seconds left
            and returns the new snapshot.
        main_loop: the GUI loop ``ensure_fresh`` runs on.
        clock: the wall clock, UTC.
        rejections: where refused requests are logged.
        throttle: slows repeated wrong keys.
        refresh_timeout_s: how long a request waits for ``ensure_fresh``.
        allowed_origins: web origins allowed to call, with CORS.
        upstreams: the pass-through's base URLs, ``{"live": ..., "sim": ...}``.
        events_heartbeat_s: how often an event stream gets a comment line.
        session_loaded: False while the app is still reading the stored
            session: requests that need it wait (see ``mark_session_loaded``).

    Attributes:
        events: the ``/v1/events`` streams; the service opens and closes it
            and feeds it the session's snapshots.
        passthrough: the ``/v1/api/*`` forwarder; the service opens it.
    """

    def __init__(
        self,
        *,
        api_key: str,
        snapshot: SnapshotReader,
        ensure_fresh: FreshTokenGetter,
        main_loop: asyncio.AbstractEventLoop,
        clock: Callable[[], datetime],
        rejections: RejectionLog,
        throttle: BadKeyThrottle,
        refresh_timeout_s: float = 15.0,
        allowed_origins: Sequence[str] = (),
        upstreams: Mapping[str, str] | None = None,
        events_heartbeat_s: float = 15.0,
        session_loaded: bool = True,
    ) -> None:
        self._snapshot = snapshot
        self._ensure_fresh = ensure_fresh
        self._main_loop = main_loop
        self._session_loaded = session_loaded
        self._load_waiters: list[asyncio.Future[None]] = []
        self._clock = clock
        self._rejections = rejections
        self._throttle = throttle
        self._refresh_timeout_s = refresh_timeout_s
        self._allowed_hosts: frozenset[str] = frozenset()
        # One refresh request in flight, shared by the requests that need no
        # more token lifetime than it asked for: a burst of clients costs the
        # GUI loop one call, not one per client.
        self._refresh: tuple[float, asyncio.Future[SessionSnapshot]] | None = None
        self._last_token_answer: tuple[SessionSnapshot, int, Response] | None = None
        self._openapi: Response | None = None
        self._cors = CorsPolicy(allowed_origins)
        self.events = EventHub(
            snapshot=snapshot,
            clock=clock,
            state_payload=status_payload,
            token_payload=token_payload,
            heartbeat_s=events_heartbeat_s,
        )
        defaults = ApiSettings()
        self.passthrough = Passthrough(
            upstreams=upstreams or {"live": defaults.live_url, "sim": defaults.sim_url},
            snapshot=snapshot,
            clock=clock,
            refreshed=self.refreshed_snapshot,
            unavailable=_unavailable,
        )
        self.set_api_key(api_key)

    def set_api_key(self, api_key: str) -> None:
        """Accepts a new key from now on (after a rotation)."""
        if not api_key:
            raise ValueError("the API key is empty")
        self._api_key = api_key.encode()

    def set_port(self, port: int) -> None:
        """Sets the port the exact ``Host`` values are checked against."""
        self._allowed_hosts = frozenset(
            {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
        )
        self._openapi = json_response(200, openapi.document(port))

    def accepts_body(self, request: Request) -> bool:
        """Whether a request may send a body (only to the pass-through)."""
        return self.passthrough.accepts_body(request)

    def mark_session_loaded(self) -> None:
        """Lets the requests waiting for the stored session through; call on
        the serving loop once the session has read the keyring (or failed to).
        """
        self._session_loaded = True
        waiters, self._load_waiters = self._load_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def forget_load_waiters(self) -> None:
        """Drops waiters of a loop that stopped (the service restarts)."""
        self._load_waiters = []

    def handle(self, request: Request) -> Answer | Awaitable[Answer]:
        """The ``HttpServer`` handler: the gate, then the route."""
        answer = self._gate(request) or self._route_when_loaded(request)
        origin = request.headers.get("origin")
        if origin is not None and self._cors.allows(origin):
            return self._cors.decorate(answer, origin)
        return answer

    def _route_when_loaded(self, request: Request) -> Answer | Awaitable[Answer]:
        # The port opens before the keyring has been read, so that start-up
        # is quick; until then only /healthz (503: no token yet) and the API
        # description answer at once. A script started at login must never
        # hear "signed out" from a tstray that holds a session.
        if self._session_loaded or request.path in _NEEDS_NO_SESSION:
            return self._route(request)
        return self._route_after_load(request)

    async def _route_after_load(self, request: Request) -> Answer:
        # Checked again: this coroutine starts later than _route_when_loaded
        # decided to wait, and the session may have loaded in between (on
        # this same loop), with no waiter yet to wake.
        if not self._session_loaded:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._load_waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, self._refresh_timeout_s)
            except TimeoutError:
                return error_response(
                    503, "starting", "tstray is still reading its stored session"
                )
            finally:
                if waiter in self._load_waiters:
                    self._load_waiters.remove(waiter)

        answer = self._route(request)
        return await answer if inspect.isawaitable(answer) else answer

    def _route(self, request: Request) -> Answer | Awaitable[Answer]:
        path = request.path
        if path == "/v1/token":
            return self._token(request)
        if path == "/v1/status":
            return self._status()
        if path == "/v1/events":
            return self.events.subscribe()
        if path == "/v1/openapi.json" and self._openapi is not None:
            return self._openapi
        if path.startswith(passthrough.PREFIX):
            return self.passthrough.handle(request)
        return _HEALTHY if self._has_valid_token() else _UNHEALTHY

    async def refreshed_snapshot(self, min_ttl_s: float) -> SessionSnapshot:
        """The session after a refresh covering ``min_ttl_s`` (shared with
        every request waiting for one), within ``refresh_timeout_s``.

        Raises:
            TimeoutError: the session took longer.
        """
        return await asyncio.wait_for(
            asyncio.shield(self._refreshed(min_ttl_s)), self._refresh_timeout_s
        )

    # The gate.

    def _gate(self, request: Request) -> Response | Awaitable[Response] | None:
        headers = request.headers
        host = headers.get("host")
        if host is None:
            return self._refuse(request, 400, "invalid_host", "a Host header is needed")
        if host.lower() not in self._allowed_hosts:
            return self._refuse(request, 421, "invalid_host", "the Host is not served")
        if not _PROXY_HEADERS.isdisjoint(headers):
            return self._refuse(request, 403, "proxied_request", "proxies not allowed")
        # A browser adds Origin to cross-site requests and Sec-Fetch-Site to
        # all of them; a local program sends neither. Pages of origins the
        # user listed are let through, with CORS for them alone.
        origin = headers.get("origin")
        from_browser = origin is not None or (
            headers.get("sec-fetch-site", "none") != "none"
        )
        if from_browser and (origin is None or not self._cors.allows(origin)):
            message = "not for browsers, unless the origin is in allowed_origins"
            return self._refuse(request, 403, "origin_not_allowed", message)
        if request.query and self._has_secret_in_query(request.query):
            message = "never put a key or token in a URL; use the Authorization header"
            return self._refuse(request, 400, "key_in_query", message)

        methods = _ROUTES.get(request.path)
        if methods is None and self.passthrough.matches(request.path):
            methods = passthrough.METHODS
        if methods is None:
            return self._refuse(request, 404, "not_found", "no such path", close=False)
        if origin is not None and request.method == "OPTIONS":
            private = "access-control-request-private-network" in headers
            return self._cors.preflight(origin, methods, private)
        if request.method not in methods:
            allow = b"Allow: %s\r\n" % ", ".join(methods).encode()
            return self._refuse(
                request, 405, "method_not_allowed", "method not allowed", headers=allow
            )
        if (
            request.path.startswith("/v1/")
            and request.path not in _PUBLIC
            and not self._authorized(headers)
        ):
            return self._unauthorized(request)
        return None

    def _refuse(
        self,
        request: Request,
        status: int,
        code: str,
        message: str,
        *,
        headers: bytes = b"",
        close: bool = True,
    ) -> Response:
        # Only the method (checked to be A-Z) and the peer are logged: the
        # path, query and headers may hold a key or a token.
        self._rejections.note(code, f"{request.method} from {request.peer}")
        return error_response(status, code, message, headers=headers, close=close)

    def _has_secret_in_query(self, query: str) -> bool:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name.lower() in _SECRET_PARAMS:
                return True
            if hmac.compare_digest(value.encode(), self._api_key):
                return True
        return False

    def _authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        # Header values were decoded as Latin-1, so this gives the bytes sent.
        given = credentials.strip(" \t").encode("latin-1")
        return hmac.compare_digest(given, self._api_key)

    def _unauthorized(self, request: Request) -> Response | Awaitable[Response]:
        delay_s = self._throttle.delay_after_failure_s()
        detail = f"{request.method} from {request.peer}"
        if delay_s > 0:
            detail += f"; answer slowed by {delay_s:.2f} s after repeated bad keys"
        self._rejections.note("unauthorized", detail)
        answer = error_response(
            401,
            "unauthorized",
            "send the API key as Authorization: Bearer <key>",
            headers=b"WWW-Authenticate: Bearer\r\n",
        )
        if delay_s <= 0:
            return answer
        return _after(delay_s, answer)

    # The routes.

    def _token(self, request: Request) -> Response | Awaitable[Response]:
        min_ttl_s = _min_ttl_s(request.query)
        if min_ttl_s is None:
            message = f"min_ttl must be a number of seconds from 0 to {MAX_MIN_TTL_S}"
            return self._refuse(request, 400, "invalid_min_ttl", message, close=False)

        snapshot = self._snapshot()
        now = self._clock()
        token = snapshot.token_if_valid(now, min_ttl_s)
        if token is not None:
            return self._token_answer(snapshot, token, now)
        if snapshot.state in (SessionState.SIGNED_OUT, SessionState.SIGN_IN_NEEDED):
            return _unavailable(snapshot)
        return self._token_after_refresh(min_ttl_s)

    async def _token_after_refresh(self, min_ttl_s: float) -> Response:
        try:
            snapshot = await asyncio.wait_for(
                asyncio.shield(self._refreshed(min_ttl_s)), self._refresh_timeout_s
            )
        except TimeoutError:
            log.warning(
                "the session gave no fresh token within %g s", self._refresh_timeout_s
            )
            return error_response(
                503, "refresh_timeout", "the session did not refresh the token in time"
            )
        except Exception as exc:
            log.warning("asking the session for a fresh token failed: %r", exc)
            snapshot = self._snapshot()

        now = self._clock()
        token = snapshot.token_if_valid(now, min_ttl_s)
        if token is not None:
            return self._token_answer(snapshot, token, now)
        if snapshot.token_if_valid(now) is not None:
            left_s = snapshot.seconds_left(now) or 0
            message = (
                f"the token has {left_s:.0f} s left and a new one would not last"
                f" {min_ttl_s:g} s; ask for a smaller min_ttl"
            )
            return error_response(503, "min_ttl_too_long", message)
        return _unavailable(snapshot)

    def _refreshed(self, min_ttl_s: float) -> asyncio.Future[SessionSnapshot]:
        """The shared refresh covering ``min_ttl_s``, started if needed."""
        current = self._refresh
        if (
            current is not None
            and current[0] >= min_ttl_s
            and not current[1].done()
            # A service restarted after a stop runs on a new loop.
            and current[1].get_loop() is asyncio.get_running_loop()
        ):
            return current[1]

        coroutine = self._ask_session(min_ttl_s)
        try:
            call = asyncio.run_coroutine_threadsafe(coroutine, self._main_loop)
        except RuntimeError:
            coroutine.close()  # the GUI loop is closed: the app is quitting
            raise
        future = asyncio.wrap_future(call)
        self._refresh = (min_ttl_s, future)
        return future

    async def _ask_session(self, min_ttl_s: float) -> SessionSnapshot:
        # Runs on the GUI loop, so the session is only ever touched there.
        return await self._ensure_fresh(min_ttl_s)

    def _token_answer(
        self, snapshot: SessionSnapshot, token: str, now: datetime
    ) -> Response:
        assert snapshot.expires_at is not None  # token_if_valid checked it
        expires_in_s = int((snapshot.expires_at - now).total_seconds())
        # Nearly every request gets the answer the previous one got: same
        # snapshot, same second. Snapshots are immutable and the cached one
        # is held here, so "is" cannot mistake another for it.
        cached = self._last_token_answer
        if cached is not None and cached[0] is snapshot and cached[1] == expires_in_s:
            return cached[2]

        answer = json_response(200, token_payload(snapshot, token, now))
        self._last_token_answer = (snapshot, expires_in_s, answer)
        return answer

    def _status(self) -> Response:
        return json_response(200, status_payload(self._snapshot(), self._clock()))

    def _has_valid_token(self) -> bool:
        return self._snapshot().token_if_valid(self._clock()) is not None


_ROUTES = {
    "/v1/token": ("GET",),
    "/v1/status": ("GET",),
    "/v1/events": ("GET",),
    "/v1/openapi.json": ("GET",),
    "/healthz": ("GET", "HEAD"),
}
# Under /v1/ but needing no key: the API's description holds no secret.
_PUBLIC = frozenset({"/v1/openapi.json"})
# Answered before the stored session has been read.
_NEEDS_NO_SESSION = _PUBLIC | {"/healthz"}


def served_routes() -> dict[str, tuple[str, ...]]:
    """Every route and its methods, the pass-through as ``{path}`` templates
    (what ``/v1/openapi.json`` must describe)."""
    routes = dict(_ROUTES)
    for name in ("live", "sim"):
        routes[f"{passthrough.PREFIX}{name}/{{path}}"] = passthrough.METHODS
    return routes


def _min_ttl_s(query: str) -> float | None:
    """The ``min_ttl`` parameter in seconds (0 when absent), None if invalid."""
    if not query:
        return 0.0
    values = [value for name, value in parse_qsl(query, True) if name == "min_ttl"]
    if not values:
        return 0.0
    if len(values) > 1 or _MIN_TTL.fullmatch(values[0]) is None:
        return None
    seconds = float(values[0])
    return seconds if seconds <= MAX_MIN_TTL_S else None


def _unavailable(snapshot: SessionSnapshot) -> Response:
    if snapshot.keyring_unread:
        # Not "signed_out": a session may well be stored behind the lock.
        message = (
            "tstray could not read its stored session: the keyring is locked or"
            " not answering; unlock it, tstray tries again every 30 s"
        )
        return error_response(503, "keyring_unavailable", message)
    if snapshot.state is SessionState.SIGNED_OUT:
        return error_response(
            503, "signed_out", "no one is signed in; sign in from the tray"
        )
    if snapshot.state is SessionState.SIGN_IN_NEEDED:
        message = "the session needs a new sign-in; sign in from the tray"
        return error_response(503, "sign_in_needed", message)
    message = "no token with enough time left; tstray is retrying"
    if snapshot.last_error:
        message += f" (last error: {snapshot.last_error})"
    return error_response(503, "token_expired", message)


async def _after(delay_s: float, answer: Response) -> Response:
    await asyncio.sleep(delay_s)
    return answer
