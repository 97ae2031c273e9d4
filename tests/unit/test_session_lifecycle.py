"""The session's state machine, driven by an injected clock, a scripted token
refresher and an in-memory store (faults injected on purpose)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tstray.oauth.errors import (
    ClientRejectedError,
    MalformedResponseError,
    NetworkError,
    ServerBusyError,
    SignInRequiredError,
)
from tstray.oauth.tokens import TokenSet
from tstray.session.lifecycle import Session, refresh_due_at
from tstray.session.state import Health, SessionSnapshot, SessionState
from tstray.storage.errors import KeyringUnavailableError

START = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def jwt(issued_at: datetime, lifetime_s: int, serial: int) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    iat = int(issued_at.timestamp())
    return f"{part({'alg': 'none'})}.{part({'iat': iat, 'exp': iat + lifetime_s, 'n': serial})}.sig"


def tokens_at(
    clock: Clock, lifetime_s: int = 1200, serial: int = 0, **changes: Any
) -> TokenSet:
    base = TokenSet(
        access_token=jwt(clock.now, lifetime_s, serial),
        refresh_token="refresh-0",
        expires_at=clock.now + timedelta(seconds=lifetime_s),
        scope="openid MarketData",
        account="Demo Trader",
        signed_in_at=clock.now,
    )
    return replace(base, **changes)


class ScriptedRefresher:
    """Answers each refresh with the next scripted outcome (a TokenSet
    factory or an exception)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.outcomes: list[Callable[[TokenSet], TokenSet] | Exception] = []
        self.calls: list[TokenSet] = []
        self.gate: asyncio.Event | None = None

    def succeed(self, lifetime_s: int = 1200, rotate: bool = False) -> None:
        def make(old: TokenSet) -> TokenSet:
            serial = len(self.calls)
            return replace(
                old,
                access_token=jwt(self.clock.now, lifetime_s, serial),
                refresh_token=f"refresh-{serial}" if rotate else old.refresh_token,
                expires_at=self.clock.now + timedelta(seconds=lifetime_s),
                refresh_token_rotates=old.refresh_token_rotates or rotate,
            )

        self.outcomes.append(make)

    def fail(self, error: Exception) -> None:
        self.outcomes.append(error)

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        self.calls.append(tokens)
        if self.gate is not None:
            await self.gate.wait()
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome(tokens)


class MemoryStore:
    def __init__(self, tokens: TokenSet | None = None) -> None:
        self.tokens = tokens
        self.saves: list[TokenSet] = []
        self.deletes = 0
        self.fail_saves = 0
        self.fail_load: Exception | None = None

    async def load_tokens(self) -> TokenSet | None:
        if self.fail_load is not None:
            raise self.fail_load
        return self.tokens

    async def save_tokens(self, tokens: TokenSet) -> None:
        if self.fail_saves:
            self.fail_saves -= 1
            raise KeyringLockedError("the keyring is locked")
        self.tokens = tokens
        self.saves.append(tokens)

    async def delete_tokens(self) -> None:
        self.deletes += 1
        self.tokens = None


class KeyringLockedError(Exception):
    pass


def run(coroutine_factory: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(coroutine_factory(), 10))


async def wait_for_state(session: Session, *states: SessionState) -> SessionSnapshot:
    for _ in range(500):
        if session.snapshot.state in states:
            return session.snapshot
        await asyncio.sleep(0.01)
    raise AssertionError(f"state stayed {session.snapshot.state}, wanted {states}")


def make_session(
    clock: Clock,
    refresher: ScriptedRefresher,
    store: MemoryStore,
    margin_s: float = 300,
) -> tuple[Session, list[SessionSnapshot]]:
    session = Session(
        refresher,
        store,
        refresh_margin_s=margin_s,
        clock=clock,
        random=lambda: 0.5,
        max_nap_s=0.05,
    )
    published: list[SessionSnapshot] = []
    session.add_listener(published.append)
    return session, published


