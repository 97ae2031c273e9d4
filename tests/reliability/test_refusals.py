"""Refusals of the sign-in service, against the real app process: a refused
refresh token (``invalid_grant``), a refused API key (``invalid_client``),
and rotating refresh tokens with reuse detection.

A refusal must turn the app red exactly once, with one notice and no retry
loop; rotated refresh tokens must be saved before use and never sent twice,
and a stale one (the lost-reply window after a crash) must end in one clear
sign-in notice. Each test starts its own app, one at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import AppFactory, need_desktop
from tests.reliability.support import (
    AppProcess,
    DemoProcess,
    TokenPoller,
    delete_tokens,
    demo_refresh_generation,
    log_tail,
    seed_tokens,
    stored_tokens,
    wait_until,
)

pytestmark = pytest.mark.e2e

AMBER = {"retrying", "offline", "expired_retrying"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    """A non-rotating demo service with short tokens: after a refusal the
    tests wait for the token to run out."""
    need_desktop()
    service = DemoProcess(tmp_path_factory.mktemp("demo"), access_lifetime_s=3)
    service.start()
    yield service
    service.stop()


def _visited(app: AppProcess, log_text: str) -> list[str]:
    return [new for _old, new in app.transitions(log_text)]


@pytest.mark.parametrize(
    ("fault", "error_code"),
    [("invalid_grant", "invalid_grant"), ("invalid_client", "invalid_client")],
)
def test_a_refusal_turns_red_once_with_one_notice_and_no_retry(
    signed_in_app: AppFactory, demo: DemoProcess, fault: str, error_code: str
) -> None:
    app = signed_in_app(demo)
    app.wait_for_state("valid")

    with TokenPoller(app) as poller:
        demo.inject(fault, 1)
        # The next scheduled refresh, at half the token's life, meets it.
        red = app.wait_for_state("sign_in_needed", timeout_s=10)
        requests_after_red = demo.stats()["token_requests"]
        # Until the token expires, the app must keep it and make no request.
        wait_until(lambda: poller.snapshot().refused > 0, 20, "the token to run out")

    assert red["health"] == "red" and red["error_code"] == error_code
    assert red["last_error"]
    assert demo.stats()["token_requests"] == requests_after_red
    visited = _visited(app, app.log_text())
    assert visited.count("sign_in_needed") == 1, visited
    assert not AMBER & set(visited), visited
    assert app.notices() == ["sign_in_needed"], log_tail(app)
    seen = poller.snapshot()
    assert seen.expired_served == 0 and seen.late_expires_at == 0, seen
    if fault == "invalid_grant":
        # A refused refresh token is forgotten; a refused key is not the
        # token's fault, so the sign-in is kept for after the fix.
        assert stored_tokens() is None
    else:
        assert stored_tokens() is not None


def test_rotated_refresh_tokens_are_saved_and_never_sent_twice(
    signed_in_app: AppFactory, rotating_demo: DemoProcess
) -> None:
    base = rotating_demo.stats()["refreshes_ok"]
    app = signed_in_app(rotating_demo)
    _wait_for_refreshes(rotating_demo, base + 2)

    # SIGTERM while a refresh is under way: the app lets it finish and saves
    # the rotated refresh token it brings before it exits.
    mark = len(app.log_text())
    rotating_demo.inject("delay", 1, delay_s=2)
    wait_until(lambda: "valid -> refreshing" in app.log_text()[mark:], 10, "a refresh")
    assert app.stop() == 0
    newest = rotating_demo.stats()["refreshes_ok"] - base
    stored = stored_tokens()
    assert newest >= 3
    assert stored is not None
    chain_and_generation = demo_refresh_generation(stored.refresh_token)
    assert chain_and_generation is not None
    assert chain_and_generation[1] == newest

    # A restart refreshes with the newest refresh token: an older one would
    # be caught as reuse and end the chain.
    app.start()
    _wait_for_refreshes(rotating_demo, base + newest + 1)
    status = app.wait_for_state("valid")
    assert status["sign_in_deadline"]
    assert rotating_demo.stats()["reuse_detected"] == 0
    assert app.notices() == []


def _wait_for_refreshes(demo: DemoProcess, total: int) -> None:
    wait_until(lambda: demo.stats()["refreshes_ok"] >= total, 20, f"{total} refreshes")


def test_a_reused_rotated_refresh_token_ends_in_one_sign_in_notice(
    tmp_path: Path, rotating_demo: DemoProcess
) -> None:
    # The keyring holds a refresh token the service has already rotated, as
    # after a crash in the lost-reply window.
    delete_tokens()
    tokens = rotating_demo.sign_in()
    rotating_demo.refresh(tokens)
    seed_tokens(tokens)
    reuse_before = rotating_demo.stats()["reuse_detected"]
    app = AppProcess(tmp_path / "app", rotating_demo.url, refresh_margin_s=3)
    try:
        app.start()
        # The next scheduled refresh sends the stale refresh token.
        red = app.wait_for_state("sign_in_needed", timeout_s=10)
        requests_after_red = rotating_demo.stats()["token_requests"]
        wait_until(lambda: app.notices() != [], 10, "the sign-in notice")
    finally:
        app.kill()
        delete_tokens()

    assert red["error_code"] == "invalid_grant"
    assert rotating_demo.stats()["reuse_detected"] == reuse_before + 1
    assert rotating_demo.stats()["token_requests"] == requests_after_red
    assert app.notices() == ["sign_in_needed"]
    assert _visited(app, app.log_text()).count("sign_in_needed") == 1


def test_a_rotating_answer_without_expires_in_does_not_end_the_chain(
    signed_in_app: AppFactory, rotating_demo: DemoProcess
) -> None:
    # The service rotates the refresh token and then answers without
    # expires_in; the app reads the expiry from the token itself, keeps the
    # new refresh token and never sends the rotated-out one again.
    app = signed_in_app(rotating_demo)
    reuse_before = rotating_demo.stats()["reuse_detected"]
    refreshes_before = rotating_demo.stats()["refreshes_ok"]
    rotating_demo.inject("no_expires_in", 1)

    # Two more refreshes: the faulty answer's, then one with its new token.
    wait_until(
        lambda: rotating_demo.stats()["refreshes_ok"] >= refreshes_before + 2,
        20,
        "a refresh after the answer without expires_in",
    )

    assert rotating_demo.stats()["reuse_detected"] == reuse_before
    # The answer is in; the new refresh token is saved before it is served.
    app.wait_for_state("valid", timeout_s=10)
