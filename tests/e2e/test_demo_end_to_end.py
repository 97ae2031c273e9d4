"""tstray as a user runs it: `tstray --demo` as its own process, signed in
through the real sign-in window (QtWebEngine in its child process, driven
over the DevTools protocol as a person would: type, press the button),
then tokens read over loopback HTTP and the `tstray token` command, a
refresh seen replacing the token, and a restart that needs no sign-in.

Needs the test desktop (tests/with-desktop.sh): a D-Bus session with an
unlocked gnome-keyring and an X screen.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.helpers.devtools import click, fill_and_click
from tests.helpers.footprint import DemoTstray

pytestmark = pytest.mark.e2e

ACCESS_LIFETIME_S = 20


class DemoApp(DemoTstray):
    """``tstray --demo`` with 20-second tokens, as its own process with its
    own folders and port, plus what this test asks of it."""

    def __init__(self, home: Path) -> None:
        super().__init__(home, access_lifetime_s=ACCESS_LIFETIME_S)

    def start(self) -> None:
        """Starts the app and waits until its port answers."""
        super().start()
        self.wait_serving()

    def tstray(
        self, *args: str, timeout_s: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return self.run(*args, timeout_s=timeout_s)

    def api_key(self) -> str:
        result = self.tstray("api-key")
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def get(self, path: str) -> httpx.Response:
        return httpx.get(
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Authorization": f"Bearer {self.api_key()}"},
            timeout=30,
        )

    def wait_for_token(
        self, timeout_s: float, not_equal: str | None = None
    ) -> dict[str, object]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            response = self.get("/v1/token")
            if (
                response.status_code == 200
                and response.json()["access_token"] != not_equal
            ):
                body: dict[str, object] = response.json()
                return body
            time.sleep(0.5)
        raise AssertionError(
            f"no (new) token in {timeout_s} s: {self.get('/v1/status').text}"
        )

    def log_text(self) -> str:
        return (self.home / "xdg-state" / "tstray" / "demo" / "tstray.log").read_text(
            errors="replace"
        )


@pytest.fixture
def demo_app(tmp_path: Path) -> Iterator[DemoApp]:
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip_or_fail("needs tests/with-desktop.sh (an X screen and a Secret Service)")
    app = DemoApp(tmp_path)
    yield app
    if app.process is not None:
        app.process.kill()
        app.process.wait()


def sign_in_through_the_window(app: DemoApp) -> None:
    async def drive() -> None:
        await fill_and_click(
            app.debug_port,
            {"#username": "trader", "#password": "demo"},
            "#sign-in",
            url_contains="/authorize",
            timeout_s=60,
        )
        await click(app.debug_port, "#allow", url_contains="/u/", timeout_s=30)

    asyncio.run(drive())


def test_sign_in_once_then_tokens_refresh_and_survive_a_restart(
    demo_app: DemoApp,
) -> None:
    demo_app.start()
    assert demo_app.get("/v1/token").status_code == 503
    assert demo_app.tstray("token").returncode == 1

    # A second start hands "sign in" to the running app, which opens the window.
    handed_over = demo_app.tstray("login")
    assert handed_over.returncode == 0, handed_over.stderr
    sign_in_through_the_window(demo_app)

    first = demo_app.wait_for_token(30)
    assert first["token_type"] == "Bearer"
    assert 0 < int(str(first["expires_in"])) <= ACCESS_LIFETIME_S
    status = demo_app.get("/v1/status").json()
    assert status["state"] == "valid" and status["account"]

    printed = demo_app.tstray("token")
    assert printed.returncode == 0 and printed.stdout.strip() == first["access_token"]

    # The demo token lives 20 s; tstray refreshes it at half-life.
    second = demo_app.wait_for_token(45, not_equal=str(first["access_token"]))
    assert int(str(second["expires_in"])) > 0

    assert demo_app.stop() == 0
    demo_app.start()
    third = demo_app.wait_for_token(30)
    assert third["access_token"]

    status_text = demo_app.tstray("status", "--json")
    assert json.loads(status_text.stdout)["state"] == "valid"

    # Rotating the local API key takes effect in the running app at once.
    old_key = demo_app.api_key()
    rotated = demo_app.tstray("api-key", "--rotate")
    assert rotated.returncode == 0 and "no longer works" in rotated.stderr
    old_answer = httpx.get(
        f"http://127.0.0.1:{demo_app.port}/v1/token",
        headers={"Authorization": f"Bearer {old_key}"},
    )
    assert old_answer.status_code == 401
    assert demo_app.get("/v1/token").status_code == 200
    assert demo_app.stop() == 0

    log_text = demo_app.log_text() + demo_app.stderr()
    assert "token refreshed" in log_text
    for secret in (
        first["access_token"],
        second["access_token"],
        third["access_token"],
        demo_app.api_key(),
    ):
        assert str(secret) not in log_text
