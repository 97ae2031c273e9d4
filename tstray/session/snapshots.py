"""The snapshots the session publishes, built from what it holds: pure
functions, so each can be tested and read without the refresh loop.

Nothing here logs, and a snapshot hides its token in ``repr``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from tstray.oauth.errors import NetworkError, TemporaryError
from tstray.oauth.tokens import TokenSet
from tstray.session.state import SessionSnapshot, SessionState
from tstray.session.timing import refresh_due_at

# A rotating refresh-token chain ends this long after the sign-in.
ROTATING_CHAIN_LIFETIME = timedelta(hours=24)


def valid_snapshot(
    tokens: TokenSet,
    *,
    now: datetime,
    margin_s: float,
    previous: SessionSnapshot,
    refreshed: bool,
    keep_error: bool,
) -> SessionSnapshot:
    """The snapshot for freshly held ``tokens``.

    Args:
        tokens: what the session now holds.
        now: the current time.
        margin_s: how long before expiry the refresh is due.
        previous: the snapshot before, for what carries over.
        refreshed: whether the tokens just came from a refresh (else from a
            load or a sign-in): sets ``last_refresh_at``.
        keep_error: keep ``previous``'s error (the keyring still refuses the
            tokens), else clear it.
    """
    if tokens.refresh_token is None:
        state = SessionState.SIGN_IN_NEEDED
    elif tokens.is_valid(now):
        state = SessionState.VALID
    else:
        # A stored token that expired while tstray was not running: the
        # loop refreshes it at once.
        state = SessionState.REFRESHING
    deadline = None
    if tokens.refresh_token_rotates and tokens.signed_in_at is not None:
        deadline = tokens.signed_in_at + ROTATING_CHAIN_LIFETIME
    return SessionSnapshot(
        state=state,
        access_token=tokens.access_token,
        expires_at=tokens.expires_at,
        scope=tokens.scope,
        account=tokens.account,
        last_refresh_at=now if refreshed else previous.last_refresh_at,
        next_refresh_at=refresh_due_at(tokens, margin_s),
        last_error=previous.last_error if keep_error else "",
        error_code=previous.error_code if keep_error else "",
        sign_in_deadline=deadline,
    )


def retrying_snapshot(
    previous: SessionSnapshot,
    exc: TemporaryError,
    *,
    token_expired: bool,
    retry_at: datetime,
) -> SessionSnapshot:
    """The snapshot after a refresh failed for a reason worth retrying."""
    if token_expired:
        state = SessionState.EXPIRED_RETRYING
    elif isinstance(exc, NetworkError):
        state = SessionState.OFFLINE
    else:
        state = SessionState.RETRYING
    return replace(
        previous,
        state=state,
        next_refresh_at=retry_at,
        last_error=exc.reason,
        error_code="network" if isinstance(exc, NetworkError) else "server_error",
    )
