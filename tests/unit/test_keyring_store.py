"""TokenStore on an in-memory keyring: round trips, the stored format, chunking
for size-limited keyrings, damaged data, and which backends it refuses."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import keyring.core
import pytest
from keyring.backends import chainer, fail, null
from keyring_store_fakes import (
    MemoryKeyring,
    SizeLimitedKeyring,
    sample_tokens,
    windows_like_keyring,
)

from tstray.storage import KeyringUnavailableError, StoredDataError, TokenStore
from tstray.storage.chunking import HEADER_MARKER, split_value
from tstray.storage.codec import encode_tokens
from tstray.storage.keyring_store import TOKENS_USERNAME, client_secret_username

_T = TypeVar("_T")
SERVICE = "tstray-unit"


def run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    return asyncio.run(coroutine)


@pytest.fixture
def backend() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def store(backend: MemoryKeyring) -> Any:
    token_store = TokenStore(SERVICE, backend=backend, timeout_s=10)
    yield token_store
    token_store.close()


def stored_json(backend: MemoryKeyring) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(backend.items[(SERVICE, TOKENS_USERNAME)])
    return result


# Round trips


def test_nothing_stored_loads_as_none(store: TokenStore) -> None:
    assert run(store.load_tokens()) is None
    assert run(store.load_client_secret("key-1")) is None


def test_tokens_round_trip_with_every_field(store: TokenStore) -> None:
    tokens = sample_tokens()

    run(store.save_tokens(tokens))

    assert run(store.load_tokens()) == tokens


def test_tokens_without_optional_fields_round_trip(store: TokenStore) -> None:
    tokens = sample_tokens(
        refresh_token=None,
        account=None,
        signed_in_at=None,
        refresh_token_rotates=False,
        refresh_token_expires_at=None,
        scope="",
    )

    run(store.save_tokens(tokens))

    assert run(store.load_tokens()) == tokens


def test_saving_replaces_the_previous_tokens(store: TokenStore) -> None:
    run(store.save_tokens(sample_tokens()))
    newer = sample_tokens()

    run(store.save_tokens(newer))

    assert run(store.load_tokens()) == newer


def test_delete_tokens_forgets_them_and_tolerates_nothing_stored(
    store: TokenStore, backend: MemoryKeyring
) -> None:
    run(store.save_tokens(sample_tokens()))

    run(store.delete_tokens())
    run(store.delete_tokens())

    assert run(store.load_tokens()) is None
    assert backend.usernames(SERVICE) == []


def test_client_secrets_are_kept_per_client_id(store: TokenStore) -> None:
    run(store.save_client_secret("key-1", "secret-one"))
    run(store.save_client_secret("key-2", "secret-two"))

    assert run(store.load_client_secret("key-1")) == "secret-one"
    assert run(store.load_client_secret("key-2")) == "secret-two"

    run(store.delete_client_secret("key-1"))
    run(store.delete_client_secret("key-1"))

    assert run(store.load_client_secret("key-1")) is None
    assert run(store.load_client_secret("key-2")) == "secret-two"


def test_items_use_the_documented_usernames(
    store: TokenStore, backend: MemoryKeyring
) -> None:
    run(store.save_tokens(sample_tokens()))
    run(store.save_client_secret("key-1", "secret-one"))

    assert backend.usernames(SERVICE) == sorted(
        [TOKENS_USERNAME, client_secret_username("key-1")]
    )
    assert client_secret_username("key-1") == "client-secret:key-1"


def test_real_and_demo_services_never_mix(backend: MemoryKeyring) -> None:
    real = TokenStore("tstray", backend=backend)
    demo = TokenStore("tstray-demo", backend=backend)
    try:
        real_tokens, demo_tokens = sample_tokens(), sample_tokens()
        run(real.save_tokens(real_tokens))
        run(demo.save_tokens(demo_tokens))
        run(demo.delete_client_secret("key-1"))

        assert run(real.load_tokens()) == real_tokens
        assert run(demo.load_tokens()) == demo_tokens

        run(demo.delete_tokens())
        assert run(real.load_tokens()) == real_tokens
    finally:
        real.close()
        demo.close()


def test_empty_arguments_are_refused(store: TokenStore) -> None:
    with pytest.raises(ValueError):
        TokenStore("")
    with pytest.raises(ValueError):
        TokenStore(SERVICE, max_value_len=10)
    with pytest.raises(ValueError):
        run(store.save_client_secret("", "secret"))
    with pytest.raises(ValueError):
        run(store.save_client_secret("key-1", ""))
    with pytest.raises(ValueError):
        run(store.save_tokens(sample_tokens(expires_at=datetime(2026, 1, 1))))


# The stored format


def test_tokens_are_stored_as_format_1_json_with_utc_times(
    store: TokenStore, backend: MemoryKeyring
) -> None:
    berlin = timezone(timedelta(hours=1))
    tokens = sample_tokens(expires_at=datetime(2026, 12, 4, 10, 50, tzinfo=berlin))

    run(store.save_tokens(tokens))

    document = stored_json(backend)
    assert document["format"] == 1
    assert document["expires_at"] == "2026-12-04T09:50:00+00:00"
    assert document["access_token"] == tokens.access_token
    assert document["refresh_token"] == tokens.refresh_token
    loaded = run(store.load_tokens())
    assert loaded is not None and loaded.expires_at.tzinfo == UTC


@pytest.mark.parametrize(
    ("stored", "says"),
    [
        ("not json {", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"access_token": "a"}', "no format version"),
        ('{"format": 2, "access_token": "a"}', "format 2"),
        (
            '{"format": 1, "refresh_token": null,'
            ' "expires_at": "2026-01-01T00:00:00+00:00"}',
            "access_token is missing",
        ),
        (
            '{"format": 1, "access_token": "a",'
            ' "expires_at": "2026-01-01T00:00:00+00:00"}',
            "refresh_token is missing",
        ),
        (
            '{"format": 1, "access_token": "a", "refresh_token": null}',
            "expires_at is missing",
        ),
        (
            '{"format": 1, "access_token": "a", "refresh_token": null,'
            ' "expires_at": "soon"}',
            "not an ISO 8601 time",
        ),
        (
            '{"format": 1, "access_token": "a", "refresh_token": null,'
            ' "expires_at": "2026-01-01T00:00:00"}',
            "no time zone",
        ),
        (
            '{"format": 1, "access_token": 5, "refresh_token": null,'
            ' "expires_at": "2026-01-01T00:00:00+00:00"}',
            "access_token is not text",
        ),
    ],
)
def test_damaged_or_unknown_tokens_raise_stored_data_error_and_stay(
    store: TokenStore, backend: MemoryKeyring, stored: str, says: str
) -> None:
    backend.items[(SERVICE, TOKENS_USERNAME)] = stored

    with pytest.raises(StoredDataError) as raised:
        run(store.load_tokens())

    assert says in raised.value.reason
    assert "sign in again" in raised.value.reason
    # Never deleted automatically: the user decides.
    assert backend.items[(SERVICE, TOKENS_USERNAME)] == stored
    assert ("delete", TOKENS_USERNAME) not in backend.calls


# Chunking for size-limited keyrings


def test_long_tokens_are_split_and_every_item_fits(backend: MemoryKeyring) -> None:
    store = TokenStore(SERVICE, backend=backend, max_value_len=200)
    tokens = sample_tokens(access_len=1500)
    try:
        run(store.save_tokens(tokens))

        names = backend.usernames(SERVICE)
        assert len(names) > 5
        assert set(names) == {TOKENS_USERNAME} | {
            f"{TOKENS_USERNAME}.{index}" for index in range(1, len(names))
        }
        assert all(len(value) <= 200 for value in backend.items.values())
        assert tokens.access_token not in "".join(backend.items.values())
        assert run(store.load_tokens()) == tokens
    finally:
        store.close()


def test_pieces_are_written_before_the_head(backend: MemoryKeyring) -> None:
    store = TokenStore(SERVICE, backend=backend, max_value_len=200)
    try:
        run(store.save_tokens(sample_tokens(access_len=1500)))
    finally:
        store.close()

    writes = [username for operation, username in backend.calls if operation == "set"]
    assert writes[-1] == TOKENS_USERNAME
    assert writes.count(TOKENS_USERNAME) == 1


def test_windows_backend_is_split_by_default() -> None:
    backend = windows_like_keyring(limit=1280)
    store = TokenStore(SERVICE, backend=backend)
    tokens = sample_tokens(access_len=3000)
    try:
        run(store.save_tokens(tokens))

        assert len(backend.usernames(SERVICE)) > 2
        assert 0 < backend.longest_stored <= 1200
        assert run(store.load_tokens()) == tokens
    finally:
        store.close()


def test_other_backends_keep_one_item_by_default(
    store: TokenStore, backend: MemoryKeyring
) -> None:
    run(store.save_tokens(sample_tokens(access_len=3000)))

    assert backend.usernames(SERVICE) == [TOKENS_USERNAME]


def test_non_ascii_values_are_split_within_utf16_limits(backend: MemoryKeyring) -> None:
    store = TokenStore(SERVICE, backend=backend, max_value_len=64)
    secret = "𝄞é" * 100  # the clef takes two UTF-16 units
    try:
        run(store.save_client_secret("key-1", secret))

        for value in backend.items.values():
            assert len(value.encode("utf-16-le")) // 2 <= 64
        assert run(store.load_client_secret("key-1")) == secret
    finally:
        store.close()


@pytest.mark.parametrize(
    "first_len, second_len", [(3000, 1000), (3000, 50), (50, 3000)]
)
def test_a_new_value_leaves_no_pieces_of_the_old_one(
    backend: MemoryKeyring, first_len: int, second_len: int
) -> None:
    store = TokenStore(SERVICE, backend=backend, max_value_len=300)
    second = sample_tokens(access_len=second_len)
    try:
        run(store.save_tokens(sample_tokens(access_len=first_len)))
        run(store.save_tokens(second))

        expected = len(split_value(encode_tokens(second), 300))
        assert len(backend.usernames(SERVICE)) == expected
        assert run(store.load_tokens()) == second

        run(store.delete_tokens())
        assert backend.usernames(SERVICE) == []
    finally:
        store.close()


def test_a_missing_piece_reads_as_half_written(backend: MemoryKeyring) -> None:
    store = TokenStore(SERVICE, backend=backend, max_value_len=200)
    try:
        run(store.save_tokens(sample_tokens(access_len=1500)))
        del backend.items[(SERVICE, f"{TOKENS_USERNAME}.3")]

        with pytest.raises(StoredDataError) as raised:
            run(store.load_tokens())

        assert "half-written" in raised.value.reason
        assert "sign in again" in raised.value.reason
    finally:
        store.close()


def test_pieces_of_two_values_are_not_misread(backend: MemoryKeyring) -> None:
    """A crash after writing new pieces but before the new head."""
    store = TokenStore(SERVICE, backend=backend, max_value_len=200)
    try:
        run(store.save_tokens(sample_tokens(access_len=1500)))
        old_head = backend.items[(SERVICE, TOKENS_USERNAME)]
        run(store.save_tokens(sample_tokens(access_len=1500)))
        backend.items[(SERVICE, TOKENS_USERNAME)] = old_head

        with pytest.raises(StoredDataError, match="do not match"):
            run(store.load_tokens())
    finally:
        store.close()


def test_an_unreadable_header_is_damage(
    store: TokenStore, backend: MemoryKeyring
) -> None:
    backend.items[(SERVICE, TOKENS_USERNAME)] = HEADER_MARKER + "many:abc:rest"

    with pytest.raises(StoredDataError, match="unreadable header"):
        run(store.load_tokens())


def test_a_short_value_that_looks_like_a_header_round_trips(store: TokenStore) -> None:
    secret = HEADER_MARKER + "0002:0123456789abcdef:xyz"

    run(store.save_client_secret("key-1", secret))

    assert run(store.load_client_secret("key-1")) == secret


# Which backends the store accepts


def test_without_a_backend_the_default_keyring_is_used(
    backend: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    store = TokenStore(SERVICE)
    try:
        run(store.save_client_secret("key-1", "secret-one"))
    finally:
        store.close()

    assert backend.items == {(SERVICE, "client-secret:key-1"): "secret-one"}
    # Looked up and called on the store's thread, never the event loop's.
    assert threading.get_ident() not in backend.call_threads


class PlaintextKeyring(MemoryKeyring):
    pass


PlaintextKeyring.__module__ = "keyrings.alt.file"


@pytest.mark.parametrize(
    ("make_backend", "says"),
    [
        (fail.Keyring, "No system keyring"),
        (null.Keyring, "not the system keyring"),
        (PlaintextKeyring, "not the system keyring"),
    ],
)
def test_backends_that_are_not_an_os_keyring_are_refused(
    make_backend: Any, says: str
) -> None:
    unsafe = make_backend()
    store = TokenStore(SERVICE, backend=unsafe)
    try:
        with pytest.raises(KeyringUnavailableError) as raised:
            run(store.save_tokens(sample_tokens()))
        with pytest.raises(KeyringUnavailableError):
            run(store.load_tokens())
    finally:
        store.close()

    assert says in raised.value.reason
    if isinstance(unsafe, MemoryKeyring):
        assert unsafe.calls == []


def test_a_chain_with_a_file_backend_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plaintext = PlaintextKeyring()
    monkeypatch.setattr(
        chainer.ChainerBackend, "backends", [MemoryKeyring(), plaintext]
    )
    store = TokenStore(SERVICE, backend=chainer.ChainerBackend())
    try:
        with pytest.raises(
            KeyringUnavailableError, match=re.escape("keyrings.alt.file")
        ):
            run(store.save_tokens(sample_tokens()))
    finally:
        store.close()
    assert plaintext.calls == []


def test_a_chain_of_real_keyrings_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = MemoryKeyring(), windows_like_keyring(limit=1280)
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [first, second])
    store = TokenStore(SERVICE, backend=chainer.ChainerBackend())
    tokens = sample_tokens(access_len=3000)
    try:
        run(store.save_tokens(tokens))
        assert run(store.load_tokens()) == tokens
    finally:
        store.close()
    # A Windows member anywhere in the chain means the Windows size limit.
    assert all(len(value) <= 1200 for value in first.items.values())


def test_size_limited_keyring_without_chunking_reports_refusal() -> None:
    backend = SizeLimitedKeyring(limit=500)
    store = TokenStore(SERVICE, backend=backend)
    tokens = sample_tokens(access_len=1000)
    try:
        with pytest.raises(KeyringUnavailableError) as raised:
            run(store.save_tokens(tokens))
    finally:
        store.close()

    assert "refused to save the tokens" in raised.value.reason
    assert tokens.access_token not in str(raised.value)
