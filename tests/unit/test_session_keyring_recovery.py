"""The session when the keyring comes back after the user signed in: the
fresh sign-in must win over what the keyring held before, and a resume from
sleep (when the user has just unlocked their desktop, and with it often the
keyring) retries the keyring at once instead of at the next 30 s mark.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.test_session_lifecycle import (
    Clock,
    MemoryStore,
    ScriptedRefresher,
    make_session,
    run,
    tokens_at,
)
from tstray.session.state import SessionState
from tstray.storage.errors import KeyringUnavailableError


def test_a_sign_in_while_the_keyring_is_locked_is_not_undone_when_it_unlocks() -> None:
    async def scenario() -> None:
        clock = Clock()
        old = tokens_at(clock, serial=0, refresh_token="old-refresh")
        store = MemoryStore(old)
        store.fail_load = KeyringUnavailableError("the keyring is locked")
        store.fail_saves = 1
        session, _ = make_session(clock, ScriptedRefresher(clock), store)
        await session.start()
        assert session.snapshot.error_code == "keyring_unavailable"

        fresh = tokens_at(clock, serial=7, refresh_token="fresh-refresh")
        await session.signed_in(fresh)
        assert session.snapshot.token_if_valid(clock()) == fresh.access_token

        # The keyring unlocks; the retries run.
        store.fail_load = None
        clock.advance(31)
        session.wake()
        for _ in range(200):
            if store.tokens is not None and store.tokens.refresh_token != "old-refresh":
                break
            await asyncio.sleep(0.01)

        assert store.tokens is not None
        assert store.tokens.refresh_token == "fresh-refresh"
        assert session.snapshot.state is SessionState.VALID
        assert session.snapshot.token_if_valid(clock()) == fresh.access_token
        assert session.snapshot.error_code == ""
        await session.stop()

    run(scenario)


def test_waking_retries_a_failed_save_at_once() -> None:
    async def scenario() -> None:
        clock = Clock()
        store = MemoryStore()
        store.fail_saves = 1
        session, _ = make_session(clock, ScriptedRefresher(clock), store)
        await session.start()
        fresh = tokens_at(clock, serial=3)
        await session.signed_in(fresh)
        assert store.tokens is None and session.snapshot.error_code

        # No time passes: only the wake (resume, network back) triggers it.
        session.wake()
        for _ in range(200):
            if store.tokens is not None:
                break
            await asyncio.sleep(0.01)
        assert store.tokens == fresh
        await session.stop()

    run(scenario)


def test_quitting_saves_tokens_the_keyring_refused_earlier() -> None:
    # A rotated refresh token the keyring would not take lives only in
    # memory; a quit after the keyring came back must not lose it.
    async def scenario() -> None:
        clock = Clock()
        store = MemoryStore()
        store.fail_saves = 1
        session, _ = make_session(clock, ScriptedRefresher(clock), store)
        await session.start()
        fresh = tokens_at(clock, serial=5, refresh_token="rotated-refresh")
        await session.signed_in(fresh)
        assert store.tokens is None

        await session.stop()

        assert store.tokens == fresh

    run(scenario)


def test_quitting_says_so_when_the_keyring_still_refuses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        clock = Clock()
        store = MemoryStore()
        store.fail_saves = 2
        session, _ = make_session(clock, ScriptedRefresher(clock), store)
        await session.start()
        await session.signed_in(tokens_at(clock, serial=6))

        await session.stop()

        assert store.tokens is None

    run(scenario)
    assert "the next start may need a new sign-in" in caplog.text
