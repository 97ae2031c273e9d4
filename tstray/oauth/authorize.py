"""The browser half of the OAuth 2.0 authorization code flow: builds the
sign-in URL (with ``state`` and, when enabled, PKCE) and reads the code out of
the redirect that ends it.

This module never logs, and never puts into a message, the ``state``, the PKCE
verifier or the authorization code: an error says what went wrong in words and
carries only what the sign-in service itself wrote (``error``,
``error_description``), cleaned for display.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import parse_qs, parse_qsl, quote, urlencode, urlsplit, urlunsplit

from tstray.config import TradeStationSettings

# 32 random bytes: 256 bits of state, 43 URL-safe characters.
_STATE_BYTES = 32

# 64 random bytes give an 86-character verifier, inside RFC 7636's 43-128.
_VERIFIER_BYTES = 64

# What the service writes about an error is shown to the user, so bound it.
_DESCRIPTION_MAX_CHARS = 300
_ERROR_CODE_MAX_CHARS = 64

_DEFAULT_PORTS = {"http": 80, "https": 443}

# The parameters this module sets; an authorize_url's own query keeps the rest.
_OWN_PARAMETERS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "audience",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    }
)


@dataclass(frozen=True)
class SignInRequest:
    """One sign-in attempt: the URL to open and what checks its redirect.

    Attributes:
        url: the full authorize URL to open in the sign-in window.
        state: random, URL-safe, at least 128 bits; the redirect must echo it.
        code_verifier: the PKCE verifier (43-128 characters), or ``None``
            when PKCE is off.
        redirect_uri: where the service sends the browser back to.
    """

    url: str = field(repr=False)
    state: str = field(repr=False)
    code_verifier: str | None = field(repr=False)
    redirect_uri: str


class SignInCancelledError(Exception):
    """The user declined the sign-in (``error=access_denied``).

    Attributes:
        reason: a sentence to show the user.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SignInFailedError(Exception):
    """The redirect did not carry a usable code.

    Attributes:
        reason: a sentence to show the user.
        error_code: the service's ``error`` value, or one of ours:
            ``wrong_redirect``, ``state_mismatch``, ``missing_code``.
    """

    def __init__(self, reason: str, error_code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_code = error_code


def pkce_challenge(code_verifier: str) -> str:
    """Returns the S256 code challenge for ``code_verifier`` (RFC 7636 4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def build_sign_in_request(settings: TradeStationSettings) -> SignInRequest:
    """Makes a fresh sign-in attempt for ``settings``.

    Every call draws a new ``state`` and verifier, so an attempt's redirect
    cannot be replayed into another one.
    """
    state = secrets.token_urlsafe(_STATE_BYTES)
    code_verifier = secrets.token_urlsafe(_VERIFIER_BYTES) if settings.pkce else None

    parameters = [
        ("response_type", "code"),
        ("client_id", settings.client_id),
        ("redirect_uri", settings.redirect_uri),
        ("audience", settings.audience),
        ("scope", " ".join(settings.scopes)),
        ("state", state),
    ]
    if code_verifier is not None:
        parameters += [
            ("code_challenge", pkce_challenge(code_verifier)),
            ("code_challenge_method", "S256"),
        ]

    # Keep whatever the configured URL already asks for (a connection name, a
    # locale), but never send one of our parameters twice.
    parts = urlsplit(settings.authorize_url)
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name not in _OWN_PARAMETERS
    ]
    query = urlencode(kept + parameters, quote_via=quote)
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return SignInRequest(url, state, code_verifier, settings.redirect_uri)


def _origin_and_path(url: str) -> tuple[str, str, int, str] | None:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    port = port if port is not None else _DEFAULT_PORTS[parts.scheme]
    return parts.scheme, parts.hostname, port, parts.path or "/"


def is_redirect_target(url: str, redirect_uri: str) -> bool:
    """Tells whether a navigation to ``url`` is the redirect to ``redirect_uri``.

    Scheme, host, port (80 for http when none is given) and path (``""`` is
    ``/``) must match; query and fragment do not count. ``localhost``,
    ``127.0.0.1`` and ``[::1]`` are different hosts here, because the service
    only redirects to the exact callback registered for the key.
    """
    target = _origin_and_path(url)
    return target is not None and target == _origin_and_path(redirect_uri)


def clean_for_display(text: str, max_chars: int, hidden: tuple[str, ...] = ()) -> str:
    """Makes text written by the sign-in service safe to show and log.

    Cuts out every value in ``hidden`` (in case the service echoes a code or
    a token), turns control and format characters into spaces, collapses
    runs of white space and trims to ``max_chars``.
    """
    for value in hidden:
        if value:
            text = text.replace(value, "[redacted]")

    # Control and format characters (newlines, bidi overrides) could forge
    # log lines or reorder what the user reads.
    text = "".join(
        " " if unicodedata.category(ch).startswith("C") else ch for ch in text
    )
    text = " ".join(text.split())
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise SignInFailedError(
            f"The sign-in service's answer carried the {name} parameter"
            f" {len(values)} times; please try again.",
            "duplicate_parameter",
        )
    return values[0]


def code_from_redirect(url: str, request: SignInRequest) -> str:
    """Reads the authorization code from the redirect that ends ``request``.

    Args:
        url: the address the sign-in window was sent to.
        request: the attempt it answers.

    Raises:
        SignInCancelledError: the user declined.
        SignInFailedError: the address is not the redirect, its state does
            not match this attempt, it has no code, or the service reported
            another error.
    """
    if not is_redirect_target(url, request.redirect_uri):
        raise SignInFailedError(
            "The sign-in ended on an unexpected address, not the callback URL.",
            "wrong_redirect",
        )
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    code = _single(query, "code")
    state = _single(query, "state")
    error = _single(query, "error")

    # A redirect with a foreign state was not started by this attempt (a stale
    # tab or a forged link); whatever it carries is not ours to use.
    state_ok = state is not None and hmac.compare_digest(
        state.encode("utf-8"), request.state.encode("utf-8")
    )
    if state is not None and not state_ok:
        raise SignInFailedError(
            "The sign-in answer does not belong to this sign-in attempt"
            " (state mismatch); please sign in again.",
            "state_mismatch",
        )

    if error is not None:
        hidden = (request.state, request.code_verifier or "", code or "")
        description = clean_for_display(
            _single(query, "error_description") or "", _DESCRIPTION_MAX_CHARS, hidden
        )
        said = f" TradeStation said: {description}" if description else ""
        if error == "access_denied":
            raise SignInCancelledError(
                f"You declined the sign-in, or it was not allowed.{said}"
            )
        error_code = clean_for_display(error, _ERROR_CODE_MAX_CHARS, hidden)
        raise SignInFailedError(
            f"The sign-in service reported an error ({error_code}).{said}",
            error_code,
        )

    if not state_ok:
        raise SignInFailedError(
            "The sign-in answer carries no state, so it cannot be trusted;"
            " please sign in again.",
            "state_mismatch",
        )
    if not code:
        raise SignInFailedError(
            "The sign-in answer carries no authorization code; please sign in again.",
            "missing_code",
        )
    return code
