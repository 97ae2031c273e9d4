"""Tests for tstray.oauth.client's error table: each row, over
httpx.MockTransport, with the reasons the user reads.
"""

from __future__ import annotations

import ssl
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest

from tests.helpers.token_endpoint import (
    ACCESS,
    NOW,
    REFRESH,
    SECRET,
    Endpoint,
    exchange,
    failure_of,
    refresh,
    run_client,
    token_body,
)
from tstray.oauth.client import retry_after_s
from tstray.oauth.errors import (
    ClientRejectedError,
    FinalError,
    MalformedResponseError,
    NetworkError,
    ServerBusyError,
    SignInRequiredError,
    TokenEndpointError,
)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.PoolTimeout("timed out"),
        httpx.ReadError("reset"),
        httpx.WriteError("broken pipe"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ProxyError("proxy said no"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
)
def test_transport_failures_are_network_errors(exc: Exception) -> None:
    error = failure_of(exc)

    assert type(error) is NetworkError
    assert error.reason.startswith("the sign-in service could not be reached")
    assert " ms" in error.reason
    assert error.__cause__ is exc


def test_tls_failure_is_a_network_error_in_words() -> None:
    exc = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]")
    exc.__cause__ = ssl.SSLCertVerificationError(1, "certificate verify failed")

    error = failure_of(exc)

    assert type(error) is NetworkError
    assert "TLS" in error.reason


def test_timeout_reason_says_so() -> None:
    assert "in time" in failure_of(httpx.ReadTimeout("timed out")).reason


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_server_busy(status: int) -> None:
    error = failure_of(httpx.Response(status, text="<html>down</html>"))

    assert type(error) is ServerBusyError
    assert f"HTTP {status}" in error.reason
    assert error.retry_after_s is None


def test_5xx_with_invalid_grant_body_is_still_temporary() -> None:
    # Only a 4xx may cost the user their refresh token.
    error = failure_of(httpx.Response(500, json={"error": "invalid_grant"}))

    assert type(error) is ServerBusyError


@pytest.mark.parametrize(
    ("header", "expected_s"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("999999999999999999999", 3600.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(seconds=90), usegmt=True), 0.0),
        (format_datetime(NOW + timedelta(days=3), usegmt=True), 3600.0),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
    ],
)
def test_429_reads_retry_after(header: str, expected_s: float | None) -> None:
    error = failure_of(httpx.Response(429, headers={"Retry-After": header}))

    assert type(error) is ServerBusyError
    assert error.retry_after_s == expected_s
    assert "HTTP 429" in error.reason


def test_503_reads_retry_after() -> None:
    error = failure_of(httpx.Response(503, headers={"Retry-After": "30"}))

    assert type(error) is ServerBusyError
    assert error.retry_after_s == 30.0
    assert "30 s" in error.reason


def test_retry_after_date_counts_from_the_clock() -> None:
    later = NOW + timedelta(seconds=45)

    assert retry_after_s(format_datetime(later, usegmt=True), NOW) == 45.0
    assert retry_after_s("Wed, 02 Jan 2030 03:05:05 -0000", NOW) == 60.0
    assert retry_after_s(None, NOW) is None
    # str.isdigit() is true for other scripts' digits; Retry-After is ASCII.
    assert retry_after_s("\u0663", NOW) is None


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>Welcome to the hotel wifi</html>"),
        httpx.Response(200, text='{"access_token": "abc", "expires_in": 12'),
        httpx.Response(200, json=["access_token", "expires_in"]),
        httpx.Response(200, json="access_token"),
        httpx.Response(200, content=b"\xff\xfe\x00garbage"),
        httpx.Response(200, content=b""),
        httpx.Response(204),
        httpx.Response(200, json={"access_token": ACCESS}),
        httpx.Response(200, json={"expires_in": 1200}),
        httpx.Response(200, json=token_body(expires_in="soon")),
        httpx.Response(200, json=token_body(expires_in=-1)),
        httpx.Response(200, json=token_body(refresh_token=42)),
    ],
)
def test_unreadable_success_is_malformed(answer: httpx.Response) -> None:
    assert type(failure_of(answer)) is MalformedResponseError


