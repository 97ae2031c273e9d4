"""The tray's token store, ``HelperTokenStore``: each task done by a real
keyring helper process against a real Secret Service (gnome-keyring inside
tests/with-desktop.sh), and every way a helper can fail turned into "try
again later" without touching what is stored.

Faults come from helpers that misbehave on purpose (small scripts) and from
keyring's own ``PYTHON_KEYRING_BACKEND``, which the helper inherits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import keyring
import pytest
from keyring.backends import SecretService

from tests.conftest import skip_or_fail
from tstray.oauth.tokens import TokenSet
from tstray.storage.errors import KeyringUnavailableError, StoredDataError
from tstray.storage.process_store import HelperTokenStore, helper_command

_T = TypeVar("_T")
REPO = Path(__file__).resolve().parents[2]

ACCESS = "access-token-helper-Vq7Lm2Rx9Kc4Tz1B"
REFRESH = "refresh-token-helper-Jw3Hn8Yd5Gs0Pf6E"
SECRET = "client-secret-helper-Xo2Ua9Ib4Qe7Mr1W"
TOKENS = TokenSet(
    ACCESS,
    REFRESH,
    datetime(2030, 1, 1, 12, 20, tzinfo=UTC),
    scope="MarketData",
    account="demo-trader",
)


def run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    return asyncio.run(coroutine)


@pytest.fixture(scope="module")
def secret_service() -> None:
    try:
        # keyring's own probe: raises when no Secret Service answers on D-Bus.
        SecretService.Keyring.priority  # noqa: B018
    except Exception as exc:
        skip_or_fail(f"no Secret Service is reachable ({exc})")


@pytest.fixture
def service(secret_service: None) -> Iterator[str]:
    name = f"tstray-test-{uuid.uuid4().hex}"
    yield name
    subprocess.run(
        ["secret-tool", "clear", "service", name],
        check=False,
        capture_output=True,
        timeout=30,
    )


@pytest.fixture
def store(service: str) -> Iterator[HelperTokenStore]:
    helper_store = HelperTokenStore(service)
    yield helper_store
    helper_store.close()


def fake_helper(tmp_path: Path, body: str) -> list[str]:
    """A helper command that runs ``body`` as Python instead of the helper."""
    script = tmp_path / "fake_helper.py"
    script.write_text(body, encoding="utf-8")
    return [sys.executable, str(script)]


def test_the_helper_command_runs_this_python_without_the_current_folder() -> None:
    assert helper_command() == [sys.executable, "-P", "-m", "tstray.storage.helper"]


def test_a_module_in_the_start_folder_is_never_imported_by_the_helper(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A user who keeps a token.py (or json.py) where tstray was started.
    for name in ("token.py", "json.py", "keyring.py"):
        (tmp_path / name).write_text("raise SystemExit('imported')\n")
    monkeypatch.chdir(tmp_path)
    store = HelperTokenStore(service)
    try:
        run(store.save_tokens(TOKENS))
        assert run(store.load_tokens()) == TOKENS
    finally:
        store.close()


@pytest.mark.usefixtures("no_secrets_in_logs")
def test_tokens_and_secrets_round_trip_through_helpers(
    store: HelperTokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        assert await store.load_tokens() is None
        await store.save_tokens(TOKENS)
        assert await store.load_tokens() == TOKENS

        assert await store.load_client_secret("key-1") is None
        await store.save_client_secret("key-1", SECRET)
        assert await store.load_client_secret("key-1") == SECRET

        await store.delete_tokens()
        await store.delete_client_secret("key-1")
        assert await store.load_tokens() is None
        assert await store.load_client_secret("key-1") is None

    run(scenario())
    for secret in (ACCESS, REFRESH, SECRET):
        assert secret not in caplog.text


def test_what_the_helper_saves_is_in_the_os_keyring(
    store: HelperTokenStore, service: str
) -> None:
    run(store.save_tokens(TOKENS))

    stored = keyring.get_password(service, "tokens")
    assert stored is not None and REFRESH in stored


def test_damaged_data_is_reported_and_left_in_place(
    store: HelperTokenStore, service: str
) -> None:
    keyring.set_password(service, "tokens", "not what tstray writes")

    with pytest.raises(StoredDataError, match=r"damaged|unknown"):
        run(store.load_tokens())

    assert keyring.get_password(service, "tokens") == "not what tstray writes"


def test_a_helper_that_overruns_is_stopped_and_is_temporary(
    service: str, tmp_path: Path
) -> None:
    command = fake_helper(tmp_path, "import time\ntime.sleep(60)\n")
    store = HelperTokenStore(
        service, timeout_s=0.5, command=command, start_allowance_s=0.5
    )
    try:
        with pytest.raises(KeyringUnavailableError, match="did not answer in 1 s"):
            run(store.load_tokens())
    finally:
        store.close()


@pytest.mark.parametrize(
    "body",
    [
        "import sys\nsys.exit(1)\n",
        "print('not json')\n",
        "print('{\"ok\": true}')\nprint('{\"ok\": true}')\n",
        "print('[1, 2]')\n",
        "import os\nos.kill(os.getpid(), 9)\n",
    ],
    ids=["exit 1", "not json", "two answers", "not an object", "killed"],
)
def test_a_broken_helper_is_temporary(service: str, tmp_path: Path, body: str) -> None:
    store = HelperTokenStore(service, command=fake_helper(tmp_path, body))
    try:
        with pytest.raises(KeyringUnavailableError, match="helper failed"):
            run(store.load_tokens())
    finally:
        store.close()


def test_a_helper_that_cannot_start_is_temporary(service: str, tmp_path: Path) -> None:
    store = HelperTokenStore(service, command=[str(tmp_path / "no-such-program")])
    try:
        with pytest.raises(KeyringUnavailableError, match="could not start"):
            run(store.save_tokens(TOKENS))
    finally:
        store.close()


def test_the_request_goes_on_stdin_never_on_the_command_line(
    service: str, tmp_path: Path
) -> None:
    seen = tmp_path / "seen.txt"
    body = (
        "import sys, json\n"
        f"open({str(seen)!r}, 'w').write(repr(sys.argv) + sys.stdin.read())\n"
        "print(json.dumps({'ok': True, 'value': None}))\n"
    )
    store = HelperTokenStore(service, command=fake_helper(tmp_path, body))
    try:
        run(store.save_client_secret("key-1", SECRET))
    finally:
        store.close()

    argv, _, request = seen.read_text(encoding="utf-8").partition("]")
    assert SECRET not in argv
    assert SECRET in request


def test_a_locked_keyring_says_so_through_the_helper(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # keyring's own fail backend stands in for a keyring nobody can open.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    store = HelperTokenStore(service)
    try:
        with pytest.raises(KeyringUnavailableError, match="keyring"):
            run(store.load_tokens())
    finally:
        store.close()


def test_tasks_run_in_order(store: HelperTokenStore) -> None:
    later = TokenSet(
        "access-token-later-Pc5Wm8Zs1Fn4Ky7G",
        "refresh-token-later-Rb2Xe6Lt9Nq3Vd0H",
        TOKENS.expires_at + timedelta(hours=1),
    )

    async def scenario() -> TokenSet | None:
        await asyncio.gather(store.save_tokens(TOKENS), store.save_tokens(later))
        return await store.load_tokens()

    assert run(scenario()) == later


def test_a_closed_store_refuses_new_tasks(store: HelperTokenStore) -> None:
    store.close()

    with pytest.raises(KeyringUnavailableError, match="shutting down"):
        run(store.load_tokens())


def test_a_helper_whose_tray_is_gone_ends_even_with_the_keyring_hung(
    service: str, tmp_path: Path
) -> None:
    # The keyring hangs (an unlock prompt nobody answers) and the tray that
    # asked has quit: the helper must not linger behind its stuck thread.
    control = tmp_path / "control"
    control.write_text("hang", encoding="utf-8")
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "tests.helpers.fake_keyring_backends.SlowKeyring",
        "TSTRAY_TEST_KEYRING_CONTROL": str(control),
        "PYTHONPATH": str(REPO),
    }
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read the answer
    helper = subprocess.Popen(
        helper_command(),
        stdin=subprocess.PIPE,
        stdout=write_end,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(write_end)
    try:
        assert helper.stdin is not None
        helper.stdin.write(
            b'{"op": "load_tokens", "service": "%s", "timeout_s": 0.5}'
            % service.encode()
        )
        helper.stdin.close()
        assert helper.wait(timeout=60) == 3  # EXIT_NO_READER
    finally:
        helper.kill()
        control.write_text("", encoding="utf-8")
