"""Tests for tstray.oauth.authorize: the sign-in URL, PKCE and the redirect."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tstray.config import TradeStationSettings
from tstray.oauth.authorize import (
    SignInCancelledError,
    SignInFailedError,
    build_sign_in_request,
    code_from_redirect,
    is_redirect_target,
    pkce_challenge,
)

REDIRECT_URI = "http://localhost:31022"
SETTINGS = TradeStationSettings(
    client_id="test-api-key",
    redirect_uri=REDIRECT_URI,
    authorize_url="http://127.0.0.1:9/authorize",
)
URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")
# RFC 7636 section 4.1: unreserved characters only.
VERIFIER_CHARS = re.compile(r"^[A-Za-z0-9._~-]+$")


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def redirect(**params: str) -> str:
    return f"{REDIRECT_URI}/?{urlencode(params)}"


# --- build_sign_in_request -------------------------------------------------


def test_url_carries_every_parameter_once() -> None:
    request = build_sign_in_request(SETTINGS)

    parts = urlsplit(request.url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "http",
        "127.0.0.1:9",
        "/authorize",
    )
    query = query_of(request.url)
    assert query == {
        "response_type": ["code"],
        "client_id": ["test-api-key"],
        "redirect_uri": [REDIRECT_URI],
        "audience": ["https://api.tradestation.com"],
        "scope": ["openid profile offline_access MarketData ReadAccount Trade"],
        "state": [request.state],
        "code_challenge": [pkce_challenge(request.code_verifier or "")],
        "code_challenge_method": ["S256"],
    }
    assert request.redirect_uri == REDIRECT_URI


def test_scope_spaces_are_percent_encoded() -> None:
    request = build_sign_in_request(SETTINGS)

    assert "scope=openid%20profile%20offline_access" in request.url


def test_state_is_long_random_and_urlsafe() -> None:
    first = build_sign_in_request(SETTINGS)
    second = build_sign_in_request(SETTINGS)

    # 128 bits need at least 22 base64 characters.
    assert len(first.state) >= 22
    assert URLSAFE.match(first.state)
    assert first.state != second.state


def test_code_verifier_follows_rfc_7636() -> None:
    first = build_sign_in_request(SETTINGS)
    second = build_sign_in_request(SETTINGS)

    assert first.code_verifier is not None
    assert 43 <= len(first.code_verifier) <= 128
    assert VERIFIER_CHARS.match(first.code_verifier)
    assert first.code_verifier != second.code_verifier


def test_pkce_challenge_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_without_pkce_there_is_no_verifier_or_challenge() -> None:
    settings = TradeStationSettings(
        client_id="k", authorize_url="http://127.0.0.1:9/authorize", pkce=False
    )

    request = build_sign_in_request(settings)

    assert request.code_verifier is None
    query = query_of(request.url)
    assert "code_challenge" not in query
    assert "code_challenge_method" not in query
    assert query["state"] == [request.state]


def test_existing_query_is_kept_but_our_parameters_are_not_doubled() -> None:
    settings = TradeStationSettings(
        client_id="test-api-key",
        authorize_url="http://127.0.0.1:9/authorize?connection=demo&client_id=other&x=",
    )

    query = query_of(build_sign_in_request(settings).url)

    assert query["connection"] == ["demo"]
    assert query["x"] == [""]
    assert query["client_id"] == ["test-api-key"]


def test_repr_hides_state_and_verifier() -> None:
    request = build_sign_in_request(SETTINGS)

    text = repr(request)

    assert request.state not in text
    assert request.code_verifier is not None
    assert request.code_verifier not in text
    assert REDIRECT_URI in text


# --- is_redirect_target ----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "redirect_uri", "expected"),
    [
        ("http://localhost:31022/?code=a&state=b", "http://localhost:31022", True),
        ("http://localhost:31022?code=a", "http://localhost:31022/", True),
        ("http://localhost:31022/#frag", "http://localhost:31022", True),
        ("http://LOCALHOST:31022/", "http://localhost:31022", True),
        ("http://localhost/?code=a", "http://localhost:80", True),
        ("http://localhost:80/", "http://localhost", True),
        ("http://localhost:8080/cb?code=a", "http://localhost:8080/cb", True),
        ("http://[::1]:3000/?code=a", "http://[::1]:3000", True),
        ("http://127.0.0.1:31022/?code=a", "http://localhost:31022", False),
        ("http://[::1]:31022/?code=a", "http://localhost:31022", False),
        ("http://localhost:31022/?code=a", "http://127.0.0.1:31022", False),
        ("https://localhost:31022/?code=a", "http://localhost:31022", False),
        ("http://localhost:3000/?code=a", "http://localhost:31022", False),
        ("http://localhost:443/", "https://localhost", False),
        ("http://localhost:31022/other?code=a", "http://localhost:31022", False),
        ("http://localhost:31022/cb/?code=a", "http://localhost:31022/cb", False),
        ("http://localhost.evil.test:31022/", "http://localhost:31022", False),
        ("http://localhost:99999/", "http://localhost:31022", False),
        ("about:blank", "http://localhost:31022", False),
        ("", "http://localhost:31022", False),
        ("http://127.0.0.1:9/authorize?x=1", "http://localhost:31022", False),
    ],
)
def test_is_redirect_target(url: str, redirect_uri: str, expected: bool) -> None:
    assert is_redirect_target(url, redirect_uri) is expected


# --- code_from_redirect ----------------------------------------------------


def test_code_is_returned_when_state_matches() -> None:
    request = build_sign_in_request(SETTINGS)

    code = code_from_redirect(redirect(code="the-code", state=request.state), request)

    assert code == "the-code"


def test_wrong_state_is_refused_without_showing_values() -> None:
    request = build_sign_in_request(SETTINGS)
    url = redirect(code="secret-code-value", state="forged-state-value")

    with pytest.raises(SignInFailedError) as caught:
        code_from_redirect(url, request)

    assert caught.value.error_code == "state_mismatch"
    assert "state mismatch" in caught.value.reason
    for value in ("secret-code-value", "forged-state-value", request.state):
        assert value not in str(caught.value)


def test_missing_state_is_refused() -> None:
    request = build_sign_in_request(SETTINGS)

    with pytest.raises(SignInFailedError) as caught:
        code_from_redirect(redirect(code="secret-code-value"), request)

    assert caught.value.error_code == "state_mismatch"
    assert "secret-code-value" not in str(caught.value)


def test_missing_code_is_refused() -> None:
    request = build_sign_in_request(SETTINGS)

    with pytest.raises(SignInFailedError) as caught:
        code_from_redirect(redirect(state=request.state), request)

    assert caught.value.error_code == "missing_code"
    assert request.state not in str(caught.value)


def test_empty_code_is_refused() -> None:
    request = build_sign_in_request(SETTINGS)

    with pytest.raises(SignInFailedError) as caught:
        code_from_redirect(redirect(code="", state=request.state), request)

    assert caught.value.error_code == "missing_code"


def test_doubled_code_is_refused() -> None:
    request = build_sign_in_request(SETTINGS)
    url = f"{REDIRECT_URI}/?code=one&code=two&state={request.state}"

    with pytest.raises(SignInFailedError) as caught:
        code_from_redirect(url, request)

    assert caught.value.error_code == "duplicate_parameter"


def test_redirect_to_another_address_is_refused() -> None:
    request = build_sign_in_request(SETTINGS)
    url = f"http://127.0.0.1:31022/?code=c&state={request.state}"

    with pytest.raises(SignInFailedError) as caught:
        code_from_redirect(url, request)

    assert caught.value.error_code == "wrong_redirect"


def test_access_denied_is_a_cancel_with_the_service_words() -> None:
    request = build_sign_in_request(SETTINGS)
    url = redirect(
        error="access_denied",
        error_description="User did not authorize the request",
        state=request.state,
    )

    with pytest.raises(SignInCancelledError) as caught:
        code_from_redirect(url, request)

    assert caught.value.reason.startswith("You declined")
    assert "User did not authorize the request" in caught.value.reason
    assert request.state not in caught.value.reason


def test_access_denied_without_state_is_still_a_cancel() -> None:
    request = build_sign_in_request(SETTINGS)

    with pytest.raises(SignInCancelledError):
        code_from_redirect(redirect(error="access_denied"), request)


def test_error_with_foreign_state_is_a_state_mismatch() -> None:
    request = build_sign_in_request(SETTINGS)
    url = redirect(error="access_denied", state="someone-elses-state")

    with pytest.raises(SignInFailedError) as caught:
        code_from_redirect(url, request)

    assert caught.value.error_code == "state_mismatch"


def test_other_error_names_the_error_and_description() -> None:
    request = build_sign_in_request(SETTINGS)
    url = redirect(
        error="server_error",
        error_description="Something broke",
        state=request.state,
    )

    with pytest.raises(SignInFailedError) as caught:
        code_from_redirect(url, request)

    assert caught.value.error_code == "server_error"
    assert "server_error" in caught.value.reason
    assert "Something broke" in caught.value.reason


def test_error_description_is_trimmed_and_cleaned() -> None:
    request = build_sign_in_request(SETTINGS)
    description = "bad\r\nFAKE LOG LINE\x1b[31m\u202e" + "x" * 1000
    url = redirect(
        error="invalid_scope",
        error_description=description,
        state=request.state,
    )

    with pytest.raises(SignInFailedError) as caught:
        code_from_redirect(url, request)

    reason = caught.value.reason
    assert "bad FAKE LOG LINE" in reason
    assert not any(ch in reason for ch in "\r\n\x1b\u202e")
    assert "x" * 299 not in reason
    assert "x" * 250 in reason


def test_error_description_echoing_the_state_is_redacted() -> None:
    request = build_sign_in_request(SETTINGS)
    url = redirect(
        error="invalid_request",
        error_description=f"bad state {request.state} here",
        state=request.state,
    )

    with pytest.raises(SignInFailedError) as caught:
        code_from_redirect(url, request)

    assert request.state not in caught.value.reason
    assert "[redacted]" in caught.value.reason