def test_start_without_stored_tokens_is_signed_out() -> None:
    async def scenario() -> None:
        clock = Clock()
        session, _ = make_session(clock, ScriptedRefresher(clock), MemoryStore())
        await session.start()
        assert session.snapshot.state is SessionState.SIGNED_OUT
        assert session.snapshot.health is Health.SIGNED_OUT
        await session.stop()

    run(scenario)


def test_stored_tokens_are_served_after_restart_without_sign_in() -> None:
    async def scenario() -> None:
        clock = Clock()
        stored = tokens_at(clock)
        session, _ = make_session(clock, ScriptedRefresher(clock), MemoryStore(stored))
        await session.start()
        assert session.snapshot.state is SessionState.VALID
        assert session.snapshot.token_if_valid(clock()) == stored.access_token
        assert session.snapshot.account == "Demo Trader"
        await session.stop()

    run(scenario)


def test_refresh_happens_margin_before_expiry_and_keeps_old_refresh_token() -> None:
    async def scenario() -> None:
        clock = Clock()
        store = MemoryStore(tokens_at(clock))
        refresher = ScriptedRefresher(clock)
        refresher.succeed()
        session, _ = make_session(clock, refresher, store)
        await session.start()

        clock.advance(1200 - 301)
        await asyncio.sleep(0.15)
        assert refresher.calls == []

        clock.advance(2)
        session.wake()
        await wait_for_state(session, SessionState.VALID)
        for _ in range(100):
            if refresher.calls:
                break
            await asyncio.sleep(0.01)
        await wait_for_state(session, SessionState.VALID)
        assert len(refresher.calls) == 1
        assert store.tokens is not None and store.tokens.refresh_token == "refresh-0"
        assert session.snapshot.seconds_left(clock()) == pytest.approx(1200)
        await session.stop()

    run(scenario)


def test_short_lived_token_refreshes_at_half_life_not_continuously() -> None:
    clock = Clock()
    tokens = tokens_at(clock, lifetime_s=120)
    assert refresh_due_at(tokens, 300) == clock.now + timedelta(seconds=60)
    assert refresh_due_at(tokens_at(clock), 300) == clock.now + timedelta(seconds=900)


def test_rotated_refresh_token_is_saved_before_the_new_access_token_is_served() -> None:
    async def scenario() -> None:
        clock = Clock()
        store = MemoryStore(tokens_at(clock))
        refresher = ScriptedRefresher(clock)
        refresher.succeed(rotate=True)
        session, _ = make_session(clock, refresher, store)
        await session.start()

        saved_when_published: list[str | None] = []
        session.add_listener(
            lambda snap: saved_when_published.append(
                store.tokens.access_token if store.tokens else None
            )
        )
        await session.refresh_now()

        assert store.tokens is not None and store.tokens.refresh_token == "refresh-1"
        assert session.snapshot.state is SessionState.VALID
        # The last publish (the new token) happened after the store held it.
        assert saved_when_published[-1] == session.snapshot.access_token
        await session.stop()

    run(scenario)


@pytest.mark.parametrize(
    ("error", "state", "code"),
    [
        (NetworkError("could not connect"), SessionState.OFFLINE, "network"),
        (
            ServerBusyError("503", retry_after_s=None),
            SessionState.RETRYING,
            "server_error",
        ),
        (MalformedResponseError("garbage"), SessionState.RETRYING, "server_error"),
    ],
)
def test_temporary_failure_keeps_serving_and_retries(
    error: Exception, state: SessionState, code: str
) -> None:
    async def scenario() -> None:
        clock = Clock()
        stored = tokens_at(clock)
        store = MemoryStore(stored)
        refresher = ScriptedRefresher(clock)
        refresher.fail(error)
        refresher.succeed()
        session, _ = make_session(clock, refresher, store)
        await session.start()

        await session.refresh_now()
        snapshot = session.snapshot
        assert snapshot.state is state
        assert snapshot.health is Health.DEGRADED
        assert snapshot.error_code == code
        assert snapshot.token_if_valid(clock()) == stored.access_token
        assert store.deletes == 0 and store.tokens is not None

        # Backoff: first retry after 2 s * (0.5 + 0.5 * 0.5) = 1.5 s.
        assert snapshot.next_refresh_at == clock.now + timedelta(seconds=1.5)
        clock.advance(1.6)
        session.wake()
        await wait_for_state(session, SessionState.VALID)
        assert len(refresher.calls) == 2
        assert session.snapshot.last_error == ""
        await session.stop()

    run(scenario)


