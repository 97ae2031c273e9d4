"""TokenStore when the keyring misbehaves (faults injected on purpose): errors
in words, a keyring that hangs, writes that must keep their order, logs that
never show a token, and closing."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from keyring import errors as keyring_errors
from keyring_store_fakes import Hang, MemoryKeyring, raising, sample_tokens

from tstray.oauth.tokens import TokenSet
from tstray.storage import (
    KeyringUnavailableError,
    StoredDataError,
    StoreError,
    TokenStore,
)
from tstray.storage.codec import encode_tokens
from tstray.storage.keyring_store import TOKENS_USERNAME

_T = TypeVar("_T")
SERVICE = "tstray-unit"


def run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    return asyncio.run(coroutine)


@pytest.fixture
def hangs() -> Iterator[list[Hang]]:
    """Hang faults to release at the end, so no test thread stays blocked."""
    created: list[Hang] = []
    yield created
    for hang in created:
        hang.release()


class DBusCallError(Exception):
    """Stands for jeepney's error reply to a failed D-Bus call."""


class SecretServiceNotAvailableError(Exception):
    pass


# secretstorage's real class name, which the store recognises by name.
SecretServiceNotAvailableError.__name__ = "SecretServiceNotAvailableException"


class SecretStorageLockedError(Exception):
    pass


# secretstorage's locked-collection error, also recognised by name.
SecretStorageLockedError.__name__ = "LockedException"


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (
            keyring_errors.KeyringLocked("Failed to unlock the collection!"),
            "is locked: unlock it",
        ),
        (SecretStorageLockedError("locked"), "is locked: unlock it"),
        (keyring_errors.NoKeyringError("none"), "No system keyring is available"),
        (keyring_errors.InitError("no collection"), "could not be opened"),
        (keyring_errors.PasswordSetError("refused"), "refused to save the tokens"),
        (
            keyring_errors.KeyringError("odd"),
            "failed to save the tokens (KeyringError)",
        ),
        (SecretServiceNotAvailableError("no bus"), "could not be reached"),
        (
            ConnectionRefusedError("socket"),
            "could not be reached (ConnectionRefusedError)",
        ),
        (DBusCallError("org.freedesktop.DBus.Error"), "failed to save the tokens"),
    ],
)
def test_keyring_errors_become_unavailable_with_a_fix_and_the_cause(
    error: Exception, says: str
) -> None:
    store = TokenStore(SERVICE, backend=MemoryKeyring(fault=raising(error)))
    try:
        with pytest.raises(KeyringUnavailableError) as raised:
            run(store.save_tokens(sample_tokens()))
    finally:
        store.close()

    assert says in raised.value.reason
    assert raised.value.__cause__ is error
    assert raised.value.reason.endswith(".")


def test_a_delete_refused_by_the_keyring_is_reported() -> None:
    backend = MemoryKeyring()
    store = TokenStore(SERVICE, backend=backend)
    try:
        run(store.save_tokens(sample_tokens()))
        backend.fault = raising(keyring_errors.PasswordDeleteError("no"), "delete")

        with pytest.raises(
            KeyringUnavailableError, match="refused to delete the tokens"
        ):
            run(store.delete_tokens())
    finally:
        store.close()


def test_a_locked_keyring_fails_loads_and_works_once_unlocked() -> None:
    backend = MemoryKeyring(fault=raising(keyring_errors.KeyringLocked("locked")))
    store = TokenStore(SERVICE, backend=backend)
    tokens = sample_tokens()
    try:
        with pytest.raises(KeyringUnavailableError, match="locked"):
            run(store.load_tokens())

        backend.fault = None
        run(store.save_tokens(tokens))
        assert run(store.load_tokens()) == tokens
    finally:
        store.close()


# A keyring that does not answer


def test_a_hung_call_times_out_and_later_calls_still_work(hangs: list[Hang]) -> None:
    hang = Hang("get")
    hangs.append(hang)
    backend = MemoryKeyring(fault=hang)
    store = TokenStore(SERVICE, backend=backend, timeout_s=1)
    tokens = sample_tokens()
    try:
        with pytest.raises(KeyringUnavailableError) as raised:
            run(store.load_tokens())
        assert hang.entered.is_set()
        assert "did not answer in 1 s" in raised.value.reason

        # The stuck thread is still blocked; a fresh one serves these.
        run(store.save_tokens(tokens))
        assert run(store.load_tokens()) == tokens
    finally:
        store.close()


def test_calls_queued_behind_a_hung_one_move_to_a_fresh_thread(
    hangs: list[Hang],
) -> None:
    hang = Hang("get", username="client-secret:stuck")
    hangs.append(hang)
    backend = MemoryKeyring(fault=hang)
    store = TokenStore(SERVICE, backend=backend, timeout_s=2)
    tokens = sample_tokens()

    async def scenario() -> tuple[object, TokenSet | None]:
        stuck = asyncio.create_task(store.load_client_secret("stuck"))
        await asyncio.get_running_loop().run_in_executor(None, hang.entered.wait, 10)
        await store.save_tokens(tokens)
        results = await asyncio.gather(stuck, return_exceptions=True)
        return results[0], await store.load_tokens()

    try:
        stuck_result, loaded = run(scenario())
    finally:
        store.close()

    assert isinstance(stuck_result, KeyringUnavailableError)
    assert loaded == tokens


