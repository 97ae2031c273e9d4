"""How long to wait before retrying a refresh that failed for a temporary
reason: capped exponential backoff with jitter, or the server's Retry-After.

Jitter keeps many tstray instances (or one after a network blip) from
hammering the sign-in service in lockstep.
"""

from __future__ import annotations

from collections.abc import Callable

FIRST_RETRY_S = 2.0
MAX_RETRY_S = 300.0
# Once the access token has expired, every local program is waiting on us, so
# we retry more eagerly.
MAX_RETRY_WHILE_EXPIRED_S = 60.0
MAX_RETRY_AFTER_S = 3600.0


def retry_delay_s(
    failures: int,
    *,
    retry_after_s: float | None,
    token_expired: bool,
    random: Callable[[], float],
) -> float:
    """Seconds to wait before retry number ``failures`` (1 for the first).

    A server's Retry-After is honoured as given (up to an hour), because
    retrying sooner would only earn another 429.
    """
    if retry_after_s is not None and retry_after_s > 0:
        return min(retry_after_s, MAX_RETRY_AFTER_S)

    cap_s = MAX_RETRY_WHILE_EXPIRED_S if token_expired else MAX_RETRY_S
    ceiling_s = min(cap_s, FIRST_RETRY_S * 2.0 ** max(failures - 1, 0))
    # "Equal jitter": at least half the ceiling, so retries never bunch at 0.
    return ceiling_s / 2 + random() * ceiling_s / 2