def test_retry_after_is_honoured() -> None:
    async def scenario() -> None:
        clock = Clock()
        refresher = ScriptedRefresher(clock)
        refresher.fail(ServerBusyError("429", retry_after_s=42))
        session, _ = make_session(clock, refresher, MemoryStore(tokens_at(clock)))
        await session.start()
        await session.refresh_now()
        assert session.snapshot.next_refresh_at == clock.now + timedelta(seconds=42)
        # A client asking during the backoff window sends nothing upstream.
        clock.advance(30)
        await session.ensure_fresh(min_ttl_s=1200)
        assert len(refresher.calls) == 1
        await session.stop()

    run(scenario)


def test_failure_after_expiry_is_expired_retrying_and_never_serves_the_old_token() -> (
    None
):
    async def scenario() -> None:
        clock = Clock()
        refresher = ScriptedRefresher(clock)
        refresher.fail(NetworkError("offline"))
        session, _ = make_session(clock, refresher, MemoryStore(tokens_at(clock)))
        await session.start()
        clock.advance(1300)
        snapshot = await session.ensure_fresh()
        assert snapshot.state is SessionState.EXPIRED_RETRYING
        assert snapshot.health is Health.DEGRADED
        assert snapshot.token_if_valid(clock()) is None
        await session.stop()

    run(scenario)


def test_invalid_grant_needs_sign_in_once_and_stops_retrying() -> None:
    async def scenario() -> None:
        clock = Clock()
        store = MemoryStore(tokens_at(clock))
        refresher = ScriptedRefresher(clock)
        refresher.fail(SignInRequiredError("refresh token revoked", "invalid_grant"))
        session, published = make_session(clock, refresher, store)
        await session.start()
        await session.refresh_now()

        assert session.snapshot.state is SessionState.SIGN_IN_NEEDED
        assert session.snapshot.health is Health.NEEDS_USER
        assert session.snapshot.error_code == "invalid_grant"
        assert store.tokens is None  # refused by TradeStation, so forgotten
        clock.advance(3600)
        session.wake()
        await asyncio.sleep(0.2)
        assert len(refresher.calls) == 1
        assert [s.state for s in published].count(SessionState.SIGN_IN_NEEDED) == 1
        await session.stop()

    run(scenario)


def test_client_rejected_keeps_the_refresh_token() -> None:
    async def scenario() -> None:
        clock = Clock()
        store = MemoryStore(tokens_at(clock))
        refresher = ScriptedRefresher(clock)
        refresher.fail(
            ClientRejectedError("check the API key and secret", "invalid_client")
        )
        session, _ = make_session(clock, refresher, store)
        await session.start()
        await session.refresh_now()
        assert session.snapshot.state is SessionState.SIGN_IN_NEEDED
        assert session.snapshot.error_code == "invalid_client"
        assert store.tokens is not None and store.tokens.refresh_token == "refresh-0"
        await session.stop()

    run(scenario)


def test_many_callers_share_one_refresh() -> None:
    async def scenario() -> None:
        clock = Clock()
        refresher = ScriptedRefresher(clock)
        refresher.gate = asyncio.Event()
        refresher.succeed()
        session, _ = make_session(clock, refresher, MemoryStore(tokens_at(clock)))
        await session.start()
        clock.advance(1190)

        callers = [asyncio.ensure_future(session.ensure_fresh(60)) for _ in range(50)]
        await asyncio.sleep(0.05)
        refresher.gate.set()
        results = await asyncio.gather(*callers)

        assert len(refresher.calls) == 1
        assert {r.access_token for r in results} == {session.snapshot.access_token}
        assert results[0].seconds_left(clock()) == pytest.approx(1200)
        await session.stop()

    run(scenario)


