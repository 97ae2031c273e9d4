"""The session trusts a token's own ``exp`` claim over ``expires_in`` when
``exp`` is a little earlier (whole-second rounding), so it never serves a
token in the last fraction of a second after the service ended it.

Found by the reliability proof (tests/reliability): with the demo service,
an expiring token was served for up to a second after its ``exp``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta

from tstray.oauth.tokens import TokenSet
from tstray.session.lifecycle import Session, with_trusted_expiry
from tstray.session.state import SessionState

# Not on a whole second, as a real clock almost never is.
START = datetime(2026, 12, 4, 9, 30, 0, 900_000, tzinfo=UTC)


def jwt_with_exp(exp: float) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'exp': exp})}.sig"


def tokens(expires_at: datetime, exp: float | None) -> TokenSet:
    access_token = "opaque-token" if exp is None else jwt_with_exp(exp)
    return TokenSet(access_token, "refresh-0", expires_at)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Store:
    def __init__(self, stored: TokenSet) -> None:
        self.tokens: TokenSet | None = stored

    async def load_tokens(self) -> TokenSet | None:
        return self.tokens

    async def save_tokens(self, new_tokens: TokenSet) -> None:
        self.tokens = new_tokens

    async def delete_tokens(self) -> None:
        self.tokens = None


class Refresher:
    """Answers like Auth0: ``exp`` in whole seconds, ``expires_in`` counted
    by the client from when it sent the request."""

    def __init__(self, clock: Clock, lifetime_s: int) -> None:
        self.clock = clock
        self.lifetime_s = lifetime_s

    async def refresh(self, old: TokenSet) -> TokenSet:
        now = self.clock.now
        exp = int(now.timestamp()) + self.lifetime_s
        return TokenSet(
            jwt_with_exp(exp),
            old.refresh_token,
            now + timedelta(seconds=self.lifetime_s),
        )


def test_a_slightly_earlier_exp_claim_wins() -> None:
    expires_at = START + timedelta(seconds=20)
    exp = int(expires_at.timestamp())

    trusted = with_trusted_expiry(tokens(expires_at, exp))

    assert trusted.expires_at == datetime.fromtimestamp(exp, UTC)
    assert trusted.expires_at < expires_at


def test_exp_is_ignored_when_later_far_off_or_missing() -> None:
    expires_at = START + timedelta(seconds=20)
    later = tokens(expires_at, expires_at.timestamp() + 5)
    # A gap of minutes means the clocks disagree; expires_in is safer.
    skewed = tokens(expires_at, expires_at.timestamp() - 300)
    opaque = tokens(expires_at, None)

    for unchanged in (later, skewed, opaque):
        assert with_trusted_expiry(unchanged) == unchanged


def test_a_loaded_token_is_not_served_after_its_exp_claim() -> None:
    async def scenario() -> None:
        clock = Clock()
        expires_at = START + timedelta(seconds=20)
        exp = int(expires_at.timestamp())
        store = Store(tokens(expires_at, exp))
        session = Session(Refresher(clock, 20), store, refresh_margin_s=0, clock=clock)
        await session.start()
        assert session.snapshot.state is SessionState.VALID

        # Past exp, before the expiry that expires_in alone would give.
        clock.now = datetime.fromtimestamp(exp, UTC) + timedelta(milliseconds=100)
        assert clock.now < expires_at
        assert session.snapshot.token_if_valid(clock.now) is None
        await session.stop()

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_a_refreshed_token_is_not_served_after_its_exp_claim() -> None:
    async def scenario() -> None:
        clock = Clock()
        store = Store(tokens(START + timedelta(seconds=20), None))
        session = Session(Refresher(clock, 20), store, refresh_margin_s=0, clock=clock)
        await session.start()
        await session.refresh_now()
        refreshed = session.snapshot
        assert refreshed.state is SessionState.VALID
        assert refreshed.access_token is not None

        exp = int(START.timestamp()) + 20
        clock.now = datetime.fromtimestamp(exp, UTC) + timedelta(milliseconds=100)
        assert refreshed.token_if_valid(clock.now) is None
        # What the keyring holds carries the same, trusted expiry.
        assert store.tokens is not None
        assert store.tokens.expires_at == datetime.fromtimestamp(exp, UTC)
        await session.stop()

    asyncio.run(asyncio.wait_for(scenario(), 10))
