"""A local stand-in for TradeStation's sign-in service, for ``tstray --demo``
and the test suite.

``DemoSignInService`` serves TradeStation's paths (``/authorize``,
``/oauth/token``, ``/oauth/revoke``, ``/v2/logout``) with the standard
library's threading HTTP server on a daemon thread, so it never touches the
app's event loop. It binds 127.0.0.1 only and accepts only the demo API key.
``/_demo/faults`` and ``/_demo/stats`` are test hooks that TradeStation does
not have. It never logs a token, a code, the client secret or a query string.
"""

from __future__ import annotations

import contextlib
import http.cookies
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from tstray.config import TradeStationSettings
from tstray.demo import faults as _faults
from tstray.demo.faults import DemoStats, FaultQueue
from tstray.demo.grants import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DemoGrants,
    DemoOptions,
)
from tstray.demo.handler import DemoRequestHandler
from tstray.demo.tokens import ChainRegistry, DemoKeys

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DemoOptions",
    "DemoSignInService",
]

logger = logging.getLogger(__name__)

LOGIN_COOKIE = "tstray_demo_login"
LOGIN_COOKIE_MAX_AGE_S = 30 * 86400
TRANSACTION_LIFETIME_S = 600
_MAX_TRANSACTIONS = 1000
# serve_forever wakes this often only to see whether stop() was called; a
# longer interval keeps an idle demo quiet, at the cost of a slower stop().
_POLL_INTERVAL_S = 1.0


@dataclass
class Transaction:
    """One sign-in in progress, between the authorize page and the redirect.

    The browser only carries its opaque id; the request's parameters stay
    here, so a form post cannot change them.
    """

    client_id: str
    redirect_uri: str
    scope: str
    audience: str
    state: str | None
    code_challenge: str | None
    nonce: str | None
    created_at: float
    user_name: str | None = None


