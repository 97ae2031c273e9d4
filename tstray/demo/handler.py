"""HTTP requests of the demo sign-in service: the browser flow (authorize,
sign-in, consent, logout), the token and revoke endpoints with injected
faults, and the ``/_demo`` test hooks.

One handler object per connection, on the server's request threads. It never
logs a query string, a form, a token, a code or the client secret: request
logs name the method and path only.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import socket
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from tstray.demo import pages
from tstray.demo.faults import Fault, InjectedFault, fault_response
from tstray.demo.grants import (
    CALLBACK_URLS,
    DEFAULT_USER_NAME,
    DEMO_AUDIENCE,
    LOGOUT_URLS,
    ConsentedRequest,
    is_known_client,
)

if TYPE_CHECKING:
    from tstray.demo.service import DemoSignInService, _DemoHTTPServer

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "demo"  # noqa: S105 - the demo's published password
MAX_BODY_BYTES = 64 * 1024
MAX_USER_NAME_CHARS = 100
_LOOPBACK_ADDRESSES = ("127.0.0.1", "::1")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def redirect_location(redirect_uri: str, params: dict[str, str | None]) -> str:
    """``redirect_uri`` with ``params`` (those not ``None``) as its query."""
    # quote_via=quote writes spaces as %20, as Auth0 does.
    present = {k: v for k, v in params.items() if v is not None}
    return f"{redirect_uri}?{urlencode(present, quote_via=quote)}"


def authorize_problem(
    params: dict[str, str], require_pkce: bool
) -> tuple[str, str] | None:
    """Returns (error, description) for an authorize request to refuse on the
    redirect, or ``None`` when it is fine.

    The client and the redirect URI are checked before this: a refusal may
    only be sent to a known callback.
    """
    response_type = params.get("response_type", "")
    if response_type != "code":
        return (
            "unsupported_response_type",
            f"Unsupported response type: {response_type}",
        )
    if params.get("audience") != DEMO_AUDIENCE:
        return "invalid_request", f"The audience must be {DEMO_AUDIENCE}"
    if "openid" not in params.get("scope", "").split():
        return "invalid_scope", "The scope must include openid."

    code_challenge = params.get("code_challenge")
    if code_challenge is None:
        if require_pkce:
            return "invalid_request", "This client requires PKCE (code_challenge)."
        return None
    if params.get("code_challenge_method") != "S256":
        return "invalid_request", "The code_challenge_method must be S256."
    if len(code_challenge) != 43:
        return "invalid_request", "The code_challenge is not an S256 challenge."
    return None


def _first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


class DemoRequestHandler(BaseHTTPRequestHandler):
    """Answers one connection's requests for the demo sign-in service."""

    server: _DemoHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "tstray-demo"
    sys_version = ""
    # Idle keep-alive connections end after this long.
    timeout = 30

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    @property
    def service(self) -> DemoSignInService:
        return self.server.service

    def _path_only(self) -> str:
        return str(getattr(self, "path", "")).split("?", 1)[0][:200]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("demo: %s %s -> %s", self.command, self._path_only(), code)

    def log_message(self, format: str, *args: Any) -> None:
        # The base class would print the request line, query and all.
        logger.debug("demo: could not serve %s", self._path_only())

    # -- routing

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = _first_values(parse_qsl(parts.query, keep_blank_values=True))
        if parts.path == "/authorize":
            self._get_authorize(params)
        elif parts.path == "/v2/logout":
            self._get_logout(params)
        elif parts.path.startswith("/_demo/"):
            self._get_hook(parts.path)
        else:
            self._send_page(
                404, pages.error_page("Not found", "There is no such page.")
            )

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._read_body()
        if body is None:
            return
        if path == "/oauth/token":
            self._post_token(body)
        elif path == "/oauth/revoke":
            self._post_revoke(body)
        elif path == "/u/login":
            self._post_login(self._fields(body) or {})
        elif path == "/u/consent":
            self._post_consent(self._fields(body) or {})
        elif path.startswith("/_demo/"):
            if self._hook_allowed(json_body=True):
                if path == "/_demo/faults":
                    self._post_faults(body)
                else:
                    self._send_hook_not_found()
        else:
            self._send_json(
                404, {"error": "not_found", "error_description": "Not found"}
            )

    # -- the browser flow

    def _get_authorize(self, params: dict[str, str]) -> None:
        client_id = params.get("client_id")
        redirect_uri = params.get("redirect_uri")
        if not is_known_client(client_id):
            message = "The API key (client_id) is unknown to the demo service."
            self._send_page(400, pages.error_page("Unknown client", message))
            return
        if redirect_uri not in CALLBACK_URLS:
            message = f"{redirect_uri} is not one of this API key's callback URLs."
            self._send_page(400, pages.error_page("Callback URL mismatch", message))
            return

        problem = authorize_problem(params, self.service.options.require_pkce)
        if problem is not None:
            error, description = problem
            state = params.get("state")
            query = {"error": error, "error_description": description, "state": state}
            self._redirect(redirect_location(redirect_uri, query))
            return

        transaction_id, transaction = self.service.start_transaction(params)
        user_name = self.service.remembered_user(self.headers.get("Cookie"))
        if user_name is None:
            self._send_page(200, pages.login_page(transaction_id))
            return
        # Signed in earlier in this web profile: consent is still asked.
        transaction.user_name = user_name
        scopes = transaction.scope.split()
        self._send_page(200, pages.consent_page(transaction_id, user_name, scopes))

    def _post_login(self, form: dict[str, str]) -> None:
        transaction_id = form.get("transaction", "")
        transaction = self.service.find_transaction(transaction_id)
        if transaction is None:
            self._send_expired_page()
            return

        typed_name = form.get("username", "").strip()[:MAX_USER_NAME_CHARS]
        password = form.get("password", "")
        if not hmac.compare_digest(password.encode(), DEMO_PASSWORD.encode()):
            error = "Wrong user name or password. (The demo password is: demo)"
            page = pages.login_page(transaction_id, error, typed_name)
            self._send_page(400, page)
            return

        user_name = typed_name or DEFAULT_USER_NAME
        transaction.user_name = user_name
        logger.info("demo: %s signed in", user_name)
        page = pages.consent_page(transaction_id, user_name, transaction.scope.split())
        self._send_page(200, page, {"Set-Cookie": self.service.login_cookie(user_name)})

    def _post_consent(self, form: dict[str, str]) -> None:
        transaction_id = form.get("transaction", "")
        transaction = self.service.find_transaction(transaction_id)
        action = form.get("action")
        if transaction is None or transaction.user_name is None:
            self._send_expired_page()
            return
        if action not in ("allow", "deny"):
            message = "Choose Accept or Decline."
            self._send_page(400, pages.error_page("Bad request", message))
            return
        if self.service.end_transaction(transaction_id) is None:
            self._send_expired_page()
            return

        if action == "deny":
            logger.info("demo: %s declined the sign-in", transaction.user_name)
            query = {
                "error": "access_denied",
                "error_description": "User did not authorize the request",
                "state": transaction.state,
            }
            self._redirect(redirect_location(transaction.redirect_uri, query))
            return

        code = self.service.grants.issue_code(
            ConsentedRequest(
                client_id=transaction.client_id,
                redirect_uri=transaction.redirect_uri,
                scope=transaction.scope,
                audience=transaction.audience,
                user_name=transaction.user_name,
                code_challenge=transaction.code_challenge,
                nonce=transaction.nonce,
            )
        )
        query = {"code": code, "state": transaction.state}
        self._redirect(redirect_location(transaction.redirect_uri, query))

    def _get_logout(self, params: dict[str, str]) -> None:
        clear_cookie = {"Set-Cookie": self.service.login_cookie(None)}
        return_to = params.get("returnTo")
        if return_to in LOGOUT_URLS:
            self._redirect(return_to, clear_cookie)
        else:
            self._send_page(200, pages.signed_out_page(), clear_cookie)

    def _send_expired_page(self) -> None:
        message = "This sign-in has expired or was already used. Start again in tstray."
        self._send_page(400, pages.error_page("Sign-in expired", message))

    # -- token and revoke endpoints

    def _post_token(self, body: bytes) -> None:
        stats = self.service.stats
        stats.increment("token_requests")
        form = self._fields(body)

        injected = self.service.faults.take()
        if injected is not None:
            stats.increment("faults_applied")
            logger.info("demo: answering a token request with fault %s", injected.fault)
            if self._answer_fault(injected):
                return

        if form is None:
            error = {"error": "invalid_request", "error_description": "Unreadable body"}
            self._send_json(400, error)
            return
        reply = self.service.grants.token_request(form)
        answer = dict(reply.body or {})
        if injected is not None and injected.fault is Fault.NO_EXPIRES_IN:
            answer.pop("expires_in", None)
        self._send_json(reply.status, answer)

    def _answer_fault(self, injected: InjectedFault) -> bool:
        """Answers with ``injected``; False when the request should then be
        processed after all (a delay, a missing field)."""
        if injected.fault is Fault.NO_EXPIRES_IN:
            return False
        if injected.fault is Fault.DELAY:
            if not self.service.stopping.wait(injected.delay_s):
                return False
            injected = InjectedFault(Fault.DROP)
        if injected.fault is Fault.DROP:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True

        status, content_type, payload, headers = fault_response(injected)
        self._send(status, content_type, payload, headers)
        return True

    def _post_revoke(self, body: bytes) -> None:
        fields = self._fields(body)
        if fields is None:
            error = {"error": "invalid_request", "error_description": "Unreadable body"}
            self._send_json(400, error)
            return
        reply = self.service.grants.revoke_request(fields)
        if reply.body is None:
            self._send(reply.status, "text/plain", b"", {})
        else:
            self._send_json(reply.status, reply.body)

    # -- test hooks

    def _hook_allowed(self, json_body: bool = False) -> bool:
        """Test hooks answer loopback clients only, and their POSTs must be
        JSON, which a web page cannot send cross-site without permission."""
        host = urlsplit(f"//{self.headers.get('Host', '')}").hostname
        content_type = self.headers.get("Content-Type", "")
        allowed = (
            self.client_address[0] in _LOOPBACK_ADDRESSES
            and host in _LOOPBACK_HOSTS
            and (not json_body or content_type.startswith("application/json"))
        )
        if not allowed:
            self._send_json(
                403, {"error": "forbidden", "error_description": "Forbidden"}
            )
        return allowed

    def _get_hook(self, path: str) -> None:
        if not self._hook_allowed():
            return
        if path == "/_demo/stats":
            self._send_json(200, self.service.stats.snapshot())
        elif path == "/_demo/faults":
            self._send_json(200, self.service.hook_status())
        else:
            self._send_hook_not_found()

    def _send_hook_not_found(self) -> None:
        self._send_json(404, {"error": "not_found", "error_description": "Not found"})

    def _post_faults(self, body: bytes) -> None:
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise TypeError("not an object")
            if request.get("clear"):
                self.service.faults.clear()
            else:
                self.service.faults.inject(
                    str(request["fault"]),
                    int(request.get("times", 1)),
                    delay_s=float(request.get("delay_s", 30.0)),
                    retry_after_s=int(request.get("retry_after_s", 2)),
                )
        except (ValueError, TypeError, KeyError) as exc:
            error = {"error": "invalid_request", "error_description": str(exc)}
            self._send_json(400, error)
            return
        self._send_json(200, self.service.hook_status())

    # -- reading and writing

    def _read_body(self) -> bytes | None:
        """The request body, or ``None`` after answering a bad request."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(411, "text/plain", b"Content-Length required", {})
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True
            self._send(413, "text/plain", b"Bad or too large body", {})
            return None
        return self.rfile.read(length)

    def _fields(self, body: bytes) -> dict[str, str] | None:
        """A form or JSON body's text fields; ``None`` if unreadable."""
        content_type = self.headers.get("Content-Type", "")
        try:
            text = body.decode("utf-8")
            if content_type.startswith("application/json"):
                value = json.loads(text)
                if not isinstance(value, dict):
                    return None
                return {k: v for k, v in value.items() if isinstance(v, str)}
            return _first_values(parse_qsl(text, keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            return None

    def _send(
        self, status: int, content_type: str, payload: bytes, headers: dict[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, status: int, value: object) -> None:
        payload = json.dumps(value).encode()
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        self._send(status, "application/json", payload, headers)

    def _send_page(
        self, status: int, html: str, headers: dict[str, str] | None = None
    ) -> None:
        all_headers = {**_PAGE_HEADERS, **(headers or {})}
        self._send(status, "text/html; charset=utf-8", html.encode(), all_headers)

    def _redirect(self, location: str, headers: dict[str, str] | None = None) -> None:
        all_headers = {
            "Location": location,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            **(headers or {}),
        }
        self._send(302, "text/plain", b"", all_headers)
