"""Quitting and starting, with the real app: SIGTERM (what a logout sends)
while a refresh is under way, Quit from the tray menu, and a start on a
desktop that shows no tray icons.

A quit lets a refresh that is about to answer finish, so that a rotated
refresh token it brings is saved; one that takes too long is abandoned
without touching the stored tokens. Either way the next start serves a
token without a sign-in. On a desktop without a tray the token service still
runs and the user is told once, through the desktop's notification service
(tests/helpers/notification_service.py stands in for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import qasync
from PySide6.QtWidgets import QApplication, QMenu

from tests.conftest import skip_or_fail
from tests.integration.app_support import REPO, App
from tests.integration.qt_loop_support import close_qasync_loop
from tests.reliability.support import (
    DemoProcess,
    delete_tokens,
    seed_tokens,
    stored_tokens,
    wait_until,
)
from tstray.cli import resolve_profile
from tstray.demo import DEMO_CLIENT_SECRET
from tstray.single_instance import InstanceOwner

pytestmark = pytest.mark.e2e

ACCESS_LIFETIME_S = 40
# Shorter than the session's 5 s grace at shut-down, and longer than it.
SHORT_DELAY_S = 2.0
LONG_DELAY_S = 30.0
NO_TRAY_TITLE = "tstray is running without an icon"


def _need_desktop() -> None:
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip_or_fail("needs tests/with-desktop.sh (an X screen and a Secret Service)")


@pytest.fixture
def clean_keyring() -> Iterator[None]:
    _need_desktop()
    delete_tokens()
    yield
    delete_tokens()


def _demo(tmp_path: Path, name: str, rotating: bool) -> DemoProcess:
    demo = DemoProcess(
        tmp_path / name, access_lifetime_s=ACCESS_LIFETIME_S, rotating=rotating
    )
    demo.start()
    return demo


def _refresh_in_background(app: App) -> threading.Thread:
    """A client asking for nearly a whole token's life: the app refreshes."""

    app.wait_until_a_refresh_may_be_asked()

    def ask() -> None:
        # The app may stop answering: it is quitting.
        with contextlib.suppress(httpx.HTTPError):
            app.ask_for_refresh(ACCESS_LIFETIME_S, timeout_s=60)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("delay_s", "rotating"),
    [(SHORT_DELAY_S, True), (LONG_DELAY_S, False)],
    ids=["refresh-finishes", "refresh-abandoned"],
)
def test_sigterm_during_a_refresh_leaves_tokens_that_the_next_start_uses(
    tmp_path: Path, clean_keyring: None, delay_s: float, rotating: bool
) -> None:
    demo = _demo(tmp_path, "demo", rotating)
    app = App(tmp_path / "app", demo.url)
    try:
        seeded = demo.sign_in()
        seed_tokens(seeded)
        app.start()
        app.wait_for_state("valid")

        demo.inject("delay", delay_s=delay_s)
        client = _refresh_in_background(app)
        wait_until(lambda: demo.stats()["faults_applied"] == 1, 20, "the refresh")
        assert app.process is not None
        app.process.send_signal(signal.SIGTERM)
        # The grace for the refresh is 5 s; the rest is a generous bound.
        assert app.process.wait(timeout=30) == 0
        app.process = None
        client.join(timeout=30)

        stored = stored_tokens()
        assert stored is not None
        if delay_s < 5:
            assert "token refreshed" in app.log_text()
            if rotating:
                assert stored.refresh_token != seeded.refresh_token
        else:
            assert "token refreshed" not in app.log_text()
            assert "abandoned a refresh" in app.log_text()
            assert stored.refresh_token == seeded.refresh_token

        app.start()
        app.wait_for_state("valid")
        app.refreshed_token(ACCESS_LIFETIME_S)
        assert demo.stats()["reuse_detected"] == 0
        assert app.stop() == 0
    finally:
        app.kill()
        demo.stop()


