"""Keyring trouble seen from the outside, with the real app as a process:
a keyring that gets locked, no D-Bus at all, a keyring that stops answering,
one too small for a token (like Windows Credential Manager), and stored data
that is damaged or from an unknown format.

In every case the app keeps running, serves the token it holds in memory,
says what is wrong (``/v1/status`` and one notice, counted from the log
where the Notifier records each), keeps retrying, and writes no token to a
file. Faults come from real parts where they can run here (a private
gnome-keyring locked over D-Bus, a dead D-Bus address) and from
tests/helpers/fake_keyring_backends.py, loaded through keyring's own
``PYTHON_KEYRING_BACKEND``, where they cannot (a hung keyring, Windows).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from tests.conftest import skip_or_fail
from tests.integration.app_support import (
    FAKE_BACKENDS,
    App,
    PrivateKeyring,
    files_holding,
    store_in,
    unexpected_files,
)
from tests.reliability.support import (
    DemoProcess,
    delete_tokens,
    seed_tokens,
    stored_tokens,
    wait_until,
)

pytestmark = pytest.mark.e2e

# Long enough that a token refreshed behind a 10 s keyring timeout is still
# valid when the session may finally hand it out.
ACCESS_LIFETIME_S = 40
KEYRING_NOTICE = "keyring_unavailable"
CONTROL_ENV = "TSTRAY_TEST_KEYRING_CONTROL"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip_or_fail("needs tests/with-desktop.sh (an X screen and a Secret Service)")
    service = DemoProcess(
        tmp_path_factory.mktemp("demo"), access_lifetime_s=ACCESS_LIFETIME_S
    )
    service.start()
    yield service
    service.stop()


@pytest.fixture
def apps() -> Iterator[list[App]]:
    """Apps started by a test; killed, and the shared keyring cleaned, after."""
    delete_tokens()
    started: list[App] = []
    yield started
    for app in started:
        app.kill()
    delete_tokens()


def _fresh_token(app: App) -> str:
    return app.refreshed_token(ACCESS_LIFETIME_S)


def _wait_for_notices(app: App, kind: str, count: int) -> None:
    wait_until(lambda: app.notices().count(kind) >= count, 20, f"a {kind} notice")


def _assert_nothing_in_files(app: App, *secrets: str | None) -> None:
    assert unexpected_files(app.home) == []
    assert files_holding(app.home, [s for s in secrets if s]) == []


def test_a_locked_keyring_keeps_the_token_in_memory_and_saves_once_unlocked(
    demo: DemoProcess, apps: list[App], tmp_path: Path
) -> None:
    try:
        private = PrivateKeyring(tmp_path / "keyring")
    except RuntimeError as exc:
        skip_or_fail(str(exc))
    try:
        store_in(private.address, "save", demo.sign_in())
        app = App(
            tmp_path / "app",
            demo.url,
            env={"DBUS_SESSION_BUS_ADDRESS": private.address},
        )
        apps.append(app)
        app.start()
        app.wait_for_state("valid")

        private.lock()
        first = _fresh_token(app)
        status = app.status()
        assert status["state"] == "valid"
        assert status["error_code"] == KEYRING_NOTICE
        assert "locked" in status["last_error"]
        _wait_for_notices(app, KEYRING_NOTICE, 1)
        # Every refresh while locked fails to save again; one notice in all.
        second = _fresh_token(app)

        private.unlock()
        third = _fresh_token(app)
        wait_until(lambda: app.status()["error_code"] == "", 20, "the error to clear")
        stored = store_in(private.address, "load")
        assert stored is not None and stored.access_token == third
        assert app.notices().count(KEYRING_NOTICE) == 1
        assert app.process is not None and app.process.poll() is None
        _assert_nothing_in_files(app, first, second, third, stored.refresh_token)
    finally:
        private.close()


def test_without_dbus_the_app_runs_signs_in_and_serves_from_memory(
    demo: DemoProcess, apps: list[App], tmp_path: Path
) -> None:
    app = App(
        tmp_path / "app",
        demo.url,
        env={"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-such-bus"},
    )
    apps.append(app)
    app.start()
    status = wait_until(
        lambda: (s := app.status())["error_code"] == KEYRING_NOTICE and s,
        20,
        "the keyring error",
    )
    assert status["state"] == "signed_out"
    assert "No system keyring" in status["last_error"]
    # A script is not told "signed out": a session may be stored behind it.
    answer = app.get("/v1/token")
    assert answer.status_code == 503
    assert answer.json()["error"] == "keyring_unavailable"
    _wait_for_notices(app, KEYRING_NOTICE, 1)

    app.sign_in_through_the_window()
    app.wait_for_state("valid", timeout_s=60)
    token = app.token()
    assert token is not None

    status = app.status()
    assert status["error_code"] == KEYRING_NOTICE
    assert app.notices().count(KEYRING_NOTICE) == 1
    assert app.process is not None and app.process.poll() is None
    _assert_nothing_in_files(app, token)


def test_a_keyring_that_stops_answering_does_not_stop_the_app(
    demo: DemoProcess, apps: list[App], tmp_path: Path
) -> None:
    control = tmp_path / "keyring-control"
    control.write_text("ok", encoding="utf-8")
    seed_tokens(demo.sign_in())
    app = App(
        tmp_path / "app",
        demo.url,
        env={
            "PYTHON_KEYRING_BACKEND": f"{FAKE_BACKENDS}.SlowKeyring",
            CONTROL_ENV: str(control),
        },
    )
    apps.append(app)
    app.start()
    app.wait_for_state("valid")

    control.write_text("hang", encoding="utf-8")
    served: list[str] = []
    refresh = threading.Thread(target=lambda: served.append(_fresh_token(app)))
    refresh.start()
    # While the save hangs, the GUI thread still answers a second start.
    wait_until(lambda: app.status()["state"] == "refreshing", 20, "the refresh")
    handed_over = app.second_start()
    assert handed_over.returncode == 0, handed_over.stderr
    refresh.join(timeout=60)
    assert served, "the refresh never ended"

    status = app.status()
    assert status["error_code"] == KEYRING_NOTICE
    assert "did not answer" in status["last_error"]
    assert app.token() == served[0]
    _wait_for_notices(app, KEYRING_NOTICE, 1)

    control.write_text("ok", encoding="utf-8")
    latest = _fresh_token(app)
    wait_until(lambda: app.status()["error_code"] == "", 20, "the error to clear")
    wait_until(
        lambda: (
            (stored := stored_tokens()) is not None and stored.access_token == latest
        ),
        30,
        "the newest token in the keyring",
    )
    assert app.notices().count(KEYRING_NOTICE) == 1
    _assert_nothing_in_files(app, served[0], latest)


def test_tokens_too_long_for_one_item_are_split_and_read_back(
    demo: DemoProcess, apps: list[App], tmp_path: Path
) -> None:
    # A long account name makes the stored tokens longer than Windows takes.
    seed_tokens(demo.sign_in(user_name="Long Name " + "x" * 80))
    env = {"PYTHON_KEYRING_BACKEND": f"{FAKE_BACKENDS}.WindowsLikeKeyring"}
    app = App(tmp_path / "app", demo.url, env=env)
    apps.append(app)
    app.start()
    app.wait_for_state("valid")

    token = _fresh_token(app)
    assert app.status()["error_code"] == ""

    head = keyring.get_password("tstray", "tokens")
    second_piece = keyring.get_password("tstray", "tokens.1")
    assert head is not None and head.startswith("tstray-chunked:")
    assert second_piece is not None
    assert max(len(head), len(second_piece)) <= 1280
    stored = stored_tokens()
    assert stored is not None and stored.access_token == token

    assert app.stop() == 0
    app.start()
    app.wait_for_state("valid")
    assert app.token() == token
    assert app.count_log("could not") == 0


def test_unreadable_stored_tokens_are_reported_and_kept_until_a_new_sign_in(
    demo: DemoProcess, apps: list[App], tmp_path: Path
) -> None:
    # Written by a future tstray: a format this one does not know.
    future = '{"format": 2, "tokens": "whatever a later version keeps"}'
    keyring.set_password("tstray", "tokens", future)
    app = App(tmp_path / "future", demo.url)
    apps.append(app)
    app.start()
    status = wait_until(
        lambda: (s := app.status())["error_code"] == "stored_data_unreadable" and s,
        20,
        "the stored-data error",
    )
    assert "format 2" in status["last_error"]
    assert "update tstray" in status["last_error"]
    _wait_for_notices(app, "stored_data_unreadable", 1)
    assert app.stop() == 0
    assert keyring.get_password("tstray", "tokens") == future

    # Damaged: cut off half way.
    damaged = '{"format": 1, "access_token": "eyJhbGciOi'
    keyring.set_password("tstray", "tokens", damaged)
    app = App(tmp_path / "damaged", demo.url)
    apps.append(app)
    app.start()
    status = wait_until(
        lambda: (s := app.status())["error_code"] == "stored_data_unreadable" and s,
        20,
        "the stored-data error",
    )
    assert "damaged" in status["last_error"]
    assert keyring.get_password("tstray", "tokens") == damaged

    app.sign_in_through_the_window()
    app.wait_for_state("valid", timeout_s=60)
    stored = wait_until(stored_tokens, 20, "the new sign-in in the keyring")
    assert stored.access_token == app.token()
