"""The one hierarchy of failures from the sign-in service.

The split that matters to the user is temporary vs final: a temporary failure
is retried while the current token keeps being served; a final one needs the
user (sign in again, or fix the API key). Messages never contain a token, a
code or a secret.

    TokenEndpointError
    ├── TemporaryError            retry with backoff, keep serving
    │   ├── NetworkError          no answer at all: offline, DNS, TLS, timeout
    │   ├── ServerBusyError       5xx or 429 (retry_after_s from Retry-After)
    │   └── MalformedResponseError  an answer we cannot read
    └── FinalError                stop retrying; the user must act
        ├── SignInRequiredError   invalid_grant, no refresh token, access_denied
        └── ClientRejectedError   invalid_client / unauthorized_client
"""

from __future__ import annotations


class TokenEndpointError(Exception):
    """Base of every failure talking to the sign-in service.

    Attributes:
        reason: a short sentence for logs and the status window.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryError(TokenEndpointError):
    """Worth retrying later; the refresh token is still good."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class NetworkError(TemporaryError):
    """The service could not be reached (offline, DNS, TLS, timeout)."""


class ServerBusyError(TemporaryError):
    """The service answered 5xx or 429."""


class MalformedResponseError(TemporaryError):
    """The service answered something that is not a usable token response."""


class FinalError(TokenEndpointError):
    """Retrying cannot help; the user must act."""

    def __init__(self, reason: str, error_code: str = "") -> None:
        super().__init__(reason)
        self.error_code = error_code


class SignInRequiredError(FinalError):
    """The refresh token is unknown, expired or revoked: sign in again."""


class ClientRejectedError(FinalError):
    """The API key or client secret is wrong or not allowed this grant."""