class _DemoHTTPServer(ThreadingHTTPServer):
    """Threading HTTP server that remembers its open connections, so that
    ``stop()`` can close idle keep-alive connections too."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: DemoSignInService) -> None:
        super().__init__(address, DemoRequestHandler)
        self.service = service
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer is normal here (drop and delay
        # faults); the default would print a traceback on stderr.
        logger.debug("demo: a connection from %s failed", client_address, exc_info=True)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class DemoSignInService:
    """The demo sign-in service: start it, point the app's settings at it.

    Attributes:
        faults: faults to inject into the next token-endpoint requests.
        stats: counters of what the service did.
        options: how the demo API key behaves.
        stopping: set when ``stop()`` begins; delayed answers give up.
    """

    def __init__(
        self,
        state_dir: Path,
        options: DemoOptions = DemoOptions(),  # noqa: B008 - frozen, so sharing is safe
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options
        self.clock = clock
        self.faults = FaultQueue()
        self.stats = DemoStats()
        self.stopping = threading.Event()
        self.keys = DemoKeys.load_or_create(state_dir)
        self.grants = DemoGrants(
            self.keys,
            ChainRegistry(state_dir, options.chain_lifetime_s),
            options,
            self.stats,
            clock,
            issuer=lambda: f"{self.base_url}/",
        )
        self._requested_port = port
        self._server: _DemoHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._transactions: dict[str, Transaction] = {}
        self._transactions_lock = threading.Lock()

    def __repr__(self) -> str:
        where = self.base_url if self._server else "not started"
        return f"DemoSignInService({where})"

    def __enter__(self) -> DemoSignInService:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Binds 127.0.0.1 and serves on a daemon thread.

        Raises:
            RuntimeError: already started.
            OSError: the port is taken.
        """
        if self._server is not None:
            raise RuntimeError("the demo sign-in service is already running")
        self.stopping.clear()
        self._server = _DemoHTTPServer(("127.0.0.1", self._requested_port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # How often the loop checks for stop(): quick enough that tests
            # and the app's shut-down do not wait, cheap enough to idle.
            kwargs={"poll_interval": _POLL_INTERVAL_S},
            name="tstray-demo-signin",
            daemon=True,
        )
        self._thread.start()
        logger.info("demo sign-in service listening on %s", self.base_url)

    def stop(self) -> None:
        """Stops serving and closes every connection; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.stopping.set()
        # shutdown() waits for serve_forever to look at its flag, which it
        # does between polls; a connection wakes it at once.
        stopper = threading.Thread(target=server.shutdown, daemon=True)
        stopper.start()
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        stopper.join()
        server.server_close()
        server.close_connections()
        thread.join()
        self._server = self._thread = None
        logger.info("demo sign-in service stopped")

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the demo sign-in service is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``; the service must be running."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def logout_url(self) -> str:
        return f"{self.base_url}/v2/logout"

    def settings(
        self,
        base: TradeStationSettings = TradeStationSettings(),  # noqa: B008 - frozen
    ) -> TradeStationSettings:
        """``base`` with the demo API key and this service's URLs; the
        audience, scopes and redirect URI are kept."""
        return replace(
            base,
            client_id=DEMO_CLIENT_ID,
            authorize_url=f"{self.base_url}/authorize",
            token_url=f"{self.base_url}/oauth/token",
            revoke_url=f"{self.base_url}/oauth/revoke",
        )

    def verify_jwt(self, token: str) -> dict[str, Any] | None:
        """The claims of an access or id token this service signed, else
        ``None``; ``exp`` is not checked."""
        return self.keys.decode_jwt(token)

    def start_transaction(self, params: dict[str, str]) -> tuple[str, Transaction]:
        """Keeps a valid authorize request server-side; returns its id."""
        now = self.clock()
        transaction = Transaction(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            scope=params["scope"],
            audience=params["audience"],
            state=params.get("state"),
            code_challenge=params.get("code_challenge"),
            nonce=params.get("nonce"),
            created_at=now,
        )
        transaction_id = secrets.token_urlsafe(24)
        with self._transactions_lock:
            self._transactions = {
                k: t
                for k, t in self._transactions.items()
                if t.created_at + TRANSACTION_LIFETIME_S > now
            }
            while len(self._transactions) >= _MAX_TRANSACTIONS:
                del self._transactions[next(iter(self._transactions))]
            self._transactions[transaction_id] = transaction
        return transaction_id, transaction

    def find_transaction(self, transaction_id: str | None) -> Transaction | None:
        if not transaction_id:
            return None
        with self._transactions_lock:
            transaction = self._transactions.get(transaction_id)
        if transaction is None:
            return None
        if transaction.created_at + TRANSACTION_LIFETIME_S <= self.clock():
            return None
        return transaction

    def end_transaction(self, transaction_id: str) -> Transaction | None:
        with self._transactions_lock:
            return self._transactions.pop(transaction_id, None)

    def remembered_user(self, cookie_header: str | None) -> str | None:
        """The user name the login cookie remembers, if it is genuine."""
        if not cookie_header:
            return None
        cookies: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
        try:
            cookies.load(cookie_header)
        except http.cookies.CookieError:
            return None
        morsel = cookies.get(LOGIN_COOKIE)
        return self.keys.verify_login_cookie(morsel.value) if morsel else None

    def login_cookie(self, user_name: str | None) -> str:
        """A ``Set-Cookie`` value remembering ``user_name``, or clearing the
        cookie for ``None``."""
        if user_name is None:
            return f"{LOGIN_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        value = self.keys.sign_login_cookie(user_name)
        return (
            f"{LOGIN_COOKIE}={value}; Path=/; Max-Age={LOGIN_COOKIE_MAX_AGE_S};"
            " HttpOnly; SameSite=Lax"
        )

    def hook_status(self) -> dict[str, Any]:
        """What ``/_demo/faults`` answers: the faults still queued."""
        return {
            "pending": [
                {"fault": name, "times": times} for name, times in self.faults.pending()
            ],
            "known_faults": [fault.value for fault in _faults.Fault],
        }