def test_quit_from_the_menu_finishes_the_refresh_and_releases_everything(
    tmp_path: Path,
    clean_keyring: None,
    qapp: QApplication,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tstray.app import _run

    demo = _demo(tmp_path, "demo", rotating=True)
    try:
        seeded = demo.sign_in()
        seed_tokens(seeded)
        config_app = App(tmp_path / "app", demo.url)  # writes config and API key
        monkeypatch.setenv("TSTRAY_CLIENT_SECRET", DEMO_CLIENT_SECRET)
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "runtime"))
        (tmp_path / "runtime").mkdir(mode=0o700)
        profile = resolve_profile(False, str(config_app.config_file))
        lock_path = profile.paths.runtime_dir / "instance.lock"
        owner = InstanceOwner(lock_path)
        assert owner.try_acquire()

        menus_before = {id(w) for w in qapp.topLevelWidgets()}
        outcome: dict[str, Any] = {}

        async def scenario() -> None:
            quit_event = asyncio.Event()
            app_run = asyncio.ensure_future(_run(profile, owner, quit_event, False))
            base = f"http://127.0.0.1:{config_app.port}"
            headers = {"Authorization": f"Bearer {config_app.api_key}"}
            async with httpx.AsyncClient(base_url=base, headers=headers) as client:
                while (await _status(client)).get("state") != "valid":
                    await asyncio.sleep(0.05)

                # A token over a second old, so nearly a whole life is more.
                await asyncio.sleep(1.5)
                demo.inject("delay", delay_s=SHORT_DELAY_S)
                refresh = asyncio.ensure_future(
                    client.get(f"/v1/token?min_ttl={ACCESS_LIFETIME_S - 1}")
                )
                while await asyncio.to_thread(demo.stats) and (
                    demo.stats()["faults_applied"] == 0
                ):
                    await asyncio.sleep(0.05)

                quit_action = _quit_action(qapp, menus_before)
                quit_action.trigger()
                await asyncio.wait_for(app_run, 30)
                outcome["refresh"] = await asyncio.gather(
                    refresh, return_exceptions=True
                )

        loop = qasync.QEventLoop(qapp)
        try:
            loop.run_until_complete(asyncio.wait_for(scenario(), 90))
        finally:
            close_qasync_loop(loop)
            asyncio.set_event_loop(None)
        # The app's tray, menu and timers are garbage now: delete them here,
        # on the GUI thread, before another thread's collection can (see
        # qt_loop_support.py).
        gc.collect()

        # The refresh under way finished, and its rotated token was saved.
        stored = stored_tokens()
        assert stored is not None and stored.refresh_token != seeded.refresh_token
        assert demo.stats()["refreshes_ok"] == 1
        # The token service is closed, and the lock is free for the next start.
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{config_app.port}/healthz", timeout=2)
        owner.release()
        next_owner = InstanceOwner(lock_path)
        assert next_owner.try_acquire()
        next_owner.release()
    finally:
        demo.stop()


async def _status(client: httpx.AsyncClient) -> dict[str, Any]:
    try:
        response = await client.get("/v1/status")
    except httpx.TransportError:
        return {}
    return dict(response.json()) if response.status_code == 200 else {}


def _quit_action(qapp: QApplication, before: set[int]) -> Any:
    """The "Quit" item of the tray menu this test's app created."""
    actions = [
        action
        for widget in qapp.topLevelWidgets()
        if isinstance(widget, QMenu) and id(widget) not in before
        for action in widget.actions()
        if action.text() == "Quit"
    ]
    assert len(actions) == 1, f"found {len(actions)} Quit items"
    return actions[0]


# -- a desktop without a tray -------------------------------------------------------


@pytest.fixture
def screen_without_tray() -> Iterator[str]:
    """An Xvfb screen of our own with no tray host; yields its DISPLAY."""
    if shutil.which("Xvfb") is None:
        skip_or_fail("Xvfb is not installed")
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(
        [
            *("Xvfb", "-displayfd", str(write_end)),
            *("-screen", "0", "1024x768x24", "-nolisten", "tcp"),
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as display_number:
        number = display_number.readline().strip()
    assert number.isdigit(), "Xvfb gave no display number"
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait(timeout=10)


class NotificationDaemon:
    """tests/helpers/notification_service.py on the session bus, recording
    every Notify call it gets."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._process = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "tests" / "helpers" / "notification_service.py"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        first = self._process.stdout.readline().strip()
        assert first == "ready", f"the notification stand-in did not start: {first}"
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.calls.append(json.loads(line))

    def titles(self) -> list[str]:
        return [str(call["args"][3]) for call in list(self.calls)]

    def close(self) -> None:
        self._process.kill()
        self._process.wait()


def test_without_a_tray_the_token_service_runs_and_one_notice_says_so(
    tmp_path: Path, clean_keyring: None, screen_without_tray: str
) -> None:
    demo = _demo(tmp_path, "demo", rotating=False)
    daemon = NotificationDaemon()
    app = App(tmp_path / "app", demo.url, env={"DISPLAY": screen_without_tray})
    try:
        seed_tokens(demo.sign_in())
        app.start()
        app.wait_for_state("valid")
        assert app.token() is not None
        wait_until(lambda: NO_TRAY_TITLE in daemon.titles(), 20, "the no-tray notice")

        # Life goes on (a refresh), then the app quits: still one notice.
        app.refreshed_token(ACCESS_LIFETIME_S)
        assert app.stop() == 0
        assert daemon.titles().count(NO_TRAY_TITLE) == 1
        assert "no system tray is available" in app.log_text()
    finally:
        app.kill()
        daemon.close()
        demo.stop()
