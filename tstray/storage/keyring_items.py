"""The keyring items of one service, as the store's worker thread sees them,
and the check that a keyring backend really is the OS keyring.

``KeyringItems`` is the only code that calls the keyring library. It runs
only on the store's worker thread. Two things make a replaced (abandoned)
worker thread harmless:

- before every call it checks that it still runs on the current worker
  thread, so an abandoned job stops after the call it was stuck in;
- that one stuck call may still land after newer writes. Every write first
  records the value it intends for its item; a write that lands in an
  abandoned thread compares its value with the newest intent and, when a
  newer one exists, queues a job that writes the newest value again.

This module never logs or raises a value; it logs only item names and reasons.
"""

from __future__ import annotations

import logging
import threading

from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend
from keyring.backends.fail import Keyring as FailKeyring

from tstray.storage.errors import (
    KeyringUnavailableError,
    no_keyring_error,
    unavailable_from,
)
from tstray.storage.worker import AbandonedCallError, SerialWorker, WorkerClosedError

_log = logging.getLogger(__name__)

# Windows Credential Manager refuses values over 2,560 bytes of UTF-16 (1,280
# units); staying well below leaves room for whatever the API adds.
WINDOWS_MAX_VALUE_LEN = 1200

# Backends that keep secrets in a file (plain or with a password tstray would
# have to ask for), or nowhere at all. tstray never falls back to a file.
_NOT_OS_KEYRING_MODULES = (
    "keyrings.alt",
    "keyrings.cryptfile",
    "keyring.backends.null",
    "keyring.backends.fail",
)


def _backend_name(backend: KeyringBackend) -> str:
    backend_type = type(backend)
    return f"{backend_type.__module__}.{backend_type.__qualname__}"


def _chained(backend: KeyringBackend) -> list[KeyringBackend]:
    if isinstance(backend, ChainerBackend):
        return list(backend.backends)
    return [backend]


def _is_os_keyring(backend: KeyringBackend) -> bool:
    backend_type = type(backend)
    if backend_type.__module__.startswith(_NOT_OS_KEYRING_MODULES):
        return False
    return "plaintext" not in backend_type.__name__.lower()


def check_backend(backend: KeyringBackend) -> None:
    """Refuses a backend that is not a real OS keyring.

    A chainer (several backends at once) passes only when it chains at least
    one backend and every one of them is a real keyring.

    Raises:
        KeyringUnavailableError: the backend fails every call, stores nothing
            or stores in a file.
    """
    chained = _chained(backend)
    if isinstance(backend, FailKeyring) or not chained:
        raise no_keyring_error()
    for member in chained:
        if not _is_os_keyring(member):
            raise KeyringUnavailableError(
                f"The keyring backend {_backend_name(member)} is not the system "
                "keyring (it stores in a file, or nowhere): tstray keeps tokens "
                "only in the system keyring. Remove that backend from the keyring "
                "settings (keyringrc.cfg or PYTHON_KEYRING_BACKEND) and make sure "
                "GNOME Keyring or KWallet runs."
            )


def default_max_value_len(backend: KeyringBackend) -> int | None:
    """The longest value the backend takes in one item, if it has a limit."""
    for member in _chained(backend):
        if "Windows" in type(member).__module__:
            return WINDOWS_MAX_VALUE_LEN
    return None


class KeyringItems:
    """The items of one keyring service; used only on the store's worker."""

    def __init__(
        self,
        backend: KeyringBackend,
        service: str,
        worker: SerialWorker,
        timeout_s: float,
    ) -> None:
        self._backend = backend
        self._service = service
        self._worker = worker
        self._timeout_s = timeout_s
        self._intents: dict[str, str | None] = {}
        self._intents_lock = threading.Lock()

    def get(self, username: str) -> str | None:
        self._check_current()
        value = self._backend.get_password(self._service, username)
        return value if isinstance(value, str) else None

    def set(self, username: str, value: str) -> None:
        self._check_current()
        self._intend(username, value)
        self._backend.set_password(self._service, username, value)
        self._after_write(username, value)

    def delete(self, username: str) -> bool:
        self._check_current()

        # Recorded even when nothing is there, so that a late write from an
        # abandoned thread is seen to be out of date and gets removed.
        self._intend(username, None)
        if self._backend.get_password(self._service, username) is None:
            return False
        self._backend.delete_password(self._service, username)
        self._after_write(username, None)
        return True

    def _check_current(self) -> None:
        if self._worker.in_abandoned_thread():
            raise AbandonedCallError

    def _intend(self, username: str, value: str | None) -> None:
        with self._intents_lock:
            self._intents[username] = value

    def _after_write(self, username: str, value: str | None) -> None:
        if not self._worker.in_abandoned_thread():
            return
        with self._intents_lock:
            out_of_date = self._intents.get(username) != value
        if not out_of_date:
            return

        _log.warning(
            "A keyring call that timed out has finished late; rewriting item %r "
            "of service %r with its newest value",
            username,
            self._service,
        )
        try:
            self._worker.submit_in_background(
                lambda: self._rewrite(username), self._timeout_s
            )
        except WorkerClosedError:
            _log.warning(
                "Could not rewrite item %r of service %r: the store is closed",
                username,
                self._service,
            )

    def _rewrite(self, username: str) -> None:
        with self._intents_lock:
            newest = self._intents.get(username)
        try:
            if newest is None:
                self.delete(username)
            else:
                self.set(username, newest)
        except Exception as exc:
            reason = unavailable_from(exc, "rewrite an item").reason
            _log.warning(
                "Could not rewrite item %r of service %r: %s",
                username,
                self._service,
                reason,
            )
