"""The tokens of one signed-in session, and how to read them from a token
response.

``TokenSet`` is immutable: a refresh makes a new one. Its ``repr`` hides every
secret so that an accidental log line cannot leak one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tstray.oauth.errors import MalformedResponseError, SignInRequiredError


@dataclass(frozen=True)
class TokenSet:
    """What tstray keeps of a session.

    Attributes:
        access_token: the bearer token local programs use.
        refresh_token: the long-lived token used to get a new access token.
        expires_at: when the access token stops working (UTC).
        scope: the granted scopes, space-separated.
        account: the user's name from the id token, if the profile scope was
            granted.
        signed_in_at: when the user last signed in (UTC); the start of a
            rotating refresh token chain's absolute lifetime.
        refresh_token_rotates: True once a refresh answered with a new
            refresh token, which means the key uses rotating refresh tokens.
        refresh_token_expires_at: for rotating keys, when the newest refresh
            token itself expires, if the service said so.
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime
    scope: str = ""
    account: str | None = None
    signed_in_at: datetime | None = None
    refresh_token_rotates: bool = False
    refresh_token_expires_at: datetime | None = None

    def seconds_left(self, now: datetime) -> float:
        return (self.expires_at - now).total_seconds()

    def is_valid(self, now: datetime) -> bool:
        return self.seconds_left(now) > 0


def jwt_claims(token: str) -> dict[str, Any]:
    """Decodes a JWT's claims without checking its signature.

    tstray only reads claims that TradeStation put there for the client
    (``exp``, ``name``); it never makes a trust decision on them.
    Returns an empty dict for anything that is not a readable JWT.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _account_name(id_token: object) -> str | None:
    if not isinstance(id_token, str):
        return None
    claims = jwt_claims(id_token)
    for claim in ("name", "nickname", "email", "sub"):
        value = claims.get(claim)
        if isinstance(value, str) and value:
            return value
    return None


def _expires_in_s(body: Mapping[str, Any]) -> float:
    expires_in = body.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float | str):
        raise MalformedResponseError("the token response has no expires_in")
    try:
        seconds = float(expires_in)
    except ValueError:
        raise MalformedResponseError(
            "the token response's expires_in is not a number"
        ) from None
    if not 0 < seconds < 10 * 365 * 86400:
        raise MalformedResponseError(f"the token response's expires_in is {seconds:g}")
    return seconds


# When an answer says nothing usable about expiry, assume this short life:
# the token is replaced soon, and a service that never says is not hammered.
UNKNOWN_LIFETIME_S = 60.0


def _expires_at(
    body: Mapping[str, Any], access_token: str, now: datetime, *, rotated: bool
) -> datetime:
    """When the access token expires: ``expires_in``, else the token's own
    ``exp`` claim, else (only when the answer rotated the refresh token) a
    short assumed life.

    The last case matters: with rotating refresh tokens the old refresh token
    is already spent, so refusing this answer would lose the session.
    """
    try:
        return now + timedelta(seconds=_expires_in_s(body))
    except MalformedResponseError:
        exp = jwt_claims(access_token).get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            expires_at = datetime.fromtimestamp(float(exp), UTC)
            if expires_at > now:
                return expires_at
        if rotated:
            return now + timedelta(seconds=UNKNOWN_LIFETIME_S)
        raise


def _refresh_token_expires_at(
    body: Mapping[str, Any], now: datetime
) -> datetime | None:
    # Optional and not part of RFC 6749: some services tell how long a rotating
    # refresh token lasts. Anything unreadable is ignored, never an error.
    expires_in = body.get("refresh_token_expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        return None
    if not 0 < expires_in < 10 * 365 * 86400:
        return None
    return now + timedelta(seconds=expires_in)


def parse_token_response(
    body: object, now: datetime, previous: TokenSet | None = None
) -> TokenSet:
    """Builds the new ``TokenSet`` from a token endpoint's JSON answer.

    Args:
        body: the decoded JSON.
        now: when the request was sent; expiry counts from here so that a slow
            answer can only make us refresh early, never late.
        previous: the tokens before a refresh; ``None`` for a code exchange.

    Raises:
        MalformedResponseError: the answer lacks what a token response needs.
        SignInRequiredError: a code exchange gave no refresh token (the
            ``offline_access`` scope is missing), so the session cannot last.
    """
    if not isinstance(body, Mapping):
        raise MalformedResponseError("the token response is not a JSON object")
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise MalformedResponseError("the token response has no access_token")
    new_refresh_token = body.get("refresh_token")
    if new_refresh_token is not None and not isinstance(new_refresh_token, str):
        raise MalformedResponseError("the token response's refresh_token is not text")
    expires_at = _expires_at(body, access_token, now, rotated=bool(new_refresh_token))

    scope = body.get("scope")
    scope = scope if isinstance(scope, str) else (previous.scope if previous else "")
    account = _account_name(body.get("id_token"))
    refresh_token_expires_at = _refresh_token_expires_at(body, now)

    if previous is None:
        if not new_refresh_token:
            raise SignInRequiredError(
                "the sign-in gave no refresh token; add the offline_access scope",
                "no_refresh_token",
            )
        return TokenSet(
            access_token=access_token,
            refresh_token=new_refresh_token,
            expires_at=expires_at,
            scope=scope,
            account=account,
            signed_in_at=now,
            refresh_token_expires_at=refresh_token_expires_at,
        )

    # TradeStation's default keys answer a refresh without a refresh_token:
    # the old one stays good. Rotating keys send a new one every time.
    rotated = bool(new_refresh_token) and new_refresh_token != previous.refresh_token
    return replace(
        previous,
        access_token=access_token,
        refresh_token=new_refresh_token or previous.refresh_token,
        expires_at=expires_at,
        scope=scope,
        account=account or previous.account,
        refresh_token_rotates=previous.refresh_token_rotates or rotated,
        # A kept refresh token keeps its expiry; a new one brings its own.
        refresh_token_expires_at=(
            refresh_token_expires_at
            if new_refresh_token
            else previous.refresh_token_expires_at
        ),
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
