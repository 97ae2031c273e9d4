"""Sign-in through the user's own browser (RFC 8252, "loopback redirect"):
opens the system browser on the sign-in URL and catches the redirect on a
one-shot HTTP listener at the callback URL's loopback port.

For users whose password manager or security key lives in their browser.
The listener binds loopback addresses only, answers exactly one request on
the redirect path (everything else gets 404), checks the Host header against
the callback URL (a page elsewhere cannot reach it through DNS rebinding) and
the ``state`` against the sign-in URL's, and closes as soon as the redirect
has arrived. The page it answers never echoes the code, and this module never
logs the redirect URL or its query, only ports and paths.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable
from html import escape
from urllib.parse import parse_qs, urlsplit

from tstray.signin.launcher import SignInWindowError
from tstray.ui.texts import tr

log = logging.getLogger(__name__)

OpenUrl = Callable[[str], bool]

# A browser sends its request at once; a connection silent this long is a
# speculative pre-connection or a stray client, and is dropped.
_REQUEST_TIMEOUT_S = 10.0
_MAX_HEAD_BYTES = 16_384
_DEFAULT_PORTS = {"http": 80}


class BrowserSignInError(SignInWindowError):
    """The browser sign-in could not start (busy port, no browser).

    Attributes:
        reason: a sentence for the log and the user; never a URL's query.
    """


def open_in_system_browser(url: str) -> bool:
    """Opens ``url`` in the desktop's default browser; False when it cannot."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    return bool(QDesktopServices.openUrl(QUrl(url)))


class _Target:
    """The parts of the callback URL the listener needs."""

    def __init__(self, redirect_uri: str) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise BrowserSignInError(
                tr("The callback URL {url} is not a loopback http:// address.").format(
                    url=redirect_uri
                )
            )
        self.host = parts.hostname.lower()
        self.port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self.path = parts.path or "/"
        self.origin = f"{parts.scheme}://{parts.netloc}"

    def bind_addresses(self) -> list[str]:
        """127.0.0.1 and ::1 for ``localhost``, else the literal address."""
        if self.host == "localhost":
            return ["127.0.0.1", "::1"]
        if self.host in ("127.0.0.1", "::1"):
            return [self.host]
        raise BrowserSignInError(
            tr("The callback URL's host {host} is not a loopback address.").format(
                host=self.host
            )
        )

    def host_matches(self, host_header: str) -> bool:
        """Whether a request's Host header names the callback URL's host."""
        parts = urlsplit(f"//{host_header.strip()}")
        try:
            port = parts.port or _DEFAULT_PORTS["http"]
        except ValueError:
            return False
        return (parts.hostname or "").lower() == self.host and port == self.port


def _expected_state(sign_in_url: str) -> str | None:
    values = parse_qs(urlsplit(sign_in_url).query).get("state")
    return values[0] if values else None


def _page(title: str, message: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family: system-ui, sans-serif; margin: 3rem;">'
        f"<h1>{escape(title)}</h1><p>{escape(message)}</p></body></html>\n"
    ).encode()


