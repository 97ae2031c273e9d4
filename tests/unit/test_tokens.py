"""Reading token responses: expiry from expires_in, else from the token."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from tstray.oauth.errors import MalformedResponseError
from tstray.oauth.tokens import TokenSet, parse_token_response

NOW = datetime(2026, 12, 4, 14, 30, tzinfo=UTC)
OLD = TokenSet("old-access", "old-refresh", NOW, "openid")


def jwt_expiring_at(moment: datetime) -> str:
    def part(data: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'exp': int(moment.timestamp())})}.sig"


def test_expires_in_counts_from_when_the_request_was_sent() -> None:
    tokens = parse_token_response({"access_token": "a", "expires_in": 1200}, NOW, OLD)
    assert tokens.expires_at == NOW + timedelta(seconds=1200)
    assert tokens.refresh_token == "old-refresh"


def test_missing_expires_in_falls_back_to_the_tokens_exp_claim() -> None:
    access = jwt_expiring_at(NOW + timedelta(seconds=900))
    tokens = parse_token_response({"access_token": access}, NOW, OLD)
    assert tokens.expires_at == NOW + timedelta(seconds=900)


def test_a_rotated_refresh_token_is_never_dropped_for_a_missing_expiry() -> None:
    body = {"access_token": "opaque", "refresh_token": "new-refresh"}
    tokens = parse_token_response(body, NOW, OLD)
    assert tokens.refresh_token == "new-refresh"
    assert tokens.refresh_token_rotates
    assert NOW < tokens.expires_at <= NOW + timedelta(seconds=60)


def test_no_expiry_at_all_without_rotation_is_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="expires_in"):
        parse_token_response({"access_token": "opaque"}, NOW, OLD)
    expired = jwt_expiring_at(NOW - timedelta(seconds=5))
    with pytest.raises(MalformedResponseError):
        parse_token_response({"access_token": expired}, NOW, OLD)
