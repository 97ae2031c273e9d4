"""Turns a ``TokenSet`` into the text stored in the keyring, and back.

The text is JSON with a ``"format": 1`` field and every time in ISO 8601 UTC,
so a later tstray can read what this one wrote and refuse, with a clear
message, what it does not understand. Decoding never guesses: anything
missing, mistyped or from an unknown format is a ``StoredDataError``, and the
error never quotes the stored text (it holds the tokens).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tstray.oauth.tokens import TokenSet
from tstray.storage.errors import StoredDataError

FORMAT_VERSION = 1

_FIX = "sign in again to replace them"


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        # A naive time would be read back in the wrong zone: refuse it early.
        raise ValueError("token times must be timezone-aware")
    return moment.astimezone(UTC).isoformat()


def _optional_utc_text(moment: datetime | None) -> str | None:
    return None if moment is None else _utc_text(moment)


def encode_tokens(tokens: TokenSet) -> str:
    """Returns the stored form of ``tokens``.

    The JSON is ASCII only (``ensure_ascii``), so its length in characters is
    also its length in UTF-16 units, which is what size-limited keyrings count.

    Raises:
        ValueError: a time in ``tokens`` has no time zone.
    """
    document = {
        "format": FORMAT_VERSION,
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_at": _utc_text(tokens.expires_at),
        "scope": tokens.scope,
        "account": tokens.account,
        "signed_in_at": _optional_utc_text(tokens.signed_in_at),
        "refresh_token_rotates": tokens.refresh_token_rotates,
        "refresh_token_expires_at": _optional_utc_text(tokens.refresh_token_expires_at),
    }
    return json.dumps(document, ensure_ascii=True, separators=(",", ":"))


def _damaged(what: str) -> StoredDataError:
    return StoredDataError(f"The tokens in the keyring are damaged ({what}): {_FIX}.")


def _required_text(document: dict[str, Any], key: str) -> str:
    if key not in document:
        raise _damaged(f"{key} is missing")
    value = document[key]
    if not isinstance(value, str):
        raise _damaged(f"{key} is not text")
    return value


def _optional_text(document: dict[str, Any], key: str) -> str | None:
    if document.get(key) is None:
        return None
    return _required_text(document, key)


def _parse_time(key: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _damaged(f"{key} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise _damaged(f"{key} has no time zone")
    return moment.astimezone(UTC)


def _optional_time(document: dict[str, Any], key: str) -> datetime | None:
    text = _optional_text(document, key)
    return None if text is None else _parse_time(key, text)


def _check_format(document: dict[str, Any]) -> None:
    version = document.get("format")
    if isinstance(version, bool) or not isinstance(version, int):
        raise _damaged("no format version")
    if version != FORMAT_VERSION:
        # A huge number would not even format; it is damage, not a version.
        shown = str(version) if 0 < version < 1_000_000 else "unknown"
        raise StoredDataError(
            f"The tokens in the keyring were written in format {shown}, which "
            f"this tstray (format {FORMAT_VERSION}) cannot read: update tstray, "
            f"or {_FIX}."
        )


def decode_tokens(stored: str) -> TokenSet:
    """Reads a ``TokenSet`` back from its stored form.

    Raises:
        StoredDataError: the text is not JSON, not format 1, or lacks a field.
    """
    try:
        document = json.loads(stored)
    except ValueError:
        # The decoder's message can quote the text; drop it.
        raise _damaged("not JSON") from None
    if not isinstance(document, dict):
        raise _damaged("not a JSON object")
    _check_format(document)

    access_token = _required_text(document, "access_token")
    if not access_token:
        raise _damaged("access_token is empty")
    if "refresh_token" not in document:
        raise _damaged("refresh_token is missing")
    refresh_token = _optional_text(document, "refresh_token")
    expires_at = _parse_time("expires_at", _required_text(document, "expires_at"))

    rotates = document.get("refresh_token_rotates", False)
    if not isinstance(rotates, bool):
        raise _damaged("refresh_token_rotates is not true or false")

    return TokenSet(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_at=expires_at,
        scope=_optional_text(document, "scope") or "",
        account=_optional_text(document, "account"),
        signed_in_at=_optional_time(document, "signed_in_at"),
        refresh_token_rotates=rotates,
        refresh_token_expires_at=_optional_time(document, "refresh_token_expires_at"),
    )
