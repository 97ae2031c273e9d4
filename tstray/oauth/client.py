"""Talks to the sign-in service's token and revoke endpoints: exchanges an
authorization code, refreshes tokens and revokes a refresh token, and turns
every way that can fail into one of ``tstray.oauth.errors``.

It never logs, and never puts into an error, a token, a code, the PKCE
verifier, the client secret or a request body: reasons are built here from the
status code, the service's ``error`` and its cleaned ``error_description``.
It never follows a redirect, so a form carrying a secret goes to the
configured URL and nowhere else.

How an answer is read (the first matching row wins; E = ``error`` in the JSON):

| answer                                          | raised                  |
| ----------------------------------------------- | ----------------------- |
| timeout; connect, read, TLS or protocol error   | NetworkError            |
| 2xx, a JSON object with access_token+expires_in | (a new TokenSet)        |
| 2xx, anything else                              | MalformedResponseError  |
| 3xx (redirects are not followed)                | MalformedResponseError  |
| 429 or 5xx, whatever the body                   | ServerBusyError [1]     |
| 4xx, body not a JSON object with a text E       | MalformedResponseError  |
| 4xx, E invalid_grant or access_denied           | SignInRequiredError     |
| 4xx, E invalid_client, unauthorized_client or   | ClientRejectedError     |
|      unsupported_grant_type                     |                         |
| 4xx, E temporarily_unavailable, slow_down or    | ServerBusyError [1]     |
|      server_error                               |                         |
| 408 or 425, any other E                         | ServerBusyError [1]     |
| 400, 401 or 403, any other E                    | SignInRequiredError     |
| other 4xx, any other E                          | MalformedResponseError  |

[1] ``retry_after_s`` from Retry-After (seconds or an HTTP date), capped at
3600 s; ``None`` when missing or unreadable. A 4xx body that is not JSON comes
from a proxy or captive portal, not from the service, so it stays temporary.

Only a 4xx can be final, so a refresh token is never given up over an outage.
For revoke, any 2xx is success and its body is not read.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from tstray.config import TradeStationSettings
from tstray.oauth.authorize import clean_for_display
from tstray.oauth.errors import (
    ClientRejectedError,
    MalformedResponseError,
    NetworkError,
    ServerBusyError,
    SignInRequiredError,
    TokenEndpointError,
)
from tstray.oauth.tokens import TokenSet, parse_token_response, utc_now

if TYPE_CHECKING:
    # httpx is imported when the first request goes out (tstray.oauth.transport
    # says why); the names here are for the type checker only.
    import httpx

HttpClientSource = Callable[[], "httpx.AsyncClient"]

logger = logging.getLogger(__name__)

RETRY_AFTER_MAX_S = 3600.0
_DESCRIPTION_MAX_CHARS = 300
_ERROR_CODE_MAX_CHARS = 64

_SIGN_IN_AGAIN = frozenset({"invalid_grant", "access_denied"})
_CLIENT_REJECTED = frozenset(
    {"invalid_client", "unauthorized_client", "unsupported_grant_type"}
)
_BUSY = frozenset({"temporarily_unavailable", "slow_down", "server_error"})


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """Reads a Retry-After header (RFC 9110 10.2.3) as seconds from ``now``.

    Returns ``None`` for a missing or unreadable value; caps at an hour so a
    confused server cannot park the session for days.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), RETRY_AFTER_MAX_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), RETRY_AFTER_MAX_S)


def _json_object(response: httpx.Response) -> Mapping[str, Any] | None:
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


