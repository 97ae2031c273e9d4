"""Each temporary fault of the sign-in service, against the real app process.

The demo sign-in service runs as its own process and answers the app's
refresh with an injected fault: a dropped connection, an answer later than
the app's timeout, 500, 503, 429 with Retry-After, a garbage body, truncated
JSON, a missing ``expires_in``. For each, the test checks from the outside
the states the app went through (its log's "session state" lines and
``/v1/status``), that ``/v1/token`` kept serving while the token was valid
and never served an expired one (a client polls it the whole time), and that
no notice was shown: amber, then green again, and the user left alone.

One app serves every test here; the module's end stops it before any other
app starts, because they share the keyring entry.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.support import (
    AppProcess,
    DemoProcess,
    TokenPoller,
    delete_tokens,
    log_tail,
    seed_tokens,
    wait_until,
)

pytestmark = pytest.mark.e2e

AMBER = {"retrying", "offline", "expired_retrying"}
# The app's HTTP timeout is 15 s; the delayed answer comes later.
DELAY_PAST_TIMEOUT_S = 17.0


@pytest.fixture(scope="module")
def shared_app(
    demo: DemoProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppProcess]:
    """One app for every temporary fault: each test leaves it green."""
    delete_tokens()
    seed_tokens(demo.sign_in())
    app = AppProcess(tmp_path_factory.mktemp("app"), demo.url, refresh_margin_s=3)
    app.start()
    yield app
    app.kill()
    delete_tokens()


def _visited(app: AppProcess, log_text: str) -> list[str]:
    return [new for _old, new in app.transitions(log_text)]


def _recovered(app: AppProcess, mark: int) -> bool:
    visited = _visited(app, app.log_text()[mark:])
    amber_at = [i for i, state in enumerate(visited) if state in AMBER]
    return bool(amber_at) and visited[-1] == "valid"


TEMPORARY_FAULTS = [
    pytest.param("drop", {}, id="drop"),
    pytest.param("http_500", {}, id="http_500"),
    pytest.param("http_503", {}, id="http_503"),
    pytest.param("http_429", {"retry_after_s": 2}, id="http_429_retry_after"),
    pytest.param("garbage", {}, id="garbage"),
    pytest.param("truncated", {}, id="truncated"),
]


@pytest.mark.parametrize(("fault", "options"), TEMPORARY_FAULTS)
def test_a_temporary_fault_turns_amber_then_green_and_keeps_serving(
    shared_app: AppProcess, demo: DemoProcess, fault: str, options: dict[str, float]
) -> None:
    app = shared_app
    app.wait_for_state("valid")
    mark = len(app.log_text())
    stats_before = demo.stats()

    with TokenPoller(app) as poller:
        demo.inject(fault, 1, **options)
        # The next scheduled refresh, at half the token's life, meets it.
        amber = app.wait_for_state(*AMBER, timeout_s=10)
        wait_until(lambda: _recovered(app, mark), 20, f"recovery from {fault}")
        app.wait_for_state("valid")

    text = app.log_text()[mark:]
    visited = _visited(app, text)
    expected = "offline" if fault == "drop" else "retrying"
    assert amber["state"] == expected, (amber, log_tail(app))
    assert amber["last_error"] and amber["health"] == "amber"
    assert "sign_in_needed" not in visited and "expired_retrying" not in visited
    seen = poller.snapshot()
    # The token was valid throughout, so every plain request got it.
    assert seen.answers > 0 and seen.refused == 0 and seen.failed == 0, seen
    assert seen.expired_served == 0 and seen.late_expires_at == 0, seen
    assert app.notices(text) == []
    stats = demo.stats()
    assert stats["faults_applied"] == stats_before["faults_applied"] + 1
    assert stats["refreshes_ok"] > stats_before["refreshes_ok"]
    if fault == "http_429":
        assert "retry in 2 s" in text, log_tail(app)


def test_an_answer_without_expires_in_uses_the_tokens_own_expiry(
    shared_app: AppProcess, demo: DemoProcess
) -> None:
    app = shared_app
    app.wait_for_state("valid")
    mark = len(app.log_text())
    stats_before = demo.stats()

    with TokenPoller(app) as poller:
        demo.inject("no_expires_in", 1)
        wait_until(
            lambda: demo.stats()["faults_applied"] > stats_before["faults_applied"],
            10,
            "the answer without expires_in",
        )
        app.wait_for_state("valid")

    text = app.log_text()[mark:]
    assert not set(_visited(app, text)) & AMBER
    seen = poller.snapshot()
    assert seen.expired_served == 0 and seen.late_expires_at == 0, seen
    assert app.notices(text) == []


def test_an_answer_later_than_the_timeout_is_retried_and_no_stale_token_served(
    shared_app: AppProcess, demo: DemoProcess
) -> None:
    app = shared_app
    app.wait_for_state("valid")
    mark = len(app.log_text())

    with TokenPoller(app) as poller:
        demo.inject("delay", 1, delay_s=DELAY_PAST_TIMEOUT_S)
        wait_until(lambda: _recovered(app, mark), 40, "recovery from a delay")
        app.wait_for_state("valid")

    text = app.log_text()[mark:]
    visited = _visited(app, text)
    # The token (6 s) expires while the app waits 15 s for an answer.
    assert "expired_retrying" in visited, log_tail(app)
    assert "sign_in_needed" not in visited
    seen = poller.snapshot()
    assert seen.refused > 0, seen
    assert seen.expired_served == 0 and seen.late_expires_at == 0, seen
    assert app.notices(text) == []
