"""TokenStore against a real Secret Service: the gnome-keyring daemon that
tests/with-desktop.sh starts on its own D-Bus session bus.

Each test uses its own keyring service name and checks what landed with
libsecret's ``secret-tool``, independently of the keyring library. Run with:

    PYTHONPATH=. tests/with-desktop.sh /tmp/venv/bin/pytest \\
        tests/integration/test_keyring_secret_service.py

Where a Secret Service is expected (CI=true, or TSTRAY_TEST_DESKTOP=1 as
with-desktop.sh sets) and none is reachable, these tests fail; elsewhere
they are skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService

from tstray.oauth.tokens import TokenSet
from tstray.storage import TokenStore

_T = TypeVar("_T")
REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_TOOL_TIMEOUT_S = 30


def secret_service_required() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1"} or (
        os.environ.get("TSTRAY_TEST_DESKTOP") == "1"
    )


def skip_or_fail(reason: str) -> None:
    if secret_service_required():
        pytest.fail(f"a Secret Service is required here but {reason}")
    pytest.skip(reason)


def run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    return asyncio.run(coroutine)


@pytest.fixture(scope="module")
def secret_service() -> KeyringBackend:
    if shutil.which("secret-tool") is None:
        skip_or_fail("secret-tool (libsecret-tools) is not installed")
    try:
        # keyring's own probe: raises when no Secret Service answers on D-Bus.
        SecretService.Keyring.priority  # noqa: B018
    except Exception as exc:
        skip_or_fail(f"no Secret Service is reachable ({exc})")
    backend: KeyringBackend = SecretService.Keyring()
    return backend


@pytest.fixture
def service(secret_service: KeyringBackend) -> Iterator[str]:
    name = f"tstray-test-{uuid.uuid4().hex}"
    yield name
    subprocess.run(
        ["secret-tool", "clear", "service", name],
        check=False,
        capture_output=True,
        timeout=SECRET_TOOL_TIMEOUT_S,
    )


@pytest.fixture
def store(secret_service: KeyringBackend, service: str) -> Iterator[TokenStore]:
    token_store = TokenStore(service, backend=secret_service, timeout_s=30)
    yield token_store
    token_store.close()


def items_in_secret_service(service: str) -> dict[str, str]:
    """What libsecret finds under ``service``: username -> secret."""
    found = subprocess.run(
        ["secret-tool", "search", "--all", "service", service],
        check=False,
        capture_output=True,
        text=True,
        timeout=SECRET_TOOL_TIMEOUT_S,
    )
    # secret-tool prints labels and secrets on stdout, attributes on stderr.
    usernames = [
        line.split(" = ", 1)[1]
        for line in found.stderr.splitlines()
        if line.startswith("attribute.username = ")
    ]
    items: dict[str, str] = {}
    for username in usernames:
        looked_up = subprocess.run(
            ["secret-tool", "lookup", "service", service, "username", username],
            check=True,
            capture_output=True,
            text=True,
            timeout=SECRET_TOOL_TIMEOUT_S,
        )
        items[username] = looked_up.stdout
    return items


def fake_jwt(seed: str, length: int = 1200) -> str:
    body = (seed * (length // len(seed) + 1))[:length]
    return f"eyJhbGciOiJSUzI1NiJ9.eyJuYW1lIjoiVGVzdCJ9.{body}"


def sample_tokens(tag: str = "a") -> TokenSet:
    now = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    return TokenSet(
        access_token=fake_jwt(f"access-{tag}-{uuid.uuid4().hex}"),
        refresh_token=f"refresh-{tag}-{uuid.uuid4().hex}",
        expires_at=now + timedelta(minutes=20),
        scope="openid offline_access MarketData",
        account="Zoë Trader",
        signed_in_at=now,
    )


def test_tokens_round_trip_through_the_secret_service(
    store: TokenStore, service: str
) -> None:
    tokens = sample_tokens()

    run(store.save_tokens(tokens))

    assert run(store.load_tokens()) == tokens
    items = items_in_secret_service(service)
    assert list(items) == ["tokens"]
    document = json.loads(items["tokens"])
    assert document["format"] == 1
    assert document["refresh_token"] == tokens.refresh_token


def test_deleted_tokens_leave_nothing_in_the_secret_service(
    store: TokenStore, service: str
) -> None:
    run(store.save_tokens(sample_tokens()))

    run(store.delete_tokens())
    run(store.delete_tokens())

    assert run(store.load_tokens()) is None
    assert items_in_secret_service(service) == {}


def test_client_secret_round_trip_and_delete(store: TokenStore, service: str) -> None:
    secret = f"client-secret-{uuid.uuid4().hex}"

    run(store.save_client_secret("key-1", secret))

    assert run(store.load_client_secret("key-1")) == secret
    assert items_in_secret_service(service) == {"client-secret:key-1": secret}

    run(store.delete_client_secret("key-1"))

    assert run(store.load_client_secret("key-1")) is None
    assert items_in_secret_service(service) == {}


def test_chunked_tokens_in_the_secret_service(
    secret_service: KeyringBackend, service: str
) -> None:
    store = TokenStore(service, backend=secret_service, timeout_s=30, max_value_len=200)
    long_tokens, short_tokens = sample_tokens("long"), sample_tokens("short")
    try:
        run(store.save_tokens(long_tokens))
        long_items = items_in_secret_service(service)

        assert run(store.load_tokens()) == long_tokens
        assert len(long_items) > 5
        assert set(long_items) == {"tokens"} | {
            f"tokens.{i}" for i in range(1, len(long_items))
        }
        assert all(len(secret) <= 200 for secret in long_items.values())

        run(store.save_tokens(short_tokens))
        assert run(store.load_tokens()) == short_tokens
        assert 1 < len(items_in_secret_service(service)) <= len(long_items)

        run(store.delete_tokens())
        assert items_in_secret_service(service) == {}
    finally:
        store.close()


def test_real_and_demo_services_stay_apart(
    secret_service: KeyringBackend, service: str
) -> None:
    demo_service = f"{service}-demo"
    real = TokenStore(service, backend=secret_service, timeout_s=30)
    demo = TokenStore(demo_service, backend=secret_service, timeout_s=30)
    real_tokens, demo_tokens = sample_tokens("real"), sample_tokens("demo")
    try:
        run(real.save_tokens(real_tokens))
        run(demo.save_tokens(demo_tokens))
        run(demo.delete_tokens())

        assert run(real.load_tokens()) == real_tokens
        assert run(demo.load_tokens()) is None
    finally:
        real.close()
        demo.close()
        subprocess.run(
            ["secret-tool", "clear", "service", demo_service],
            check=False,
            capture_output=True,
            timeout=SECRET_TOOL_TIMEOUT_S,
        )


_STORE_IN_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime
    from tstray.oauth.tokens import TokenSet
    from tstray.storage import TokenStore

    service, access_token, refresh_token, secret = sys.argv[1:5]
    tokens = TokenSet(access_token, refresh_token, datetime(2026, 12, 4, tzinfo=UTC))

    async def main():
        store = TokenStore(service)  # the default keyring, as the app uses it
        await store.save_tokens(tokens)
        await store.save_client_secret("key-1", secret)
        assert await store.load_tokens() == tokens
        assert await store.load_client_secret("key-1") == secret
        store.close()

    asyncio.run(main())
    print("stored")
    """
)