def _answer(status: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Referrer-Policy: no-referrer\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def _outcome_page(query: dict[str, list[str]]) -> bytes:
    """What the browser tab shows: signed in, or the error in words."""
    if "error" not in query:
        return _page(
            tr("Signed in"), tr("You are signed in to tstray; you can close this tab.")
        )
    error = query["error"][0]
    description = query.get("error_description", [""])[0]
    return _page(
        tr("Sign-in did not finish"),
        tr("TradeStation answered: {reason}. You can close this tab.").format(
            reason=(description or error)[:300]
        ),
    )


class _Listener:
    """Serves one sign-in: answers requests until the redirect arrives."""

    def __init__(self, target: _Target, expected_state: str | None) -> None:
        self.target = target
        self.expected_state = expected_state
        self.result: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.servers: list[asyncio.AbstractServer] = []
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        for address in self.target.bind_addresses():
            try:
                server = await asyncio.start_server(
                    self.on_connection, address, self.target.port
                )
            except OSError as exc:
                if address == "::1" and exc.errno in (
                    errno.EADDRNOTAVAIL,
                    errno.EAFNOSUPPORT,
                ):
                    # No IPv6 loopback here: browsers cannot use it either.
                    continue
                self.close()
                raise self._busy_error(exc) from exc
            self.servers.append(server)
        log.info(
            "waiting for the browser's sign-in redirect on port %d, path %s",
            self.target.port,
            self.target.path,
        )

    def _busy_error(self, exc: OSError) -> BrowserSignInError:
        if exc.errno == errno.EADDRINUSE:
            return BrowserSignInError(
                tr(
                    "Port {port} is in use by another program, so the browser's "
                    "sign-in answer cannot be received. Close that program, or "
                    "choose another callback URL that your API key's list of "
                    "allowed callback URLs includes."
                ).format(port=self.target.port)
            )
        return BrowserSignInError(
            tr("Could not listen on port {port}: {reason}").format(
                port=self.target.port, reason=exc.strerror or exc
            )
        )

    def close(self) -> None:
        for server in self.servers:
            server.close()
        for writer in list(self.writers):
            writer.close()
        self.servers.clear()

    async def on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.writers.add(writer)
        try:
            head = await asyncio.wait_for(
                reader.readuntil(b"\r\n\r\n"), _REQUEST_TIMEOUT_S
            )
            if len(head) <= _MAX_HEAD_BYTES:
                writer.write(self._respond(head.decode("latin-1")))
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except OSError as exc:
            log.debug("a browser connection failed: %s", exc)
        finally:
            self.writers.discard(writer)
            writer.close()

    def _respond(self, head: str) -> bytes:
        """The answer to one request; sets the result for the redirect."""
        request_line, *header_lines = head.split("\r\n")
        method, target, _version = [*request_line.split(" "), "", "", ""][:3]
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()

        not_found = _page(tr("Not found"), tr("This address belongs to tstray."))
        parts = urlsplit(target)
        if not target.startswith("/") or parts.path != self.target.path:
            return _answer("404 Not Found", not_found)
        if not self.target.host_matches(headers.get("host", "")):
            log.warning("refused a request to the sign-in listener for another host")
            return _answer("400 Bad Request", _page(tr("Wrong address"), ""))
        if method != "GET":
            return _answer("405 Method Not Allowed", not_found)

        query = parse_qs(parts.query)
        if ("code" not in query and "error" not in query) or (
            self.expected_state is not None
            and query.get("state", [None])[0] != self.expected_state
        ):
            # Not the answer to our sign-in (a stale tab, another page's
            # forged link): keep waiting for the real one.
            log.warning("ignored a request to the redirect path without our state")
            return _answer(
                "400 Bad Request",
                _page(
                    tr("Not the expected sign-in"),
                    tr("Start the sign-in again from the tstray menu."),
                ),
            )

        if self.result.done():
            return _answer("410 Gone", _page(tr("Already signed in"), ""))
        self.result.set_result(self.target.origin + target)
        return _answer("200 OK", _outcome_page(query))


async def run_browser_sign_in(
    sign_in_url: str,
    redirect_uri: str,
    *,
    open_url: OpenUrl = open_in_system_browser,
    timeout_s: float = 600.0,
) -> str | None:
    """Signs in through the system browser; returns the full redirect URL.

    Args:
        sign_in_url: the authorize URL to open.
        redirect_uri: the callback URL (loopback, http) to listen on.
        open_url: opens a URL in the browser; returns False on failure.
        timeout_s: how long to wait for the user to finish.

    Returns:
        The redirect URL (its code and state are checked by the caller), or
        None when the user did not finish within ``timeout_s``.

    Raises:
        BrowserSignInError: the port is busy, or no browser could be opened.
    """
    target = _Target(redirect_uri)
    listener = _Listener(target, _expected_state(sign_in_url))
    await listener.start()
    try:
        if not open_url(sign_in_url):
            raise BrowserSignInError(tr("Could not open the system browser."))
        log.info("opened the system browser on the sign-in page")
        try:
            redirect_url = await asyncio.wait_for(
                asyncio.shield(listener.result), timeout_s
            )
        except TimeoutError:
            log.info(
                "no sign-in answer from the browser within %d s; stopped waiting",
                timeout_s,
            )
            return None
        log.info("the browser brought the sign-in answer to port %d", target.port)
        # The answer page has been written; let its connection finish.
        await asyncio.sleep(0)
        return redirect_url
    finally:
        listener.close()


def loopback_port_free(port: int) -> bool:
    """Whether 127.0.0.1:``port`` can be bound now (for tests and settings)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
