"""In-memory keyring backends for the TokenStore unit tests, with faults
injected on purpose: a locked keyring, a call that hangs, a Windows-like size
limit. The real Secret Service is exercised in
tests/integration/test_keyring_secret_service.py; Windows Credential Manager
cannot run here.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from keyring import errors as keyring_errors
from keyring.backend import KeyringBackend
from keyring.compat import properties

from tstray.oauth.tokens import TokenSet

# (operation, service, username, value or None) -> None, or raises.
Fault = Callable[[str, str, str, str | None], None]


class MemoryKeyring(KeyringBackend):
    """A keyring held in a dict, recording every call and its thread."""

    @properties.classproperty
    def priority(cls) -> float:  # noqa: N805 -- a classproperty gets the class
        # Not viable: keyring's own discovery must never pick a test backend.
        raise RuntimeError("test backend")

    def __init__(self, fault: Fault | None = None) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}
        self.calls: list[tuple[str, str]] = []
        self.landed: list[tuple[str, str]] = []
        self.call_threads: set[int] = set()
        self.fault = fault
        self.changed = threading.Condition()

    def _enter(
        self, operation: str, service: str, username: str, value: str | None
    ) -> None:
        with self.changed:
            self.calls.append((operation, username))
            self.call_threads.add(threading.get_ident())
        if self.fault is not None:
            self.fault(operation, service, username, value)

    def get_password(self, service: str, username: str) -> str | None:
        self._enter("get", service, username, None)
        with self.changed:
            return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._enter("set", service, username, password)
        with self.changed:
            self.items[(service, username)] = password
            self.landed.append((username, password))
            self.changed.notify_all()

    def delete_password(self, service: str, username: str) -> None:
        self._enter("delete", service, username, None)
        with self.changed:
            if (service, username) not in self.items:
                raise keyring_errors.PasswordDeleteError("not found")
            del self.items[(service, username)]
            self.changed.notify_all()

    def usernames(self, service: str) -> list[str]:
        with self.changed:
            return sorted(user for (svc, user) in self.items if svc == service)

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(condition, timeout_s)


class SizeLimitedKeyring(MemoryKeyring):
    """Refuses values longer than ``limit`` characters, as Windows does."""

    def __init__(self, limit: int = 1280) -> None:
        super().__init__()
        self.limit = limit
        self.longest_stored = 0

    def set_password(self, service: str, username: str, password: str) -> None:
        if len(password) > self.limit:
            # Like Windows' error: the length, never the value.
            raise keyring_errors.PasswordSetError(
                f"value of {len(password)} chars too long"
            )
        self.longest_stored = max(self.longest_stored, len(password))
        super().set_password(service, username, password)


def windows_like_keyring(limit: int = 1280) -> SizeLimitedKeyring:
    """A size-limited keyring whose class lives in a module named like
    keyring's Windows backend, which is how the store recognises one."""
    windows_type = type("WinVaultKeyring", (SizeLimitedKeyring,), {})
    windows_type.__module__ = "keyring_store_fakes.Windows"
    backend: SizeLimitedKeyring = windows_type(limit)
    return backend


class Hang:
    """A fault that blocks matching calls until released.

    Attributes:
        entered: set once a call is blocked here.
    """

    def __init__(
        self, operation: str, username: str | None = None, times: int = 1
    ) -> None:
        self.operation = operation
        self.username = username
        self.times = times
        self.entered = threading.Event()
        self.released = threading.Event()

    def __call__(
        self, operation: str, service: str, username: str, value: str | None
    ) -> None:
        if operation != self.operation or self.times <= 0:
            return
        if self.username is not None and username != self.username:
            return
        self.times -= 1
        self.entered.set()
        self.released.wait(timeout=60)

    def release(self) -> None:
        self.released.set()


def raising(error: BaseException, operation: str | None = None) -> Fault:
    def fault(op: str, service: str, username: str, value: str | None) -> None:
        if operation is None or op == operation:
            raise error

    return fault


def fake_jwt(length: int = 900, name: str = "Test User") -> str:
    """A token shaped like TradeStation's: three base64url parts, long."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = part(json.dumps({"name": name, "exp": 1_900_000_000}).encode())
    return f"{header}.{claims}.{secrets.token_urlsafe(length)}"


def sample_tokens(access_len: int = 900, **changes: object) -> TokenSet:
    now = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    fields: dict[str, object] = {
        "access_token": fake_jwt(access_len),
        "refresh_token": "rt-" + secrets.token_urlsafe(40),
        "expires_at": now + timedelta(minutes=20),
        "scope": "openid profile offline_access MarketData",
        "account": "Zoë Trader",
        "signed_in_at": now,
        "refresh_token_rotates": True,
        "refresh_token_expires_at": now + timedelta(hours=24),
    }
    fields.update(changes)
    return TokenSet(**fields)  # type: ignore[arg-type]
