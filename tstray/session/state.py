"""The states a session can be in, and the read-only snapshot of it that the
tray, the notifier and the local token service read.

A snapshot is immutable and replaced whole on every change, so a reader on
another thread (the local token service) always sees one consistent session,
never a token from one refresh with the expiry of another.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class SessionState(enum.Enum):
    """Where the session stands. See docs/architecture.md for the diagram.

    SIGNED_OUT: no tokens; the user has not signed in.
    VALID: a valid access token is held and the next refresh is scheduled.
    REFRESHING: a refresh request is under way; the current token is served.
    RETRYING: the last refresh failed for a reason worth retrying (5xx, 429,
        garbage answer) and the current token is still valid.
    OFFLINE: the sign-in service could not be reached; retrying.
    EXPIRED_RETRYING: still retrying, but the access token has expired, so no
        token can be served.
    SIGN_IN_NEEDED: the service refused the refresh token (or the key); only
        the user can fix this.
    """

    SIGNED_OUT = "signed_out"
    VALID = "valid"
    REFRESHING = "refreshing"
    RETRYING = "retrying"
    OFFLINE = "offline"
    EXPIRED_RETRYING = "expired_retrying"
    SIGN_IN_NEEDED = "sign_in_needed"


class Health(enum.Enum):
    """What the tray shows: the state reduced to four colours."""

    SIGNED_OUT = "grey"
    OK = "green"
    DEGRADED = "amber"
    NEEDS_USER = "red"


_HEALTH = {
    SessionState.SIGNED_OUT: Health.SIGNED_OUT,
    SessionState.VALID: Health.OK,
    SessionState.REFRESHING: Health.OK,
    SessionState.RETRYING: Health.DEGRADED,
    SessionState.OFFLINE: Health.DEGRADED,
    SessionState.EXPIRED_RETRYING: Health.DEGRADED,
    SessionState.SIGN_IN_NEEDED: Health.NEEDS_USER,
}


def health_of(state: SessionState) -> Health:
    return _HEALTH[state]


@dataclass(frozen=True)
class SessionSnapshot:
    """The session as it is at one moment.

    Attributes:
        state: the lifecycle state.
        access_token: the token to hand out, or None when none is held.
        expires_at: when ``access_token`` expires (UTC).
        scope: the granted scopes.
        account: the signed-in user's name, if known.
        last_refresh_at: when the last successful refresh (or sign-in) ended.
        next_refresh_at: when the next refresh or retry is planned.
        last_error: the last failure in words, cleared by a success.
        error_code: a stable code for the last failure (``invalid_grant``,
            ``network``...), empty when all is well.
        sign_in_deadline: for rotating refresh tokens, when the 24-hour chain
            runs out and a sign-in becomes unavoidable.
    """

    state: SessionState = SessionState.SIGNED_OUT
    access_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    scope: str = ""
    account: str | None = None
    last_refresh_at: datetime | None = None
    next_refresh_at: datetime | None = None
    last_error: str = ""
    error_code: str = ""
    sign_in_deadline: datetime | None = None

    @property
    def health(self) -> Health:
        return health_of(self.state)

    @property
    def keyring_unread(self) -> bool:
        """Whether the stored session could not be read (the keyring is
        locked or not answering): "signed out" only because nothing could be
        loaded yet, and the session tries again."""
        return (
            self.state is SessionState.SIGNED_OUT
            and self.error_code == "keyring_unavailable"
        )

    def token_if_valid(self, now: datetime, min_ttl_s: float = 0) -> str | None:
        """Returns the access token only if it lives at least ``min_ttl_s``
        more seconds by the wall clock: an expired token is never served."""
        if self.access_token is None or self.expires_at is None:
            return None
        if (self.expires_at - now).total_seconds() <= min_ttl_s:
            return None
        return self.access_token

    def seconds_left(self, now: datetime) -> float | None:
        if self.expires_at is None:
            return None
        return (self.expires_at - now).total_seconds()
