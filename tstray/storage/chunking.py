"""Stores a value that is too long for one keyring item as several items.

Windows Credential Manager refuses values over about 2,560 bytes of UTF-16,
and TradeStation's tokens are long JWTs. A long value is cut into pieces kept
under ``name``, ``name.1``, ``name.2`` and so on. The first item (the head)
starts with a small header giving the number of pieces and a checksum of the
whole value, so a set left half-written by a crash reads as damaged instead of
as a wrong token. Pieces are written before the head and pieces left over from
a longer value are deleted after it, so the head always describes a complete
set when it lands.

This module only arranges items; it never logs, and its errors never quote a
value or a piece of one.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

HEADER_MARKER = "tstray-chunked:"
MAX_PIECES = 9999
_DIGEST_LEN = 16
# Marker, 4-digit count, ":", digest, ":": fixed, so the head's room is known.
HEADER_LEN = len(HEADER_MARKER) + 4 + 1 + _DIGEST_LEN + 1
MIN_VALUE_LEN = HEADER_LEN + 27


class ItemSlots(Protocol):
    """Blocking access to one keyring service's items, by username."""

    def get(self, username: str) -> str | None:
        """Returns the item's value, or ``None`` when there is none."""

    def set(self, username: str, value: str) -> None:
        """Creates or replaces the item."""

    def delete(self, username: str) -> bool:
        """Deletes the item if present; returns whether there was one."""


class DamagedValueError(Exception):
    """The stored items do not form a whole value.

    Attributes:
        detail: what is wrong, in a few words, without any stored text.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def piece_name(username: str, index: int) -> str:
    """The username of piece ``index`` (1-based; the head is piece 0)."""
    return f"{username}.{index}"


def utf16_len(text: str) -> int:
    """The length that UTF-16 keyrings (Windows) count: characters beyond the
    Basic Multilingual Plane take two units."""
    return len(text.encode("utf-16-le")) // 2


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:_DIGEST_LEN]


def _cut(text: str, room: int) -> tuple[str, str]:
    """Splits off the longest start of ``text`` that fits ``room`` units."""
    if text.isascii():
        return text[:room], text[room:]
    used = 0
    for position, character in enumerate(text):
        used += utf16_len(character)
        if used > room:
            return text[:position], text[position:]
    return text, ""


def split_value(value: str, max_len: int | None) -> list[str]:
    """Returns the items that store ``value``, head first.

    A value that fits stays one plain item, unless it happens to start like a
    header: then it is wrapped too, so that reading it back is never ambiguous.

    Raises:
        ValueError: ``max_len`` is below ``MIN_VALUE_LEN``, or the value would
            need more than ``MAX_PIECES`` items.
    """
    if max_len is not None and max_len < MIN_VALUE_LEN:
        raise ValueError(f"max_value_len must be at least {MIN_VALUE_LEN}")
    fits = max_len is None or utf16_len(value) <= max_len
    if fits and not value.startswith(HEADER_MARKER):
        return [value]
    room = max_len if max_len is not None else utf16_len(value) + HEADER_LEN

    first, rest = _cut(value, room - HEADER_LEN)
    pieces = [first]
    while rest:
        piece, rest = _cut(rest, room)
        pieces.append(piece)
    if len(pieces) > MAX_PIECES:
        raise ValueError("the value is too long to store")

    header = f"{HEADER_MARKER}{len(pieces):04d}:{_digest(value)}:"
    return [header + pieces[0], *pieces[1:]]


def _parse_head(head: str) -> tuple[int, str, str]:
    """Returns (piece count, digest, first piece) of a chunked head."""
    count_text, _, rest = head[len(HEADER_MARKER) :].partition(":")
    digest, separator, first = rest.partition(":")
    if not (count_text.isdigit() and len(count_text) == 4) or not separator:
        raise DamagedValueError("unreadable header")
    count = int(count_text)
    if count < 1 or len(digest) != _DIGEST_LEN:
        raise DamagedValueError("unreadable header")
    return count, digest, first


def stored_piece_count(head: str | None) -> int:
    """How many items the value headed by ``head`` claims (1 if unchunked)."""
    if head is None or not head.startswith(HEADER_MARKER):
        return 1
    try:
        return _parse_head(head)[0]
    except DamagedValueError:
        return 1


def read_value(slots: ItemSlots, username: str) -> str | None:
    """Reads a value written by ``write_value``; ``None`` when none is stored.

    Raises:
        DamagedValueError: a piece is missing or the checksum does not match.
    """
    head = slots.get(username)
    if head is None or not head.startswith(HEADER_MARKER):
        return head

    count, digest, first = _parse_head(head)
    pieces = [first]
    for index in range(1, count):
        piece = slots.get(piece_name(username, index))
        if piece is None:
            raise DamagedValueError(
                f"half-written: part {index + 1} of {count} is missing"
            )
        pieces.append(piece)

    value = "".join(pieces)
    if _digest(value) != digest:
        raise DamagedValueError(f"half-written: the {count} parts do not match")
    return value


def _delete_pieces(slots: ItemSlots, username: str, start: int, known: int) -> None:
    """Deletes pieces from ``start`` on: every one below ``known``, then any
    further ones until the first missing."""
    index = start
    while True:
        removed = slots.delete(piece_name(username, index))
        if not removed and index >= known:
            return
        index += 1


def write_value(
    slots: ItemSlots, username: str, value: str, max_len: int | None
) -> None:
    """Stores ``value`` under ``username``, split when longer than ``max_len``.

    Raises:
        ValueError: as ``split_value``.
    """
    items = split_value(value, max_len)
    previous_count = stored_piece_count(slots.get(username))

    # Pieces first, head last: until the head lands, a reader sees the old
    # head, whose checksum will not match a mix of old and new pieces.
    for index in range(1, len(items)):
        slots.set(piece_name(username, index), items[index])
    slots.set(username, items[0])

    _delete_pieces(slots, username, len(items), previous_count)


def delete_value(slots: ItemSlots, username: str) -> None:
    """Deletes the value and all its pieces; nothing stored is not an error."""
    head = slots.get(username)
    previous_count = stored_piece_count(head)

    # Head first: once it is gone the remaining pieces mean nothing.
    if head is not None:
        slots.delete(username)
    _delete_pieces(slots, username, 1, previous_count)