def test_nan_expires_in_is_malformed() -> None:
    answer = httpx.Response(200, text='{"access_token": "a", "expires_in": NaN}')

    assert type(failure_of(answer)) is MalformedResponseError


def test_missing_expires_in_names_it() -> None:
    error = failure_of(httpx.Response(200, json={"access_token": ACCESS}))

    assert "expires_in" in error.reason


def test_exchange_without_refresh_token_needs_offline_access() -> None:
    error = failure_of(httpx.Response(200, json=token_body()), exchange)

    assert type(error) is SignInRequiredError
    assert "offline_access" in error.reason


@pytest.mark.parametrize(
    ("status", "error_code", "expected"),
    [
        (400, "invalid_grant", SignInRequiredError),
        (403, "invalid_grant", SignInRequiredError),
        (403, "access_denied", SignInRequiredError),
        (401, "invalid_client", ClientRejectedError),
        (400, "invalid_client", ClientRejectedError),
        (403, "unauthorized_client", ClientRejectedError),
        (400, "unsupported_grant_type", ClientRejectedError),
        (400, "invalid_request", SignInRequiredError),
        (401, "something_new", SignInRequiredError),
        (403, "mfa_required", SignInRequiredError),
        (400, "temporarily_unavailable", ServerBusyError),
        (400, "slow_down", ServerBusyError),
        (408, "request_timeout", ServerBusyError),
        (404, "not_found", MalformedResponseError),
        (405, "method_not_allowed", MalformedResponseError),
    ],
)
def test_oauth_errors_are_mapped(
    status: int, error_code: str, expected: type[TokenEndpointError]
) -> None:
    answer = httpx.Response(
        status, json={"error": error_code, "error_description": "Told in words."}
    )

    error = failure_of(answer)

    assert type(error) is expected
    assert f"HTTP {status}" in error.reason
    assert error_code in error.reason
    assert "Told in words." in error.reason
    if isinstance(error, FinalError):
        assert error.error_code == error_code


def test_invalid_client_tells_the_user_where_to_look() -> None:
    error = failure_of(httpx.Response(401, json={"error": "invalid_client"}))

    assert "check the API key and secret in settings" in error.reason


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(400, text="<html><body>Please log in to the wifi</body></html>"),
        httpx.Response(403, text="Forbidden"),
        httpx.Response(401, content=b""),
        httpx.Response(400, json={"message": "no error field"}),
        httpx.Response(400, json={"error": 7}),
        httpx.Response(400, json=["invalid_grant"]),
    ],
)
def test_4xx_that_is_not_an_oauth_error_is_malformed(answer: httpx.Response) -> None:
    # A proxy or captive portal must not cost the user their refresh token.
    error = failure_of(answer)

    assert type(error) is MalformedResponseError
    assert f"HTTP {answer.status_code}" in error.reason


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed(status: int) -> None:
    endpoint = Endpoint(
        [httpx.Response(status, headers={"Location": "http://127.0.0.1:9/elsewhere"})]
    )

    with pytest.raises(MalformedResponseError) as caught:
        # Even a client set to follow redirects must not follow this one.
        run_client(endpoint, refresh, follow_redirects=True)

    assert len(endpoint.requests) == 1
    assert f"HTTP {status}" in caught.value.reason


def test_undecodable_body_is_malformed() -> None:
    answer = httpx.Response(
        200,
        headers={"Content-Encoding": "gzip"},
        stream=httpx.ByteStream(b"this is not gzip"),
    )

    assert type(failure_of(answer)) is MalformedResponseError


def test_error_description_is_trimmed_and_cleaned() -> None:
    description = "line one\nline two\x00\u202e" + "y" * 2000
    answer = httpx.Response(
        400, json={"error": "invalid_grant", "error_description": description}
    )

    reason = failure_of(answer).reason

    assert "line one line two" in reason
    assert not any(ch in reason for ch in "\n\x00\u202e")
    assert "y" * 250 in reason
    assert "y" * 300 not in reason


def test_echoed_secrets_never_reach_the_reason() -> None:
    answer = httpx.Response(
        400,
        json={
            "error": "invalid_grant",
            "error_description": f"token {REFRESH} with secret {SECRET} is unknown",
        },
    )

    reason = failure_of(answer).reason

    assert REFRESH not in reason
    assert SECRET not in reason
    assert "[redacted]" in reason
