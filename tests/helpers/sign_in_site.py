"""A small sign-in web site on loopback for the sign-in window's tests, and a
watch on the redirect port that tells whether anything tried to connect.

The site serves a login form that answers 302 to the redirect URI, like
TradeStation's sign-in service does, plus pages for links, pop-ups, cookies
and sub-resources. It records every request it gets. Nothing here talks to
any address but loopback.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

COOKIE_NAME = "tstray_test_session"

LOGIN_PAGE = """<!doctype html>
<html><head><title>Sign in</title></head><body>
<form id="login" method="post" action="/login">
  <input id="username" name="username">
  <input id="password" name="password" type="password">
  <button id="sign-in" type="submit">Sign in</button>
</form>
</body></html>"""

LINK_PAGE = """<!doctype html>
<html><head><title>Link</title></head><body>
<a id="to-redirect" href="{redirect_location}">Continue</a>
</body></html>"""

POPUP_PAGE = """<!doctype html>
<html><head><title>Pop-ups</title></head><body>
<button id="popup-other"
        onclick="window.open('{other_host_url}/elsewhere')">Help</button>
<button id="popup-same" onclick="window.open('/second')">More</button>
</body></html>"""

SUBRESOURCE_PAGE = """<!doctype html>
<html><head><title>Sub-resources</title></head><body>
<img id="probe" src="{redirect_location}"
     onerror="document.body.dataset.probe = 'failed'"
     onload="document.body.dataset.probe = 'loaded'">
</body></html>"""

PLAIN_PAGE = """<!doctype html>
<html><head><title>{title}</title></head><body>{title}</body></html>"""


@dataclass(frozen=True)
class RecordedRequest:
    """One request the site answered."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)


class SignInSite:
    """A threaded HTTP(S) server on 127.0.0.1 playing the sign-in service.

    Attributes:
        redirect_location: where ``POST /login`` and the link page send the
            browser; a test sets it to the redirect URI with a code.
        cookie_value: the value ``/set-cookie`` sets.
    """

    def __init__(
        self, redirect_location: str, tls_files: tuple[Path, Path] | None = None
    ) -> None:
        self.redirect_location = redirect_location
        self.cookie_value = "cookie-from-first-window"
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        if tls_files is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls_files[0]), str(tls_files[1]))
            self._server.socket = context.wrap_socket(
                self._server.socket, server_side=True
            )
        self.port: int = self._server.server_address[1]
        scheme = "https" if tls_files is not None else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        # The same server under another host name: a different site to the
        # browser, still loopback.
        self.other_host_url = f"{scheme}://localhost:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _make_handler(site: SignInSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._record({})
            path = self.path.split("?", 1)[0]
            if path == "/login":
                self._send_page(LOGIN_PAGE)
            elif path == "/link":
                self._send_page(
                    LINK_PAGE.format(redirect_location=site.redirect_location)
                )
            elif path == "/popups":
                self._send_page(POPUP_PAGE.format(other_host_url=site.other_host_url))
            elif path == "/subresources":
                self._send_page(
                    SUBRESOURCE_PAGE.format(redirect_location=site.redirect_location)
                )
            elif path == "/set-cookie":
                # No Max-Age: a session cookie, which only a forced persistent
                # cookie policy keeps on disk.
                cookie = f"{COOKIE_NAME}={site.cookie_value}; Path=/; HttpOnly"
                page = LINK_PAGE.format(redirect_location=site.redirect_location)
                self._send_page(page, cookie)
            elif path in ("/show-cookie", "/second", "/elsewhere"):
                self._send_page(PLAIN_PAGE.format(title=path.strip("/")))
            else:
                self.send_error(404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode("utf-8"))
            self._record(form)
            self.send_response(302)
            self.send_header("Location", site.redirect_location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _record(self, form: dict[str, list[str]]) -> None:
            site.record(
                RecordedRequest(
                    method=self.command,
                    path=self.path.split("?", 1)[0],
                    headers={
                        name.lower(): value for name, value in self.headers.items()
                    },
                    form=form,
                )
            )

        def _send_page(self, html: str, cookie: str | None = None) -> None:
            body = html.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if cookie is not None:
                self.send_header("Set-Cookie", cookie)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the site records requests itself; keep pytest output clean

    return Handler


class RedirectPortWatch:
    """Listens on the redirect port on loopback without ever answering.

    The window must never connect there. A connection, even one closed at
    once, waits in the listen queue, so :meth:`connection_attempted` sees it.
    Port 31022 (TradeStation's usual callback) is used when free.
    """

    def __init__(self, preferred_port: int = 31022) -> None:
        self._listeners: list[socket.socket] = []
        first = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            first.bind(("127.0.0.1", preferred_port))
        except OSError:
            first.bind(("127.0.0.1", 0))
        first.listen(8)
        self._listeners.append(first)
        self.port: int = first.getsockname()[1]

        # "localhost" may resolve to ::1 first; watch that too when possible.
        if socket.has_ipv6:
            second = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            try:
                second.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                second.bind(("::1", self.port))
                second.listen(8)
                self._listeners.append(second)
            except OSError:
                second.close()

        self.redirect_uri = f"http://localhost:{self.port}"

    def connection_attempted(self, wait_s: float = 0.0) -> bool:
        """Whether anything connected, waiting up to ``wait_s`` for it."""
        readable, _, _ = select.select(self._listeners, [], [], wait_s)
        return bool(readable)

    def close(self) -> None:
        for listener in self._listeners:
            listener.close()
