"""The session: holds the tokens, refreshes them before they expire, retries
what is worth retrying, and publishes a ``SessionSnapshot`` on every change.

It is a plain asyncio class: the clock, the token client and the token store
are passed in, so every transition can be tested without Qt or a network.
It never blocks the event loop, never logs a token, and never forgets a
refresh token because of a temporary failure. When a refresh brings a new
(rotated) refresh token, it is saved before the new access token is handed to
anyone, so a crash cannot lose it.

Timing survives sleep: expiry is an absolute wall-clock time, and the loop
naps in short slices, checking the wall clock each time, so a laptop that
resumes after the token's expiry refreshes within ``max_nap_s``, or at once
when the app calls ``wake()`` on resume or on a network change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random as random_module
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from tstray.oauth.errors import (
    FinalError,
    SignInRequiredError,
    TemporaryError,
)
from tstray.oauth.tokens import TokenSet, utc_now
from tstray.session.backoff import retry_delay_s
from tstray.session.collaborators import TokenRefresher, TokenRevoker, TokenStorage
from tstray.session.snapshots import retrying_snapshot, valid_snapshot
from tstray.session.state import SessionSnapshot, SessionState
from tstray.session.timing import lifetime_s, refresh_due_at, with_trusted_expiry
from tstray.storage.errors import KeyringUnavailableError

log = logging.getLogger(__name__)

SessionListener = Callable[[SessionSnapshot], None]

# Refreshes asked for by clients (min_ttl) come at most this often.
MIN_ON_DEMAND_INTERVAL_S = 5.0
# How often to retry the keyring when it was locked or unreachable.
STORE_RETRY_S = 30.0


class Session:
    """One signed-in (or signed-out) TradeStation session.

    Args:
        client: refreshes tokens at the sign-in service.
        store: keeps tokens in the keyring.
        refresh_margin_s: refresh this long before the access token expires.
        clock: the wall clock (UTC).
        random: jitter source in [0, 1).
        max_nap_s: the longest the loop sleeps before looking at the wall
            clock again; bounds how late a refresh can be after a resume.
        remember_secret: told every token the session holds, so the log
            redactor can mask it wherever it might appear.
    """

    def __init__(
        self,
        client: TokenRefresher,
        store: TokenStorage,
        *,
        refresh_margin_s: float,
        clock: Callable[[], datetime] = utc_now,
        random: Callable[[], float] = random_module.random,
        max_nap_s: float = 30.0,
        remember_secret: Callable[[str | None], None] = lambda _secret: None,
    ) -> None:
        self._client = client
        self._store = store
        self._margin_s = refresh_margin_s
        self._clock = clock
        self._random = random
        self._max_nap_s = max_nap_s
        self._remember_secret = remember_secret

        self._tokens: TokenSet | None = None
        self._snapshot = SessionSnapshot()
        self._listeners: list[SessionListener] = []

        self._failures = 0
        self._not_before: datetime | None = None
        self._loaded = False
        self._unsaved = False
        self._store_retry_at: datetime | None = None
        # Bumped on every sign-in and sign-out, so that a refresh that was
        # under way when the user signed out cannot bring the old session back.
        self._generation = 0

        self._inflight: asyncio.Future[SessionSnapshot] | None = None
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    # -- reading -----------------------------------------------------------

    @property
    def snapshot(self) -> SessionSnapshot:
        """The current session; safe to read from any thread."""
        return self._snapshot

    def add_listener(self, listener: SessionListener) -> None:
        """Calls ``listener`` on the event loop with every new snapshot."""
        self._listeners.append(listener)

    def use_client(self, client: TokenRefresher) -> None:
        """Refreshes with ``client`` from now on (new API key or secret)."""
        self._client = client

    # -- life of the loop --------------------------------------------------

    async def start(self) -> None:
        """Loads stored tokens and starts the refresh loop."""
        await self._load()
        self._runner = asyncio.ensure_future(self._run())

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stops the loop. A refresh under way may finish (up to ``grace_s``)
        so that a rotated refresh token it brings is saved, not lost."""
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        if self._inflight is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                try:
                    await asyncio.wait_for(asyncio.shield(self._inflight), grace_s)
                except TimeoutError:
                    log.warning(
                        "abandoned a refresh still waiting for an answer after"
                        " %.0f s; the stored tokens are those from before it",
                        grace_s,
                    )
        await self._save_before_stopping(grace_s)

    async def _save_before_stopping(self, grace_s: float) -> None:
        # Tokens the keyring refused earlier (a rotated refresh token, say)
        # live only in memory: one last try, or the next start has to ask
        # for a sign-in.
        if not self._unsaved or self._tokens is None:
            return
        with contextlib.suppress(Exception, asyncio.CancelledError):
            try:
                if await asyncio.wait_for(self._save(self._tokens), grace_s):
                    return
            except TimeoutError:
                pass
        log.warning(
            "quitting with tokens the keyring would not take; the next start may"
            " need a new sign-in"
        )

    def wake(self) -> None:
        """Re-checks the schedule now: call after a resume from sleep or when
        the network comes back. A network-caused backoff is cut short, and
        a keyring that failed is tried again now (a resume usually follows
        the user unlocking the desktop, and with it the keyring)."""
        if self._snapshot.state is SessionState.OFFLINE:
            self._not_before = None
        self._store_retry_at = None
        self._wake.set()

    # -- user actions ------------------------------------------------------

    async def signed_in(self, tokens: TokenSet) -> None:
        """Takes the tokens of a fresh sign-in, saves them and serves them."""
        self._generation += 1
        tokens = with_trusted_expiry(tokens)
        self._tokens = tokens
        self._failures = 0
        self._not_before = None
        # A fresh sign-in supersedes whatever the keyring holds: a load still
        # waiting to be retried must not bring the older session back.
        self._loaded = True
        await self._save(tokens)
        log.info(
            "signed in as %s; token expires in %.0f s",
            tokens.account or "(unknown account)",
            tokens.seconds_left(self._clock()),
        )
        self._publish_valid(tokens)
        self._wake.set()

    async def sign_out(self) -> None:
        """Forgets the tokens here and in the keyring (they stay valid at
        TradeStation until they expire or are revoked)."""
        self._generation += 1
        self._tokens = None
        self._unsaved = False
        self._failures = 0
        self._not_before = None
        try:
            await self._store.delete_tokens()
        except Exception as exc:
            log.warning("could not delete tokens from the keyring: %s", exc)
        log.info("signed out")
        self._publish(SessionSnapshot(state=SessionState.SIGNED_OUT))
        self._wake.set()

    async def revoke(self) -> bool:
        """Revokes the refresh token at the sign-in service, which revokes
        every refresh token of the API key, then signs out. Returns whether a
        token was revoked (False: there was none; only signed out).

        Raises:
            TokenEndpointError: the service did not confirm the revoke; the
                session is left as it was, so nothing looks revoked that is not.
        """
        refresh_token = self._tokens.refresh_token if self._tokens else None
        revoked = False
        if refresh_token is not None and isinstance(self._client, TokenRevoker):
            await self._client.revoke(refresh_token)
            log.info("refresh token revoked at the sign-in service")
            revoked = True
        await self.sign_out()
        return revoked

    async def ensure_fresh(self, min_ttl_s: float = 0.0) -> SessionSnapshot:
        """Returns a snapshot whose token lives at least ``min_ttl_s`` more
        seconds if one can be had, refreshing first when needed.

        However many callers ask at once, one refresh request goes out and
        all of them get its result. During a backoff window no request is
        made: the caller gets the current snapshot.
        """
        now = self._clock()
        if self._snapshot.token_if_valid(now, min_ttl_s) is not None:
            return self._snapshot
        if not self._can_refresh(now):
            return self._snapshot
        if self._snapshot.token_if_valid(now) is not None and not self._refresh_helps(
            min_ttl_s, now
        ):
            # A valid token that no refresh could make long enough: asking the
            # sign-in service again would only flood it.
            return self._snapshot
        return await self._refresh_single_flight()

    def _refresh_helps(self, min_ttl_s: float, now: datetime) -> bool:
        """Whether a new token could live ``min_ttl_s`` more seconds."""
        last = self._snapshot.last_refresh_at
        if last is not None and (now - last).total_seconds() < MIN_ON_DEMAND_INTERVAL_S:
            return False
        if self._tokens is None:
            return False
        whole_life_s = lifetime_s(self._tokens)
        return whole_life_s is None or min_ttl_s < whole_life_s

    async def refresh_now(self) -> SessionSnapshot:
        """Refreshes at once, whatever the schedule says (menu, tests)."""
        if self._tokens is None:
            return self._snapshot
        self._not_before = None
        return await self._refresh_single_flight()

    # -- the loop ----------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock()
            due = self._next_due(now)

            if due is None:
                await self._wake.wait()
                continue

            wait_s = (due - now).total_seconds()
            if wait_s > 0:
                await self._nap(min(wait_s, self._max_nap_s))
                continue

            try:
                await self._do_due_work(now)
            except Exception:
                # The loop must outlive any bug in one step; the next step
                # starts from a clean schedule.
                log.exception("unexpected error in the refresh loop")
                await self._nap(self._max_nap_s)

    async def _nap(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _next_due(self, now: datetime) -> datetime | None:
        """The wall-clock time of the next piece of work, or None to sleep
        until something changes."""
        candidates: list[datetime] = []
        if not self._loaded or self._unsaved:
            candidates.append(self._store_retry_at or now)
        if self._tokens is not None and self._snapshot.state not in (
            SessionState.SIGN_IN_NEEDED,
            SessionState.SIGNED_OUT,
        ):
            if self._failures:
                # Recovering from a failure: the retry time rules.
                candidates.append(self._not_before or now)
            else:
                candidates.append(refresh_due_at(self._tokens, self._margin_s))
        return min(candidates) if candidates else None

    async def _do_due_work(self, now: datetime) -> None:
        if not self._loaded and (self._store_retry_at or now) <= now:
            await self._load()
            return
        if self._unsaved and self._tokens and (self._store_retry_at or now) <= now:
            await self._save(self._tokens)
            return
        if self._can_refresh(now):
            await self._refresh_single_flight()

    def _can_refresh(self, now: datetime) -> bool:
        if self._tokens is None:
            return False
        if self._snapshot.state in (
            SessionState.SIGN_IN_NEEDED,
            SessionState.SIGNED_OUT,
        ):
            return False
        return self._not_before is None or now >= self._not_before

    # -- loading and saving ------------------------------------------------

    async def _load(self) -> None:
        try:
            tokens = await self._store.load_tokens()
        except Exception as exc:
            # A locked or missing keyring may come back; corrupt data will
            # not, but it must not be overwritten until the user signs in.
            retry = isinstance(exc, KeyringUnavailableError)
            self._loaded = not retry
            self._store_retry_at = self._clock() + timedelta(seconds=STORE_RETRY_S)
            log.warning("could not load tokens from the keyring: %s", exc)
            self._publish(
                replace(
                    self._snapshot,
                    last_error=str(exc),
                    error_code="keyring_unavailable"
                    if retry
                    else "stored_data_unreadable",
                )
            )
            return

        self._loaded = True
        self._store_retry_at = None
        if tokens is None:
            log.info("no stored session; sign-in needed")
            self._publish(SessionSnapshot(state=SessionState.SIGNED_OUT))
            return

        tokens = with_trusted_expiry(tokens)
        self._tokens = tokens
        now = self._clock()
        log.info(
            "loaded stored session for %s; token %s",
            tokens.account or "(unknown account)",
            f"expires in {tokens.seconds_left(now):.0f} s"
            if tokens.is_valid(now)
            else "has expired",
        )
        self._publish_valid(tokens, refreshed=False)

    async def _save(self, tokens: TokenSet) -> bool:
        try:
            await self._store.save_tokens(tokens)
        except Exception as exc:
            self._unsaved = True
            self._store_retry_at = self._clock() + timedelta(seconds=STORE_RETRY_S)
            log.warning(
                "could not save tokens to the keyring (kept in memory, retry in %.0f s):"
                " %s",
                STORE_RETRY_S,
                exc,
            )
            self._publish(
                replace(
                    self._snapshot,
                    last_error=str(exc),
                    error_code="keyring_unavailable",
                )
            )
            return False
        if self._unsaved:
            log.info("tokens saved to the keyring after an earlier failure")
            if self._snapshot.error_code == "keyring_unavailable":
                self._publish(replace(self._snapshot, last_error="", error_code=""))
        self._unsaved = False
        self._store_retry_at = None
        return True

    # -- refreshing --------------------------------------------------------

    async def _refresh_single_flight(self) -> SessionSnapshot:
        if self._inflight is None:
            self._inflight = asyncio.ensure_future(self._refresh_once())
            self._inflight.add_done_callback(self._on_refresh_done)
        # shield: a caller that gives up (an HTTP client hanging up) must not
        # cancel the refresh everyone else is waiting for.
        return await asyncio.shield(self._inflight)

    def _on_refresh_done(self, _future: asyncio.Future[SessionSnapshot]) -> None:
        self._inflight = None

    async def _refresh_once(self) -> SessionSnapshot:
        tokens = self._tokens
        if tokens is None:
            return self._snapshot
        generation = self._generation
        started = self._clock()
        self._publish(replace(self._snapshot, state=SessionState.REFRESHING))

        try:
            new_tokens = await self._client.refresh(tokens)
        except TemporaryError as exc:
            if generation == self._generation:
                self._on_temporary_failure(exc)
            return self._snapshot
        except FinalError as exc:
            if generation == self._generation:
                await self._on_final_failure(exc)
            return self._snapshot

        if generation != self._generation:
            log.info("dropped a refresh that finished after sign-out or a new sign-in")
            return self._snapshot

        # The new refresh token (if rotated) goes to the keyring before the
        # new access token is handed to anyone.
        new_tokens = with_trusted_expiry(new_tokens)
        self._tokens = new_tokens
        await self._save(new_tokens)
        elapsed_ms = (self._clock() - started).total_seconds() * 1000
        log.info(
            "token refreshed in %.0f ms; expires in %.0f s%s",
            elapsed_ms,
            new_tokens.seconds_left(self._clock()),
            "; refresh token rotated"
            if new_tokens.refresh_token != tokens.refresh_token
            else "",
        )
        if self._failures:
            log.info("refresh recovered after %d failed attempts", self._failures)
        self._failures = 0
        self._not_before = None
        self._publish_valid(new_tokens)
        return self._snapshot

    def _on_temporary_failure(self, exc: TemporaryError) -> None:
        now = self._clock()
        tokens = self._tokens
        expired = tokens is None or not tokens.is_valid(now)
        self._failures += 1
        delay_s = retry_delay_s(
            self._failures,
            retry_after_s=exc.retry_after_s,
            token_expired=expired,
            random=self._random,
        )
        self._not_before = now + timedelta(seconds=delay_s)

        log.warning(
            "refresh failed (attempt %d): %s; retry in %.0f s; token %s",
            self._failures,
            exc.reason,
            delay_s,
            "has expired"
            if expired
            else f"still valid for {tokens.seconds_left(now):.0f} s"
            if tokens
            else "missing",
        )
        self._publish(
            retrying_snapshot(
                self._snapshot, exc, token_expired=expired, retry_at=self._not_before
            )
        )

    async def _on_final_failure(self, exc: FinalError) -> None:
        log.error("refresh refused: %s; sign-in needed", exc.reason)
        if isinstance(exc, SignInRequiredError) and self._tokens is not None:
            # The refresh token is dead at TradeStation; keep the access token
            # in memory (it works until it expires) but drop the refresh token.
            self._tokens = replace(self._tokens, refresh_token=None)
            try:
                await self._store.delete_tokens()
            except Exception as store_exc:
                log.warning("could not delete refused tokens: %s", store_exc)
        self._publish(
            replace(
                self._snapshot,
                state=SessionState.SIGN_IN_NEEDED,
                next_refresh_at=None,
                last_error=exc.reason,
                error_code=exc.error_code or type(exc).__name__,
            )
        )

    # -- publishing --------------------------------------------------------

    def _publish_valid(self, tokens: TokenSet, *, refreshed: bool = True) -> None:
        self._remember_secret(tokens.access_token)
        self._remember_secret(tokens.refresh_token)
        self._publish(
            valid_snapshot(
                tokens,
                now=self._clock(),
                margin_s=self._margin_s,
                previous=self._snapshot,
                refreshed=refreshed,
                keep_error=self._unsaved,
            )
        )

    def _publish(self, snapshot: SessionSnapshot) -> None:
        previous = self._snapshot
        self._snapshot = snapshot
        if previous.state is not snapshot.state:
            log.info(
                "session state: %s -> %s", previous.state.value, snapshot.state.value
            )
        for listener in list(self._listeners):
            try:
                listener(snapshot)
            except Exception:
                log.exception("a session listener failed")
