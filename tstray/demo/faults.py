"""Test hooks of the demo sign-in service: injected faults and counters.

A test (or a person trying the tray's error handling) queues faults here, and
the demo service applies them to its next token-endpoint requests, so that the
app can be seen coping with an outage, a rate limit or a garbled answer. The
counters let a test check what the service actually did. Nothing here exists
in TradeStation's service, and nothing here ever sees a token or a code.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_DELAY_S = 30.0
DEFAULT_RETRY_AFTER_S = 2

STAT_NAMES = (
    "token_requests",
    "faults_applied",
    "codes_issued",
    "codes_exchanged",
    "refreshes_ok",
    "refreshes_failed",
    "reuse_detected",
    "revoked_chains",
    "revoke_requests",
)


class Fault(StrEnum):
    """One way the token endpoint can misbehave for one request.

    Only ``DELAY`` and ``NO_EXPIRES_IN`` let the request be processed (a slow
    answer, or an answer missing a field); every other fault answers without
    looking at the request, so a refresh token sent with it stays as it was.
    """

    DROP = "drop"
    """Close the connection without answering."""
    DELAY = "delay"
    """Wait ``delay_s``, then answer normally."""
    HTTP_500 = "http_500"
    HTTP_503 = "http_503"
    HTTP_429 = "http_429"
    """Rate limited, with ``Retry-After: retry_after_s``."""
    GARBAGE = "garbage"
    """200 with a body that is not JSON."""
    TRUNCATED = "truncated"
    """200 with JSON cut off half way."""
    NO_EXPIRES_IN = "no_expires_in"
    """A normal answer without its ``expires_in`` field."""
    INVALID_GRANT = "invalid_grant"
    """403 invalid_grant, as if the refresh token were revoked."""
    INVALID_CLIENT = "invalid_client"
    """401 invalid_client, as if the API key or secret were wrong."""


@dataclass(frozen=True)
class InjectedFault:
    """A fault taken from the queue for one request.

    Attributes:
        fault: what to do.
        delay_s: how long ``DELAY`` waits.
        retry_after_s: the ``Retry-After`` value ``HTTP_429`` sends.
    """

    fault: Fault
    delay_s: float = DEFAULT_DELAY_S
    retry_after_s: int = DEFAULT_RETRY_AFTER_S


@dataclass
class _Entry:
    injected: InjectedFault
    times_left: int


class FaultQueue:
    """Faults waiting for the next token-endpoint requests, oldest first.

    Thread-safe: tests inject from their own thread while the service's
    request threads take.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[_Entry] = deque()

    def inject(
        self,
        fault: Fault | str,
        times: int = 1,
        *,
        delay_s: float = DEFAULT_DELAY_S,
        retry_after_s: int = DEFAULT_RETRY_AFTER_S,
    ) -> None:
        """Queues ``fault`` for the next ``times`` token-endpoint requests.

        Raises:
            ValueError: unknown fault name, ``times`` below 1, or a negative
                delay or Retry-After.
        """
        fault = Fault(fault)
        if times < 1:
            raise ValueError(f"times must be at least 1, not {times}")
        if delay_s < 0 or retry_after_s < 0:
            raise ValueError("delay_s and retry_after_s must not be negative")

        injected = InjectedFault(fault, float(delay_s), int(retry_after_s))
        with self._lock:
            self._entries.append(_Entry(injected, times))

    def take(self) -> InjectedFault | None:
        """Removes and returns the fault for one request, if any is queued."""
        with self._lock:
            if not self._entries:
                return None
            entry = self._entries[0]
            entry.times_left -= 1
            if entry.times_left == 0:
                self._entries.popleft()
            return entry.injected

    def clear(self) -> None:
        """Drops every queued fault."""
        with self._lock:
            self._entries.clear()

    def pending(self) -> list[tuple[str, int]]:
        """Returns (fault name, requests left) for each queued fault."""
        with self._lock:
            return [(e.injected.fault.value, e.times_left) for e in self._entries]


class DemoStats(Mapping[str, int]):
    """Counters of what the service did, readable like a dict.

    ``token_requests`` counts every POST to the token endpoint and
    ``faults_applied`` those answered by an injected fault; the others count
    only requests the service really processed. ``revoked_chains`` counts
    revocations: one per chain revoked for reuse, one per revoke request
    (which revokes every chain of the client at once).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(STAT_NAMES, 0)

    def increment(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(STAT_NAMES)

    def __len__(self) -> int:
        return len(STAT_NAMES)

    def __repr__(self) -> str:
        return f"DemoStats({self.snapshot()!r})"


def fault_response(injected: InjectedFault) -> tuple[int, str, bytes, dict[str, str]]:
    """Status, content type, body and headers of the answer ``injected``
    gives at once (every fault but ``DROP``, ``DELAY`` and ``NO_EXPIRES_IN``)."""
    fault = injected.fault
    json_type = "application/json"
    if fault is Fault.HTTP_500:
        body = {"error": "server_error", "error_description": "Internal server error."}
        return 500, json_type, json.dumps(body).encode(), {}
    if fault is Fault.HTTP_503:
        html = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
        return 503, "text/html", html, {}
    if fault is Fault.HTTP_429:
        body = {"error": "too_many_requests", "error_description": "Too many requests."}
        headers = {"Retry-After": str(injected.retry_after_s)}
        return 429, json_type, json.dumps(body).encode(), headers
    if fault is Fault.GARBAGE:
        return 200, "text/html", b"<html><body>Welcome to the network</body></html>", {}
    if fault is Fault.TRUNCATED:
        whole = json.dumps(
            {
                "access_token": "eyJhbGciOiJIUzI1NiJ9." + secrets.token_urlsafe(48),
                "scope": "openid offline_access",
                "expires_in": 1200,
                "token_type": "Bearer",
            }
        ).encode()
        return 200, json_type, whole[: len(whole) // 2], {}
    if fault is Fault.INVALID_GRANT:
        body = {
            "error": "invalid_grant",
            "error_description": "Unknown or invalid refresh token.",
        }
        return 403, json_type, json.dumps(body).encode(), {}
    body = {"error": "invalid_client", "error_description": "Unknown client."}
    return 401, json_type, json.dumps(body).encode(), {}
