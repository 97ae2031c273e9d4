"""Tests for tstray.oauth.client.TokenClient over httpx.MockTransport: what
each request sends, the TokenSet it builds, and what reaches the logs.

The error table is tested in test_token_client_errors.py; the same calls over
real loopback HTTP in tests/integration/test_token_client_loopback.py.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta

import httpx
import pytest

from tests.helpers.token_endpoint import (
    ACCESS,
    CODE,
    NEW_REFRESH,
    NOW,
    OLD_TOKENS,
    REFRESH,
    SECRET,
    SECRET_VALUES,
    SETTINGS,
    VERIFIER,
    Endpoint,
    exchange,
    failure_of,
    id_token,
    refresh,
    revoke,
    run_client,
    token_body,
)
from tstray.oauth.client import TokenClient
from tstray.oauth.errors import (
    ClientRejectedError,
    MalformedResponseError,
    NetworkError,
    ServerBusyError,
    SignInRequiredError,
    TokenEndpointError,
)
from tstray.oauth.tokens import TokenSet

# --- successful requests ----------------------------------------------------


def test_exchange_sends_the_code_grant_form() -> None:
    endpoint = Endpoint([httpx.Response(200, json=token_body(refresh_token=REFRESH))])

    run_client(endpoint, exchange)

    request = endpoint.requests[0]
    assert request.method == "POST"
    assert str(request.url) == SETTINGS.token_url
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert endpoint.form() == {
        "grant_type": "authorization_code",
        "client_id": "test-api-key",
        "code": CODE,
        "redirect_uri": "http://localhost:31022",
        "code_verifier": VERIFIER,
        "client_secret": SECRET,
    }


def test_exchange_without_verifier_or_secret_sends_neither() -> None:
    endpoint = Endpoint([httpx.Response(200, json=token_body(refresh_token=REFRESH))])

    run_client(endpoint, lambda client: client.exchange_code(CODE, None), secret=None)

    form = endpoint.form()
    assert "code_verifier" not in form
    assert "client_secret" not in form
    assert form["code"] == CODE


def test_exchange_builds_a_token_set() -> None:
    body = token_body(
        refresh_token=REFRESH,
        id_token=id_token(name="Ann Example"),
        refresh_token_expires_in=1800,
    )
    endpoint = Endpoint([httpx.Response(200, json=body)])

    tokens = run_client(endpoint, exchange)

    assert tokens.access_token == ACCESS
    assert tokens.refresh_token == REFRESH
    assert tokens.expires_at == NOW + timedelta(seconds=1200)
    assert tokens.signed_in_at == NOW
    assert tokens.account == "Ann Example"
    assert tokens.scope == "openid offline_access MarketData"
    assert tokens.refresh_token_expires_at == NOW + timedelta(seconds=1800)
    assert not tokens.refresh_token_rotates


def test_clock_is_read_before_the_request_is_sent() -> None:
    readings: list[datetime] = []

    def clock() -> datetime:
        readings.append(NOW + timedelta(seconds=100 * len(readings)))
        return readings[-1]

    def endpoint(request: httpx.Request) -> httpx.Response:
        # The clock must already have been read once when the request leaves.
        assert len(readings) == 1
        return httpx.Response(200, json=token_body(refresh_token=REFRESH))

    tokens = run_client(endpoint, exchange, clock=clock)

    assert tokens.expires_at == readings[0] + timedelta(seconds=1200)


def test_refresh_sends_the_refresh_grant_form() -> None:
    endpoint = Endpoint([httpx.Response(200, json=token_body())])

    run_client(endpoint, refresh)

    assert endpoint.form() == {
        "grant_type": "refresh_token",
        "client_id": "test-api-key",
        "refresh_token": REFRESH,
        "client_secret": SECRET,
    }


def test_refresh_without_secret_sends_none() -> None:
    endpoint = Endpoint([httpx.Response(200, json=token_body())])

    run_client(endpoint, refresh, secret=None)

    assert "client_secret" not in endpoint.form()


def test_refresh_without_refresh_token_in_answer_keeps_the_old_one() -> None:
    endpoint = Endpoint([httpx.Response(200, json=token_body())])

    tokens = run_client(endpoint, refresh)

    assert tokens.access_token == ACCESS
    assert tokens.refresh_token == REFRESH
    assert tokens.expires_at == NOW + timedelta(seconds=1200)
    assert tokens.signed_in_at == OLD_TOKENS.signed_in_at
    assert tokens.account == "Ann"
    assert not tokens.refresh_token_rotates


def test_refresh_with_new_refresh_token_marks_rotation() -> None:
    body = token_body(refresh_token=NEW_REFRESH, refresh_token_expires_in=1800)
    endpoint = Endpoint([httpx.Response(200, json=body)])

    tokens = run_client(endpoint, refresh)

    assert tokens.refresh_token == NEW_REFRESH
    assert tokens.refresh_token_rotates
    assert tokens.refresh_token_expires_at == NOW + timedelta(seconds=1800)


def test_kept_refresh_token_keeps_its_expiry() -> None:
    expiry = NOW + timedelta(minutes=20)
    tokens = replace(OLD_TOKENS, refresh_token_expires_at=expiry)
    endpoint = Endpoint([httpx.Response(200, json=token_body())])

    refreshed = run_client(endpoint, lambda client: client.refresh(tokens))

    assert refreshed.refresh_token_expires_at == expiry


def test_refresh_without_stored_refresh_token_sends_nothing() -> None:
    endpoint = Endpoint([])
    tokens = TokenSet(access_token="a", refresh_token=None, expires_at=NOW)

    with pytest.raises(SignInRequiredError) as caught:
        run_client(endpoint, lambda client: client.refresh(tokens))

    assert caught.value.error_code == "no_refresh_token"
    assert "no refresh token is stored" in caught.value.reason
    assert endpoint.requests == []


def test_revoke_posts_json() -> None:
    endpoint = Endpoint([httpx.Response(200)])

    run_client(endpoint, revoke)

    request = endpoint.requests[0]
    assert str(request.url) == SETTINGS.revoke_url
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "client_id": "test-api-key",
        "client_secret": SECRET,
        "token": REFRESH,
    }


def test_revoke_without_secret_leaves_it_out() -> None:
    endpoint = Endpoint([httpx.Response(200)])

    run_client(endpoint, revoke, secret=None)

    assert json.loads(endpoint.requests[0].content) == {
        "client_id": "test-api-key",
        "token": REFRESH,
    }


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(401, json={"error": "invalid_client"}), ClientRejectedError),
        (httpx.Response(503), ServerBusyError),
        (httpx.Response(302), MalformedResponseError),
        (httpx.Response(400, text="<html>portal</html>"), MalformedResponseError),
        (httpx.ConnectError("refused"), NetworkError),
    ],
)
def test_revoke_failures_are_mapped(
    answer: httpx.Response | Exception, expected: type[TokenEndpointError]
) -> None:
    assert type(failure_of(answer, revoke)) is expected


# --- logging ------------------------------------------------------------------


def test_logs_never_show_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # A service that echoes what it was sent must not get it into the logs.
    echo_exchange = f"{CODE} {VERIFIER} {SECRET}"
    echo_refresh = f"{REFRESH} {SECRET}"
    answers: list[httpx.Response | Exception] = [
        httpx.Response(200, json=token_body(refresh_token=REFRESH)),
        httpx.Response(200, json=token_body(refresh_token=NEW_REFRESH)),
        httpx.Response(200),
        httpx.Response(
            400, json={"error": "invalid_grant", "error_description": echo_exchange}
        ),
        httpx.Response(
            400, json={"error": "invalid_grant", "error_description": echo_refresh}
        ),
        httpx.Response(200, text=f'{{"access_token": "{ACCESS}"'),
        httpx.ConnectError(f"refused {SECRET}"),
    ]
    endpoint = Endpoint(answers)
    errors: list[TokenEndpointError] = []

    async def calls(client: TokenClient) -> None:
        await client.exchange_code(CODE, VERIFIER)
        await client.refresh(OLD_TOKENS)
        await client.revoke(REFRESH)
        for call in (
            lambda: client.exchange_code(CODE, VERIFIER),
            lambda: client.refresh(OLD_TOKENS),
            lambda: client.refresh(OLD_TOKENS),
            lambda: client.revoke(REFRESH),
        ):
            try:
                await call()
            except TokenEndpointError as exc:
                errors.append(exc)

    run_client(endpoint, calls)

    assert len(errors) == 4
    client_lines = [r for r in caplog.records if r.name == "tstray.oauth.client"]
    assert len(client_lines) == 7
    assert all("ms" in r.getMessage() for r in client_lines)
    assert "HTTP 200" in client_lines[0].getMessage()
    assert "HTTP 400" in client_lines[3].getMessage()
    shown = caplog.text + " ".join(str(e) for e in errors)
    for value in SECRET_VALUES:
        assert value not in shown
