"""The one HTTP client tstray talks to the sign-in service with, made when the
first request goes out.

httpx, its TLS set-up and the certificate bundle cost about 11 MB of memory
and a tenth of a second; a tray that is signed out, or whose token was just
loaded fresh from the keyring, needs none of it yet. So neither httpx nor the
client exists until ``TokenClient`` asks for it. This module sends nothing
itself and never follows a redirect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

# The sign-in service answers in well under a second; a minute-long stall is
# an outage, and the session retries it.
TIMEOUT_S = 15.0
CONNECT_TIMEOUT_S = 10.0


class LazyHttpClient:
    """Makes one ``httpx.AsyncClient`` on the first call and returns it on
    every call after; ``aclose`` closes it if it was made.

    Must be called on the event loop the requests run on (the GUI loop).
    """

    def __init__(
        self, timeout_s: float = TIMEOUT_S, connect_timeout_s: float = CONNECT_TIMEOUT_S
    ) -> None:
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._client: httpx.AsyncClient | None = None

    @property
    def made(self) -> bool:
        """Whether the client (and with it httpx) has been made."""
        return self._client is not None

    def __call__(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout_s, connect=self._connect_timeout_s),
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