def test_the_event_loop_keeps_running_while_the_keyring_hangs(
    hangs: list[Hang],
) -> None:
    hang = Hang("get")
    hangs.append(hang)
    store = TokenStore(SERVICE, backend=MemoryKeyring(fault=hang), timeout_s=5)

    async def scenario() -> int:
        load = asyncio.create_task(store.load_tokens())
        ticks = 0
        while not hang.entered.is_set() or ticks < 20:
            await asyncio.sleep(0.01)
            ticks += 1
        assert not load.done()
        hang.release()
        await load
        return ticks

    try:
        assert run(scenario()) >= 20
    finally:
        store.close()


def test_a_late_write_from_a_timed_out_call_is_overwritten_with_the_newest(
    hangs: list[Hang],
) -> None:
    """A save that timed out may still land after a newer save: the rotated
    refresh token in the newer one must win."""
    hang = Hang("set", username=TOKENS_USERNAME)
    hangs.append(hang)
    backend = MemoryKeyring(fault=hang)
    store = TokenStore(SERVICE, backend=backend, timeout_s=1)
    older, newer = sample_tokens(), sample_tokens()
    try:
        with pytest.raises(KeyringUnavailableError):
            run(store.save_tokens(older))
        run(store.save_tokens(newer))
        assert run(store.load_tokens()) == newer

        hang.release()

        older_head = encode_tokens(older)
        newer_head = encode_tokens(newer)
        expected = [(TOKENS_USERNAME, newer_head), (TOKENS_USERNAME, older_head)]
        # older lands late, after newer; then the store writes newer again.
        assert backend.wait_for(lambda: backend.landed[:2] == expected)
        assert backend.wait_for(lambda: len(backend.landed) == 3)
        assert backend.landed[2] == (TOKENS_USERNAME, newer_head)
        assert run(store.load_tokens()) == newer
    finally:
        store.close()


def test_a_timed_out_save_makes_no_further_call_once_its_stuck_call_returns(
    hangs: list[Hang],
) -> None:
    hang = Hang("set", username=f"{TOKENS_USERNAME}.1")
    hangs.append(hang)
    backend = MemoryKeyring(fault=hang)
    service = "tstray-unit-stuck-piece"
    store = TokenStore(service, backend=backend, timeout_s=1, max_value_len=200)
    try:
        with pytest.raises(KeyringUnavailableError):
            run(store.save_tokens(sample_tokens(access_len=1500)))
        stuck = [
            thread
            for thread in threading.enumerate()
            if thread.name == f"tstray-keyring-{service}-1"
        ]
        assert len(stuck) == 1

        hang.release()
        stuck[0].join(timeout=10)

        assert not stuck[0].is_alive()
        # The stuck piece landed; no other piece and no head followed it.
        assert [username for username, _ in backend.landed] == [f"{TOKENS_USERNAME}.1"]
    finally:
        store.close()


def test_concurrent_saves_land_in_call_order_on_one_thread() -> None:
    backend = MemoryKeyring()
    store = TokenStore(SERVICE, backend=backend)
    versions = [sample_tokens(access_len=100) for _ in range(20)]

    async def scenario() -> Any:
        await asyncio.gather(*(store.save_tokens(tokens) for tokens in versions))
        return await store.load_tokens()

    try:
        assert run(scenario()) == versions[-1]
    finally:
        store.close()

    assert len(backend.call_threads) == 1
    assert threading.get_ident() not in backend.call_threads


# Logs and messages never show a value


def store_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name.startswith("tstray")]


def test_failures_log_one_line_with_the_reason_and_never_a_value(
    caplog: pytest.LogCaptureFixture, hangs: list[Hang]
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = sample_tokens()
    secret = "client-secret-value-9f8e7d"
    values = [tokens.access_token, str(tokens.refresh_token), secret]
    backend = MemoryKeyring()
    store = TokenStore(SERVICE, backend=backend, timeout_s=1, max_value_len=200)
    errors: list[StoreError] = []
    try:
        run(store.save_tokens(tokens))
        run(store.save_client_secret("key-1", secret))

        backend.fault = raising(keyring_errors.PasswordSetError("refused"))
        caplog.clear()
        with pytest.raises(StoreError) as raised:
            run(store.save_tokens(tokens))
        errors.append(raised.value)
        assert len(store_records(caplog)) == 1
        assert "Could not save the tokens" in caplog.text
        assert "refused to save the tokens" in caplog.text

        backend.fault = None
        backend.items[(SERVICE, f"{TOKENS_USERNAME}.2")] = "x"
        with pytest.raises(StoredDataError) as damaged:
            run(store.load_tokens())
        errors.append(damaged.value)

        hang = Hang("get")
        hangs.append(hang)
        backend.fault = hang
        with pytest.raises(KeyringUnavailableError) as slow:
            run(store.load_client_secret("key-1"))
        errors.append(slow.value)
    finally:
        store.close()

    assert len(store_records(caplog)) == 3
    for value in values:
        assert value not in caplog.text
        for error in errors:
            assert value not in str(error) and value not in repr(error)
    assert value not in repr(store)


# Closing


def test_close_runs_queued_calls_then_refuses_new_ones() -> None:
    backend = MemoryKeyring()
    store = TokenStore(SERVICE, backend=backend)
    tokens = sample_tokens()

    async def scenario() -> None:
        save = asyncio.create_task(store.save_tokens(tokens))
        await asyncio.sleep(0)  # the save is queued
        store.close()
        await save

    run(scenario())

    assert (SERVICE, TOKENS_USERNAME) in backend.items
    with pytest.raises(KeyringUnavailableError, match="closed"):
        run(store.load_tokens())
    for thread in threading.enumerate():
        if thread.name.startswith(f"tstray-keyring-{SERVICE}"):
            thread.join(timeout=10)
            assert not thread.is_alive()
