"""The demo sign-in service's token rules: codes, code exchange, refresh and
revocation, with TradeStation's behaviour and error answers.

Plain logic with no HTTP, so the rules can be read (and tested) on their own:
the request handler in ``service`` turns a form into a call here and the
``TokenReply`` back into an HTTP answer. Refusals are Auth0-style JSON
(``error`` and ``error_description``). Nothing here logs a token, a code or
the client secret; logs name a chain by the first characters of its id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tstray.config import TRADESTATION_CALLBACK_URLS
from tstray.demo.faults import DemoStats
from tstray.demo.tokens import ChainRegistry, DemoKeys, RefreshClaims

logger = logging.getLogger(__name__)

DEMO_CLIENT_ID = "tstray-demo"
# A public, demo-only value: it guards nothing but the demo service.
DEMO_CLIENT_SECRET = "demo-secret-not-for-real-use"  # noqa: S105
DEMO_AUDIENCE = "https://api.tradestation.com"
DEFAULT_USER_NAME = "Demo Trader"

# The callback URLs TradeStation configures on a new API key; the allowed
# logout URLs are the same hosts with "/logout".
CALLBACK_URLS = TRADESTATION_CALLBACK_URLS
LOGOUT_URLS = tuple(f"{url}/logout" for url in CALLBACK_URLS)

CODE_LIFETIME_S = 60
ID_TOKEN_LIFETIME_S = 36000
INVALID_REFRESH_TOKEN = "Unknown or invalid refresh token."  # noqa: S105 - a message


@dataclass(frozen=True)
class DemoOptions:
    """How the demo service's API key behaves.

    Attributes:
        access_lifetime_s: access token lifetime; short so a newcomer sees
            refreshes happen (TradeStation's is 1200).
        rotating: rotate refresh tokens on every refresh.
        reuse_detection: with ``rotating``, presenting an already rotated
            refresh token revokes its whole chain; without it the old token
            is merely refused.
        refresh_lifetime_s: with ``rotating``, each refresh token's life.
        chain_lifetime_s: with ``rotating``, the absolute life of a sign-in.
        require_pkce: the sign-in must use PKCE (S256).
    """

    access_lifetime_s: int = 120
    rotating: bool = False
    reuse_detection: bool = True
    refresh_lifetime_s: int = 1800
    chain_lifetime_s: int = 86400
    require_pkce: bool = False


@dataclass(frozen=True)
class ConsentedRequest:
    """A sign-in the user allowed, waiting to be exchanged for tokens."""

    client_id: str
    redirect_uri: str
    scope: str
    audience: str
    user_name: str
    code_challenge: str | None
    nonce: str | None


@dataclass(frozen=True)
class TokenReply:
    """An answer of the token or revoke endpoint: status and JSON body."""

    status: int
    body: dict[str, Any] | None = None

    def __repr__(self) -> str:
        error = (self.body or {}).get("error")
        return f"TokenReply({self.status}, error={error!r})"


class _RefusedError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.reply = TokenReply(
            status, {"error": error, "error_description": description}
        )


def _invalid_grant(description: str = INVALID_REFRESH_TOKEN) -> _RefusedError:
    return _RefusedError(403, "invalid_grant", description)


def _invalid_client(description: str) -> _RefusedError:
    return _RefusedError(401, "invalid_client", description)


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise _RefusedError(
            400, "invalid_request", f"Missing required parameter: {name}"
        )
    return value


def is_known_client(client_id: str | None) -> bool:
    return client_id == DEMO_CLIENT_ID


def pkce_challenge(code_verifier: str) -> str:
    """The S256 code challenge for ``code_verifier`` (RFC 7636)."""
    digest = hashlib.sha256(code_verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _check_secret(form: Mapping[str, str]) -> bool:
    """Returns True for the right client secret, False for none; raises for a
    wrong one."""
    client_secret = form.get("client_secret")
    if client_secret is None:
        return False
    if not hmac.compare_digest(client_secret.encode(), DEMO_CLIENT_SECRET.encode()):
        raise _invalid_client("Wrong client secret.")
    return True


def _require_authentication(secret_ok: bool, pkce: bool) -> None:
    # A PKCE chain proves the client by its verifier; others need the secret.
    if not secret_ok and not pkce:
        raise _invalid_client("The client secret is required.")


def _subject(user_name: str) -> str:
    return "auth0|demo-" + hashlib.sha256(user_name.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _PendingCode:
    request: ConsentedRequest
    expires_at: float


class DemoGrants:
    """Issues codes and answers token and revoke requests.

    One lock serialises every grant, so two refreshes racing with the same
    rotating token cannot both succeed.
    """

    def __init__(
        self,
        keys: DemoKeys,
        registry: ChainRegistry,
        options: DemoOptions,
        stats: DemoStats,
        clock: Callable[[], float],
        issuer: Callable[[], str],
    ) -> None:
        self._keys = keys
        self._registry = registry
        self._options = options
        self._stats = stats
        self._clock = clock
        self._issuer = issuer
        self._lock = threading.Lock()
        self._codes: dict[str, _PendingCode] = {}

    def issue_code(self, request: ConsentedRequest) -> str:
        """Returns a single-use code for ``request``, good for 60 s."""
        now = self._clock()
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes = {c: p for c, p in self._codes.items() if p.expires_at > now}
            self._codes[code] = _PendingCode(request, now + CODE_LIFETIME_S)
        self._stats.increment("codes_issued")
        logger.info("demo: issued a code for %s", request.user_name)
        return code

    def token_request(self, form: Mapping[str, str]) -> TokenReply:
        """Answers one POST to the token endpoint."""
        grant_type = form.get("grant_type")
        try:
            with self._lock:
                if not grant_type:
                    raise _RefusedError(
                        400, "invalid_request", "Missing required parameter: grant_type"
                    )
                if grant_type == "authorization_code":
                    return self._exchange_code(form)
                if grant_type == "refresh_token":
                    return self._refresh(form)
                raise _RefusedError(
                    400, "unsupported_grant_type", "Unsupported grant type."
                )
        except _RefusedError as refusal:
            if grant_type == "refresh_token":
                self._stats.increment("refreshes_failed")
            logger.info(
                "demo: refused a %s request: %s",
                grant_type or "token",
                refusal.reply.body and refusal.reply.body["error"],
            )
            return refusal.reply

    def revoke_request(self, body: Mapping[str, str]) -> TokenReply:
        """Answers one POST to the revoke endpoint.

        Like TradeStation, revoking one refresh token revokes every refresh
        token of the client.
        """
        try:
            client_id = _required(body, "client_id")
            if not is_known_client(client_id):
                raise _invalid_client("Unknown client.")
            secret_ok = _check_secret(body)
            token = _required(body, "token")
            claims = self._keys.decode_refresh_token(token)
            pkce = bool(claims and claims.pkce and claims.client_id == client_id)
            _require_authentication(secret_ok, pkce)
        except _RefusedError as refusal:
            return refusal.reply

        with self._lock:
            self._registry.revoke_client(client_id, self._clock())
        self._stats.increment("revoke_requests")
        self._stats.increment("revoked_chains")
        logger.info("demo: revoked every refresh token of %s", client_id)
        return TokenReply(200)

    def _exchange_code(self, form: Mapping[str, str]) -> TokenReply:
        client_id = _required(form, "client_id")
        if not is_known_client(client_id):
            raise _invalid_client("Unknown client.")
        secret_ok = _check_secret(form)
        code = _required(form, "code")
        redirect_uri = _required(form, "redirect_uri")

        pending = self._codes.get(code)
        if pending is None or pending.expires_at <= self._clock():
            raise _invalid_grant("Invalid authorization code")
        request = pending.request
        if request.client_id != client_id:
            raise _invalid_grant("Invalid authorization code")
        if request.redirect_uri != redirect_uri:
            raise _invalid_grant("The redirect_uri does not match the sign-in request.")

        pkce = self._verify_pkce(form, request)
        _require_authentication(secret_ok, pkce)

        # Single use: only a successful exchange spends the code.
        del self._codes[code]
        self._stats.increment("codes_exchanged")
        now = self._clock()
        refresh_token = None
        if "offline_access" in request.scope.split():
            claims = RefreshClaims(
                chain_id=secrets.token_hex(16),
                generation=0,
                issued_at=now,
                chain_started_at=now,
                client_id=client_id,
                epoch=self._registry.epoch(client_id),
                pkce=pkce,
                user_name=request.user_name,
                scope=request.scope,
                audience=request.audience,
            )
            if self._options.rotating:
                self._registry.record_generation(claims, now)
            refresh_token = self._keys.encode_refresh_token(claims)
            logger.info("demo: code exchanged; chain %s started", claims.chain_id[:8])
        return self._token_reply(request, now, refresh_token)

    def _verify_pkce(self, form: Mapping[str, str], request: ConsentedRequest) -> bool:
        """Returns True when a PKCE verifier was required and matched."""
        code_verifier = form.get("code_verifier")
        if request.code_challenge is None:
            if self._options.require_pkce:
                raise _RefusedError(
                    400, "invalid_request", "This client requires PKCE."
                )
            if code_verifier is not None:
                raise _invalid_grant("Failed to verify code verifier")
            return False

        # RFC 7636 4.6: once a challenge was sent, the verifier is mandatory.
        code_verifier = _required(form, "code_verifier")
        if not 43 <= len(code_verifier) <= 128 or not hmac.compare_digest(
            pkce_challenge(code_verifier), request.code_challenge
        ):
            raise _invalid_grant("Failed to verify code verifier")
        return True

    def _refresh(self, form: Mapping[str, str]) -> TokenReply:
        client_id = _required(form, "client_id")
        if not is_known_client(client_id):
            raise _invalid_client("Unknown client.")
        secret_ok = _check_secret(form)
        token = _required(form, "refresh_token")

        claims = self._keys.decode_refresh_token(token)
        if claims is None or claims.client_id != client_id:
            raise _invalid_grant()
        _require_authentication(secret_ok, claims.pkce)
        if self._registry.is_revoked(claims):
            raise _invalid_grant()

        now = self._clock()
        new_refresh_token = None
        if self._options.rotating:
            new_refresh_token = self._rotate(claims, now)

        self._stats.increment("refreshes_ok")
        logger.info(
            "demo: refreshed chain %s (generation %d)",
            claims.chain_id[:8],
            claims.generation,
        )
        request = ConsentedRequest(
            client_id=client_id,
            redirect_uri="",
            scope=claims.scope,
            audience=claims.audience,
            user_name=claims.user_name,
            code_challenge=None,
            nonce=None,
        )
        return self._token_reply(request, now, new_refresh_token)

    def _rotate(self, claims: RefreshClaims, now: float) -> str:
        """Checks a rotating chain's rules and returns the next refresh token."""
        options = self._options
        if now >= claims.chain_started_at + options.chain_lifetime_s:
            raise _invalid_grant()
        if now >= claims.issued_at + options.refresh_lifetime_s:
            raise _invalid_grant()

        newest = self._registry.newest_generation(claims.chain_id)
        if newest is not None and claims.generation < newest:
            # Auth0 treats a rotated token coming back as a stolen one.
            if options.reuse_detection:
                self._registry.revoke_chain(claims, now)
                self._stats.increment("reuse_detected")
                self._stats.increment("revoked_chains")
                logger.warning(
                    "demo: rotated refresh token reused; chain %s revoked",
                    claims.chain_id[:8],
                )
            raise _invalid_grant()

        successor = RefreshClaims(
            chain_id=claims.chain_id,
            generation=claims.generation + 1,
            issued_at=now,
            chain_started_at=claims.chain_started_at,
            client_id=claims.client_id,
            epoch=claims.epoch,
            pkce=claims.pkce,
            user_name=claims.user_name,
            scope=claims.scope,
            audience=claims.audience,
        )
        self._registry.record_generation(successor, now)
        return self._keys.encode_refresh_token(successor)

    def _token_reply(
        self, request: ConsentedRequest, now: float, refresh_token: str | None
    ) -> TokenReply:
        issued_at = int(now)
        subject = _subject(request.user_name)
        scopes = request.scope.split()
        access_claims = {
            "iss": self._issuer(),
            "sub": subject,
            "aud": request.audience,
            "azp": request.client_id,
            "iat": issued_at,
            "exp": issued_at + self._options.access_lifetime_s,
            "scope": request.scope,
            "jti": secrets.token_hex(8),
        }
        body: dict[str, Any] = {
            "access_token": self._keys.encode_jwt(access_claims),
            "scope": request.scope,
            "expires_in": self._options.access_lifetime_s,
            "token_type": "Bearer",
        }

        if "openid" in scopes:
            id_claims: dict[str, Any] = {
                "iss": self._issuer(),
                "sub": subject,
                "aud": request.client_id,
                "iat": issued_at,
                "exp": issued_at + ID_TOKEN_LIFETIME_S,
            }
            # As at TradeStation, the name comes with the profile scope.
            if "profile" in scopes:
                id_claims["name"] = request.user_name
            if request.nonce:
                id_claims["nonce"] = request.nonce
            body["id_token"] = self._keys.encode_jwt(id_claims)
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        return TokenReply(200, body)
