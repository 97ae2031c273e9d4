"""When tokens expire and when to refresh them, read from the tokens
themselves: pure functions, no clock of their own, no I/O.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tstray.oauth.tokens import TokenSet, jwt_claims

# How far a token's own ``exp`` claim may fall before the expiry counted from
# ``expires_in`` and still be trusted: whole-second rounding plus a little
# clock skew. A larger gap means the clocks disagree, and ``exp`` is ignored.
MAX_EXP_ROUNDING_S = 2.0


def with_trusted_expiry(tokens: TokenSet) -> TokenSet:
    """Returns ``tokens`` with ``expires_at`` no later than the access token's
    own ``exp`` claim.

    ``expires_at`` counts ``expires_in`` from when the request was sent, but a
    service that writes ``exp`` in whole seconds (Auth0, so TradeStation) ends
    the token up to a second sooner; serving it in that second would hand out
    a token the API refuses.
    """
    exp = jwt_claims(tokens.access_token).get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return tokens
    try:
        claimed = datetime.fromtimestamp(float(exp), UTC)
    except (OverflowError, OSError, ValueError):
        return tokens
    gap_s = (tokens.expires_at - claimed).total_seconds()
    if not 0 < gap_s <= MAX_EXP_ROUNDING_S:
        return tokens
    return replace(tokens, expires_at=claimed)


def refresh_due_at(tokens: TokenSet, margin_s: float) -> datetime:
    """When to refresh: ``margin_s`` before expiry, but never before half the
    token's life, so a short-lived token (the demo's) is not refreshed
    continuously."""
    margin = timedelta(seconds=margin_s)
    whole_life_s = lifetime_s(tokens)
    if whole_life_s is not None:
        margin = min(margin, timedelta(seconds=whole_life_s / 2))
    return tokens.expires_at - margin


def lifetime_s(tokens: TokenSet) -> float | None:
    """The access token's whole life in seconds, from its ``iat`` and ``exp``
    claims; None when it does not say."""
    claims = jwt_claims(tokens.access_token)
    issued_at, expires = claims.get("iat"), claims.get("exp")
    if isinstance(issued_at, int | float) and isinstance(expires, int | float):
        return max(float(expires) - float(issued_at), 0.0)
    return None
