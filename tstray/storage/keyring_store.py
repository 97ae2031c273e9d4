"""TokenStore: the session's tokens and the client secret, kept in the OS
keyring and nowhere else.

Every keyring call runs on the store's own worker thread, one at a time and in
order, and is awaited with a time limit, so the GUI thread's event loop never
blocks on an unlock prompt or a hung D-Bus service. Real tokens and demo
tokens live under different keyring services ("tstray", "tstray-demo") and
never mix. The store never falls back to a file, never deletes what it cannot
read, and never logs, raises or ``repr``s a token or a secret.

    items of service S:  tokens            the TokenSet as JSON (format 1)
                         tokens.1, ...     further pieces, on size-limited keyrings
                         client-secret:ID  the client secret of API key ID
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from tstray.oauth.tokens import TokenSet
from tstray.storage import chunking
from tstray.storage.codec import decode_tokens, encode_tokens
from tstray.storage.errors import (
    KeyringUnavailableError,
    StoredDataError,
    StoreError,
    timed_out,
    unavailable_from,
)
from tstray.storage.tasks import run_store_task
from tstray.storage.worker import SerialWorker

if TYPE_CHECKING:
    # The keyring library is imported on the worker thread by the first call
    # (``_keyring_items``): finding the backend costs a tenth of a second,
    # which the tray icon and the local port need not wait for.
    from keyring.backend import KeyringBackend

    from tstray.storage.keyring_items import KeyringItems

__all__ = [
    "TOKENS_USERNAME",
    "KeyringUnavailableError",
    "StoreError",
    "StoredDataError",
    "TokenStore",
    "client_secret_username",
]

_T = TypeVar("_T")

TOKENS_USERNAME = "tokens"


def client_secret_username(client_id: str) -> str:
    """The keyring username under which the secret of ``client_id`` lives."""
    return f"client-secret:{client_id}"


class TokenStore:
    """Tokens and client secrets of one keyring service.

    Args:
        service: the keyring service name ("tstray", or "tstray-demo").
        backend: the keyring backend; ``None`` means ``keyring.get_keyring()``,
            looked up on the worker thread at the first call.
        timeout_s: how long one operation may take, counted from when the
            worker starts it, before it fails with ``KeyringUnavailableError``.
            An operation queued behind others waits for them first; each of
            them is bounded the same way.
        max_value_len: the longest value stored in one keyring item, in UTF-16
            units; longer values are split. ``None`` means 1200 on Windows
            Credential Manager and no limit elsewhere.

    Raises:
        ValueError: an empty service, a timeout that is not positive, or a
            ``max_value_len`` too small to hold a piece's header.
    """

    def __init__(
        self,
        service: str,
        *,
        backend: KeyringBackend | None = None,
        timeout_s: float = 10.0,
        max_value_len: int | None = None,
    ) -> None:
        if not service:
            raise ValueError("the keyring service name must not be empty")
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        if max_value_len is not None and max_value_len < chunking.MIN_VALUE_LEN:
            raise ValueError(f"max_value_len must be at least {chunking.MIN_VALUE_LEN}")

        self._service = service
        self._backend = backend
        self._timeout_s = timeout_s
        self._max_value_len = max_value_len
        self._items: KeyringItems | None = None
        self._items_lock = threading.Lock()
        self._worker = SerialWorker(f"tstray-keyring-{service}")

    def __repr__(self) -> str:
        return f"TokenStore(service={self._service!r})"

    @property
    def service(self) -> str:
        return self._service

    async def load_tokens(self) -> TokenSet | None:
        """Returns the stored tokens, or ``None`` when none are stored.

        Raises:
            KeyringUnavailableError: the keyring cannot be read now.
            StoredDataError: what is stored is damaged or of an unknown format;
                it is left in place.
        """

        def load(items: KeyringItems) -> TokenSet | None:
            stored = self._read(items, TOKENS_USERNAME, _TOKENS)
            return None if stored is None else decode_tokens(stored)

        return await self._run("load the tokens", load)

    async def save_tokens(self, tokens: TokenSet) -> None:
        """Stores ``tokens`` in place of any stored before.

        Raises:
            KeyringUnavailableError: the keyring cannot store them now.
            ValueError: a time in ``tokens`` has no time zone.
        """
        value = encode_tokens(tokens)
        await self._run(
            "save the tokens", lambda items: self._write(items, TOKENS_USERNAME, value)
        )

    async def delete_tokens(self) -> None:
        """Deletes the stored tokens; nothing stored is not an error.

        Raises:
            KeyringUnavailableError: the keyring cannot delete them now.
        """
        await self._run(
            "delete the tokens",
            lambda items: chunking.delete_value(items, TOKENS_USERNAME),
        )

    async def load_client_secret(self, client_id: str) -> str | None:
        """Returns the stored secret of ``client_id``, or ``None``.

        Raises:
            KeyringUnavailableError: the keyring cannot be read now.
            StoredDataError: the stored secret is half-written.
        """
        username = _secret_username(client_id)
        return await self._run(
            "load the client secret",
            lambda items: self._read(items, username, _CLIENT_SECRET),
        )

    async def save_client_secret(self, client_id: str, secret: str) -> None:
        """Stores the secret of ``client_id``.

        Raises:
            KeyringUnavailableError: the keyring cannot store it now.
            ValueError: an empty client id or secret.
        """
        username = _secret_username(client_id)
        if not secret:
            raise ValueError("the client secret must not be empty")
        await self._run(
            "save the client secret",
            lambda items: self._write(items, username, secret),
        )

    async def delete_client_secret(self, client_id: str) -> None:
        """Deletes the secret of ``client_id``; nothing stored is not an error.

        Raises:
            KeyringUnavailableError: the keyring cannot delete it now.
        """
        username = _secret_username(client_id)
        await self._run(
            "delete the client secret",
            lambda items: chunking.delete_value(items, username),
        )

    def close(self) -> None:
        """Stops the worker thread once the calls already queued have run.

        Later calls fail with ``KeyringUnavailableError``. Never blocks.
        """
        self._worker.close()

    async def _run(self, action: str, job: Callable[[KeyringItems], _T]) -> _T:
        """Runs ``job`` on the worker and turns every failure into a
        ``StoreError``, logged once with its reason."""
        return await run_store_task(
            self._worker,
            lambda: job(self._keyring_items()),
            service=self._service,
            action=action,
            timeout_s=self._timeout_s,
            timed_out=lambda: timed_out(action, self._timeout_s),
            error_for=unavailable_from,
        )

    def _keyring_items(self) -> KeyringItems:
        """The checked keyring items; runs on the worker thread only."""
        if self._items is not None:
            return self._items

        import keyring

        from tstray.storage.keyring_items import (
            KeyringItems,
            check_backend,
            default_max_value_len,
        )

        # Looking the backend up may itself talk to D-Bus, so it happens here
        # on the worker, under the same time limit as any other call.
        backend = self._backend if self._backend is not None else keyring.get_keyring()
        check_backend(backend)
        items = KeyringItems(backend, self._service, self._worker, self._timeout_s)

        # An abandoned thread may finish this lookup late; the first one wins,
        # so that every write shares one record of intended values.
        with self._items_lock:
            if self._items is None:
                if self._max_value_len is None:
                    self._max_value_len = default_max_value_len(backend)
                self._items = items
            return self._items

    def _read(self, items: KeyringItems, username: str, item: _Item) -> str | None:
        try:
            return chunking.read_value(items, username)
        except chunking.DamagedValueError as exc:
            raise item.damaged(exc.detail) from None

    def _write(self, items: KeyringItems, username: str, value: str) -> None:
        chunking.write_value(items, username, value, self._max_value_len)


class _Item:
    """How the user calls a stored item, for messages about damage."""

    def __init__(self, subject: str, fix: str) -> None:
        self._subject = subject
        self._fix = fix

    def damaged(self, detail: str) -> StoredDataError:
        return StoredDataError(
            f"{self._subject} in the keyring is damaged ({detail}): {self._fix}."
        )


_TOKENS = _Item("The copy of the tokens", "sign in again to replace it")
_CLIENT_SECRET = _Item("The client secret", "enter it again to replace it")


def _secret_username(client_id: str) -> str:
    if not client_id:
        raise ValueError("the client id must not be empty")
    return client_secret_username(client_id)
