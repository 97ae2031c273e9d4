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
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.helpers.devtools import click, fill_and_click
from tests.helpers.ports import free_port

pytestmark = pytest.mark.e2e

ACCESS_LIFETIME_S = 20


class DemoApp:
    """One `tstray --demo` process tree with its own folders and ports."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.config_file = home / "config" / "config.toml"
        self.port = free_port()
        self.debug_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(
            f"[server]\nport = {self.port}\n[demo]\naccess_lifetime_s = {ACCESS_LIFETIME_S}\n",
            encoding="utf-8",
        )

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            XDG_CONFIG_HOME=str(self.home / "xdg-config"),
            XDG_STATE_HOME=str(self.home / "xdg-state"),
            XDG_DATA_HOME=str(self.home / "xdg-data"),
            XDG_RUNTIME_DIR=str(self.home / "runtime"),
            # The sign-in window's child process inherits these: tests only.
            QTWEBENGINE_DISABLE_SANDBOX="1",
            QTWEBENGINE_REMOTE_DEBUGGING=f"127.0.0.1:{self.debug_port}",
        )
        (self.home / "runtime").mkdir(mode=0o700, exist_ok=True)
        return env

    @property
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "tstray",
            "--demo",
            "--config",
            str(self.config_file),
        ]

    def tstray(
        self, *args: str, timeout_s: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.command, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )

    def start(self) -> None:
        log = (self.home / "stderr.log").open("ab")
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.stderr()
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("tstray did not start serving: " + self.stderr())

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

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

    def stderr(self) -> str:
        path = self.home / "stderr.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

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