class TokenClient:
    """The token and revoke endpoints of one API key.

    Args:
        settings: the endpoints, API key and redirect URI.
        http: returns the shared async HTTP client (made on first use, see
            ``tstray.oauth.transport``); its timeouts apply.
        client_secret: returns the key's secret, or ``None`` (PKCE keys).
        clock: the current time in UTC; read just before each request.
    """

    def __init__(
        self,
        settings: TradeStationSettings,
        http: HttpClientSource,
        client_secret: Callable[[], Awaitable[str | None]],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._settings = settings
        self._http = http
        self._client_secret = client_secret
        self._clock = clock

    async def exchange_code(self, code: str, code_verifier: str | None) -> TokenSet:
        """Trades the redirect's authorization code for a new ``TokenSet``.

        Raises:
            TokenEndpointError: as the module's table says.
        """
        form = {
            "grant_type": "authorization_code",
            "client_id": self._settings.client_id,
            "code": code,
            "redirect_uri": self._settings.redirect_uri,
        }
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        await self._add_client_secret(form)
        return await self._token_request("code exchange", form, previous=None)

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        """Gets a new access token with ``tokens``' refresh token.

        The answer may lack a refresh token (the old one stays) or bring a new
        one (rotation; ``refresh_token_rotates`` becomes true).

        Raises:
            SignInRequiredError: there is no refresh token to use.
            TokenEndpointError: as the module's table says.
        """
        if not tokens.refresh_token:
            raise SignInRequiredError(
                "no refresh token is stored, so the session cannot be renewed;"
                " please sign in again",
                "no_refresh_token",
            )
        form = {
            "grant_type": "refresh_token",
            "client_id": self._settings.client_id,
            "refresh_token": tokens.refresh_token,
        }
        await self._add_client_secret(form)
        return await self._token_request("token refresh", form, previous=tokens)

    async def revoke(self, refresh_token: str) -> None:
        """Revokes ``refresh_token`` (and, at TradeStation, every refresh
        token of this API key).

        Raises:
            TokenEndpointError: as the module's table says.
        """
        body = {"client_id": self._settings.client_id, "token": refresh_token}
        await self._add_client_secret(body)
        what = "token revoke"
        now = self._clock()
        response, elapsed_ms = await self._post(
            what, self._settings.revoke_url, json=body
        )
        if response.is_success:
            logger.info("%s: HTTP %d in %d ms", what, response.status_code, elapsed_ms)
            return
        raise self._failure(what, response, now, elapsed_ms, body.values())

    async def _add_client_secret(self, form: dict[str, str]) -> None:
        # PKCE keys have no secret; a regular key needs it on every request.
        secret = await self._client_secret()
        if secret:
            form["client_secret"] = secret

    async def _token_request(
        self, what: str, form: dict[str, str], previous: TokenSet | None
    ) -> TokenSet:
        # Expiry counts from before the request, so a slow answer can only
        # make the next refresh early, never late.
        now = self._clock()
        response, elapsed_ms = await self._post(
            what, self._settings.token_url, data=form
        )
        if not response.is_success:
            raise self._failure(what, response, now, elapsed_ms, form.values())

        try:
            tokens = parse_token_response(_json_object(response), now, previous)
        except TokenEndpointError as exc:
            logger.warning(
                "%s failed: HTTP %d in %d ms, %s",
                what,
                response.status_code,
                elapsed_ms,
                exc.reason,
            )
            raise

        rotated = (
            previous is not None and tokens.refresh_token != previous.refresh_token
        )
        logger.info(
            "%s: HTTP %d in %d ms, access token expires in %d s%s",
            what,
            response.status_code,
            elapsed_ms,
            tokens.seconds_left(now),
            ", new refresh token" if rotated else "",
        )
        return tokens

    async def _post(
        self, what: str, url: str, **content: Any
    ) -> tuple[httpx.Response, int]:
        import httpx

        client = self._http()
        started = time.perf_counter()
        try:
            response = await client.post(url, follow_redirects=False, **content)
        except (httpx.TransportError, OSError) as exc:
            # httpx wraps socket and TLS failures in TransportError; OSError
            # (ssl.SSLError among them) catches one that slips through. The
            # exception's text is not used: reasons are built here.
            elapsed_ms = _ms_since(started)
            reason = (
                f"the sign-in service could not be reached: {_network_words(exc)}"
                f" after {elapsed_ms} ms"
            )
            logger.warning("%s failed: %s", what, reason)
            raise NetworkError(reason) from exc
        except httpx.DecodingError as exc:
            elapsed_ms = _ms_since(started)
            reason = (
                "the sign-in service's answer could not be decoded"
                f" ({type(exc).__name__})"
            )
            logger.warning("%s failed after %d ms: %s", what, elapsed_ms, reason)
            raise MalformedResponseError(reason) from exc
        return response, _ms_since(started)

    def _failure(
        self,
        what: str,
        response: httpx.Response,
        now: datetime,
        elapsed_ms: int,
        hidden: Any,
    ) -> TokenEndpointError:
        """Builds (and logs) the error for a non-2xx answer."""
        error = _classify(response, now, tuple(hidden))
        logger.warning(
            "%s failed: HTTP %d in %d ms, %s",
            what,
            response.status_code,
            elapsed_ms,
            error.reason,
        )
        return error


def _network_words(exc: Exception) -> str:
    """Says in words how a request failed, without the exception's text."""
    import httpx  # loaded already: a request was made

    # httpx reports a failed TLS handshake as a ConnectError caused by an
    # ssl.SSLError; walk a few links of the chain to tell it apart.
    cause: BaseException | None = exc
    for _ in range(5):
        if cause is None:
            break
        if isinstance(cause, ssl.SSLError):
            return "the secure (TLS) connection failed"
        cause = cause.__cause__ or cause.__context__

    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting timed out"
    if isinstance(exc, httpx.TimeoutException):
        return "no answer came in time"
    if isinstance(exc, httpx.ConnectError):
        return "the connection was refused or the name did not resolve"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection closed without a proper answer"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return "the connection broke"
    return f"the request failed ({type(exc).__name__})"


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _classify(
    response: httpx.Response, now: datetime, hidden: tuple[str, ...]
) -> TokenEndpointError:
    """Maps a non-2xx answer to an error, following the module's table."""
    status = response.status_code

    if 300 <= status < 400:
        return MalformedResponseError(
            f"the sign-in service answered with a redirect (HTTP {status}),"
            " which is not followed; check the token and revoke URLs in settings"
        )

    if status == 429 or status >= 500:
        wait_s = retry_after_s(response.headers.get("Retry-After"), now)
        after = f"; it asks to wait {wait_s:.0f} s" if wait_s is not None else ""
        return ServerBusyError(
            f"the sign-in service is busy or down (HTTP {status}){after}", wait_s
        )

    body = _json_object(response)
    error_value = body.get("error") if body is not None else None
    if body is None or not isinstance(error_value, str) or not error_value:
        return MalformedResponseError(
            f"the sign-in service answered HTTP {status} with a body that is not"
            " an OAuth error (a proxy or a captive portal may be in the way)"
        )

    # The service's own words help the user; anything we sent (a token, a
    # code, the secret) is cut out in case the service echoes it.
    error_code = clean_for_display(error_value, _ERROR_CODE_MAX_CHARS, hidden)
    description = body.get("error_description")
    said = ""
    if isinstance(description, str):
        cleaned = clean_for_display(description, _DESCRIPTION_MAX_CHARS, hidden)
        said = f": {cleaned}" if cleaned else ""
    answered = f"HTTP {status}, {error_code}{said}"

    if error_value in _SIGN_IN_AGAIN:
        return SignInRequiredError(
            f"the sign-in service refused the session ({answered});"
            " please sign in again",
            error_code,
        )
    if error_value in _CLIENT_REJECTED:
        return ClientRejectedError(
            f"the sign-in service rejected the API key ({answered});"
            " check the API key and secret in settings",
            error_code,
        )
    if error_value in _BUSY or status in (408, 425):
        wait_s = retry_after_s(response.headers.get("Retry-After"), now)
        return ServerBusyError(f"the sign-in service is busy ({answered})", wait_s)
    if status in (400, 401, 403):
        return SignInRequiredError(
            f"the sign-in service refused the request ({answered});"
            " please sign in again",
            error_code,
        )
    return MalformedResponseError(
        f"the sign-in service gave an unexpected answer ({answered})"
    )