def test_default_keyring_writes_no_file_in_home(
    secret_service: KeyringBackend, service: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        name: value for name, value in os.environ.items() if not name.startswith("XDG_")
    }
    env |= {"HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    access_token = fake_jwt(f"file-check-{uuid.uuid4().hex}")
    refresh_token = f"refresh-{uuid.uuid4().hex}"
    secret = f"secret-{uuid.uuid4().hex}"

    child = subprocess.run(
        [
            sys.executable,
            "-c",
            _STORE_IN_CHILD,
            service,
            access_token,
            refresh_token,
            secret,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip() == "stored"
    items = items_in_secret_service(service)
    assert set(items) == {"tokens", "client-secret:key-1"}
    assert json.loads(items["tokens"])["access_token"] == access_token
    assert items["client-secret:key-1"] == secret
    # The Secret Service holds them; no file in the home folder does.
    written = [path for path in home.rglob("*") if path.is_file()]
    assert written == []
    for value in (access_token, refresh_token, secret):
        assert value not in child.stdout and value not in child.stderr


@pytest.mark.parametrize(
    ("required_env", "exit_code", "summary"),
    [
        ({"TSTRAY_TEST_DESKTOP": "1"}, 1, "1 error"),
        ({"CI": "true"}, 1, "1 error"),
        ({}, 0, "1 skipped"),
    ],
)
def test_a_missing_secret_service_fails_where_one_is_required(
    secret_service: KeyringBackend,
    required_env: dict[str, str],
    exit_code: int,
    summary: str,
) -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"CI", "TSTRAY_TEST_DESKTOP", "DBUS_SESSION_BUS_ADDRESS"}
    }
    env |= required_env
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent/tstray-no-bus"
    env["PYTHONPATH"] = str(REPO_ROOT)

    inner = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            f"{__file__}::test_tokens_round_trip_through_the_secret_service",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert inner.returncode == exit_code, inner.stdout[-2000:]
    assert summary in inner.stdout
    assert "no Secret Service is reachable" in inner.stdout
