"""Tests for Session.revoke: the refresh token goes to the client's revoke
before anything is forgotten, and a failed revoke forgets nothing (an
injected client and an in-memory store stand in for TradeStation and the
keyring)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tstray.oauth.errors import NetworkError
from tstray.oauth.tokens import TokenSet
from tstray.session.lifecycle import Session
from tstray.session.state import SessionState

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
REFRESH = "refresh-token-Rv77"


def tokens(refresh_token: str | None = REFRESH) -> TokenSet:
    return TokenSet(
        access_token="access-token-Ac11",
        refresh_token=refresh_token,
        expires_at=NOW + timedelta(minutes=20),
        signed_in_at=NOW,
    )


class RevokingClient:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.revoked: list[str] = []

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        raise AssertionError("no refresh expected")

    async def revoke(self, refresh_token: str) -> None:
        if self.error is not None:
            raise self.error
        self.revoked.append(refresh_token)


class MemoryStore:
    def __init__(self, stored: TokenSet | None) -> None:
        self.tokens = stored

    async def load_tokens(self) -> TokenSet | None:
        return self.tokens

    async def save_tokens(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    async def delete_tokens(self) -> None:
        self.tokens = None


async def loaded_session(client: RevokingClient, store: MemoryStore) -> Session:
    session = Session(client, store, refresh_margin_s=300, clock=lambda: NOW)
    await session.start()
    await session.stop()
    return session


def test_revoke_sends_the_refresh_token_then_signs_out() -> None:
    async def scenario() -> None:
        client, store = RevokingClient(), MemoryStore(tokens())
        session = await loaded_session(client, store)
        assert session.snapshot.state is SessionState.VALID

        assert await session.revoke() is True

        assert client.revoked == [REFRESH]
        assert store.tokens is None
        assert session.snapshot.state is SessionState.SIGNED_OUT

    asyncio.run(scenario())


def test_a_failed_revoke_forgets_nothing() -> None:
    async def scenario() -> None:
        client = RevokingClient(NetworkError("no answer from the sign-in service"))
        store = MemoryStore(tokens())
        session = await loaded_session(client, store)

        with pytest.raises(NetworkError):
            await session.revoke()

        assert store.tokens is not None
        assert session.snapshot.state is SessionState.VALID
        assert session.snapshot.access_token is not None

    asyncio.run(scenario())


def test_without_a_refresh_token_revoke_only_signs_out() -> None:
    async def scenario() -> None:
        client = RevokingClient()
        session = await loaded_session(client, MemoryStore(None))

        assert await session.revoke() is False
        assert client.revoked == []
        assert session.snapshot.state is SessionState.SIGNED_OUT

    asyncio.run(scenario())