def test_sign_out_during_refresh_does_not_bring_the_session_back() -> None:
    async def scenario() -> None:
        clock = Clock()
        store = MemoryStore(tokens_at(clock))
        refresher = ScriptedRefresher(clock)
        refresher.gate = asyncio.Event()
        refresher.succeed(rotate=True)
        session, _ = make_session(clock, refresher, store)
        await session.start()

        refreshing = asyncio.ensure_future(session.refresh_now())
        await asyncio.sleep(0.02)
        await session.sign_out()
        refresher.gate.set()
        await refreshing

        assert session.snapshot.state is SessionState.SIGNED_OUT
        assert store.tokens is None
        await session.stop()

    run(scenario)


def test_keyring_save_failure_keeps_the_new_token_in_memory_and_retries() -> None:
    async def scenario() -> None:
        clock = Clock()
        store = MemoryStore(tokens_at(clock))
        store.fail_saves = 1
        refresher = ScriptedRefresher(clock)
        refresher.succeed(rotate=True)
        session, _ = make_session(clock, refresher, store)
        await session.start()
        await session.refresh_now()

        assert session.snapshot.state is SessionState.VALID
        assert session.snapshot.error_code == "keyring_unavailable"
        assert store.tokens is not None and store.tokens.refresh_token == "refresh-0"

        clock.advance(31)
        session.wake()
        for _ in range(200):
            if store.tokens and store.tokens.refresh_token == "refresh-1":
                break
            await asyncio.sleep(0.01)
        assert store.tokens is not None and store.tokens.refresh_token == "refresh-1"
        await session.stop()

    run(scenario)


def test_locked_keyring_at_start_is_retried_then_loads() -> None:
    async def scenario() -> None:
        clock = Clock()
        stored = tokens_at(clock)
        store = MemoryStore(stored)
        store.fail_load = KeyringUnavailableError("the keyring is locked")
        session, _ = make_session(clock, ScriptedRefresher(clock), store)
        await session.start()
        assert session.snapshot.error_code == "keyring_unavailable"
        assert session.snapshot.token_if_valid(clock()) is None

        store.fail_load = None
        clock.advance(31)
        session.wake()
        snapshot = await wait_for_state(session, SessionState.VALID)
        assert snapshot.token_if_valid(clock()) == stored.access_token
        await session.stop()

    run(scenario)


def test_resume_after_sleep_past_expiry_refreshes_at_once() -> None:
    async def scenario() -> None:
        clock = Clock()
        refresher = ScriptedRefresher(clock)
        refresher.succeed()
        session, _ = make_session(clock, refresher, MemoryStore(tokens_at(clock)))
        await session.start()

        # The laptop sleeps for an hour: the wall clock jumps; no wake() call,
        # the loop's short naps notice on their own.
        clock.advance(3600)
        assert session.snapshot.token_if_valid(clock()) is None
        await wait_for_state(session, SessionState.VALID)
        for _ in range(200):
            if session.snapshot.token_if_valid(clock()):
                break
            await asyncio.sleep(0.01)
        assert session.snapshot.token_if_valid(clock()) is not None
        assert len(refresher.calls) == 1
        await session.stop()

    run(scenario)


def test_rotating_keys_get_a_sign_in_deadline() -> None:
    async def scenario() -> None:
        clock = Clock()
        refresher = ScriptedRefresher(clock)
        refresher.succeed(rotate=True)
        session, _ = make_session(clock, refresher, MemoryStore(tokens_at(clock)))
        await session.start()
        assert session.snapshot.sign_in_deadline is None
        await session.refresh_now()
        assert session.snapshot.sign_in_deadline == START + timedelta(hours=24)
        await session.stop()

    run(scenario)
