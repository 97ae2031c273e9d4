"""One sign-in, start to end: build the sign-in URL, show the window, read the
code from the redirect it caught, and exchange the code for tokens.

Only one sign-in runs at a time. The code and the PKCE verifier live only in
local variables of ``sign_in`` and are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from tstray.config import TradeStationSettings
from tstray.oauth.authorize import build_sign_in_request, code_from_redirect
from tstray.oauth.tokens import TokenSet

log = logging.getLogger(__name__)

# Shows the sign-in window on a URL; returns the redirect URL it caught, or
# None when the user closed the window.
OpenWindow = Callable[[str, str], Awaitable[str | None]]


class CodeExchanger(Protocol):
    async def exchange_code(self, code: str, code_verifier: str | None) -> TokenSet: ...


class SignInAlreadyOpenError(Exception):
    """A sign-in window is already open."""


class SignInFlow:
    """Signs the user in through the window.

    Args:
        settings: where the sign-in service is and which key to use.
        client: exchanges the authorization code for tokens.
        open_window: shows the window (a child process in the app).
    """

    def __init__(
        self,
        settings: TradeStationSettings,
        client: CodeExchanger,
        open_window: OpenWindow,
    ) -> None:
        self._settings = settings
        self._client = client
        self._open_window = open_window
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    async def sign_in(self) -> TokenSet | None:
        """Returns the new tokens, or None when the user closed the window.

        Raises:
            SignInAlreadyOpenError: another sign-in is under way.
            SignInCancelledError, SignInFailedError: from the redirect.
            TokenEndpointError: the code exchange failed.
        """
        if self._running:
            raise SignInAlreadyOpenError("the sign-in window is already open")
        self._running = True
        try:
            request = build_sign_in_request(self._settings)
            log.info(
                "opening the sign-in window (PKCE %s)",
                "on" if request.code_verifier else "off",
            )
            redirect_url = await self._open_window(request.url, request.redirect_uri)
            if redirect_url is None:
                log.info("sign-in window closed by the user")
                return None

            code = code_from_redirect(redirect_url, request)
            tokens = await self._client.exchange_code(code, request.code_verifier)
            log.info("sign-in complete")
            return tokens
        finally:
            self._running = False
