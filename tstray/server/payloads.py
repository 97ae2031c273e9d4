"""The JSON bodies of the local token service's answers: ``/v1/token``,
``/v1/status`` (which the ``/v1/events`` stream repeats) and the encoding they
share.

Pure functions of a session snapshot and the time; they never log, and only
``token_payload`` puts the access token in what it returns.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import tstray
from tstray.server.http import JSON_HEADERS, Response
from tstray.session.state import SessionSnapshot


def json_response(
    status: int, payload: dict[str, Any], *, headers: bytes = b"", close: bool = False
) -> Response:
    """A JSON answer, compact, never cached."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, body, JSON_HEADERS + headers, close)


def iso_utc(moment: datetime | None) -> str | None:
    """``2025-01-31T12:00:00Z``; seconds are cut, never rounded up, so a
    client that trusts ``expires_at`` can only refresh early."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def token_payload(
    snapshot: SessionSnapshot, token: str, now: datetime
) -> dict[str, Any]:
    """The ``/v1/token`` JSON (also the ``token`` event)."""
    assert snapshot.expires_at is not None  # token_if_valid checked it
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int((snapshot.expires_at - now).total_seconds()),
        "expires_at": iso_utc(snapshot.expires_at),
        "scope": snapshot.scope,
    }


def status_payload(snapshot: SessionSnapshot, now: datetime) -> dict[str, Any]:
    """The ``/v1/status`` JSON (also the ``state`` event)."""
    seconds_left = snapshot.seconds_left(now)
    return {
        "state": snapshot.state.value,
        "health": snapshot.health.value,
        "account": snapshot.account,
        "expires_at": iso_utc(snapshot.expires_at),
        "expires_in": None if seconds_left is None else max(0, int(seconds_left)),
        "last_refresh_at": iso_utc(snapshot.last_refresh_at),
        "next_refresh_at": iso_utc(snapshot.next_refresh_at),
        "last_error": snapshot.last_error,
        "error_code": snapshot.error_code,
        "sign_in_deadline": iso_utc(snapshot.sign_in_deadline),
        "version": tstray.__version__,
    }
