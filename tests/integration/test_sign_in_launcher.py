"""Tests for tstray.signin.launcher and tstray.signin.window_process: the
real sign-in window in its own process, driven like a user over the Chrome
DevTools Protocol, on the qasync loop the tray uses."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QApplication

from tests.helpers.devtools import click, fill_and_click
from tests.helpers.sign_in_site import COOKIE_NAME, RedirectPortWatch, SignInSite
from tests.integration.qt_loop_support import close_qasync_loop
from tstray.signin.launcher import SignInWindowError, run_sign_in_window

REPO_ROOT = Path(__file__).resolve().parents[2]
CODE = "SplxlOBeZQQYbYS6WxSbIA"
STATE = "xyz-state-value"
TIMEOUT_S = 60.0
CHILD_MODULE = "tstray.signin.window_process"

T = TypeVar("T")


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    asyncio.set_event_loop(None)
    close_qasync_loop(event_loop)


@pytest.fixture
def redirect_port() -> Iterator[RedirectPortWatch]:
    watch = RedirectPortWatch()
    yield watch
    watch.close()


@pytest.fixture
def site(redirect_port: RedirectPortWatch) -> Iterator[SignInSite]:
    site = SignInSite(f"{redirect_port.redirect_uri}/?code={CODE}&state={STATE}")
    yield site
    site.close()


@pytest.fixture
def debug_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def child_env(debug_port: int) -> dict[str, str]:
    """The child's environment: no sandbox as root, DevTools on loopback."""
    return {
        **os.environ,
        "QTWEBENGINE_DISABLE_SANDBOX": "1",
        "QTWEBENGINE_REMOTE_DEBUGGING": f"127.0.0.1:{debug_port}",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
        ),
    }


def run(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    return loop.run_until_complete(asyncio.wait_for(coroutine, TIMEOUT_S * 2))


async def wait_for_request(site: SignInSite, path: str) -> None:
    while not site.requests_for(path):
        await asyncio.sleep(0.05)


def real_window(
    url: str, redirect_port: RedirectPortWatch, profile_dir: Path, env: dict[str, str]
) -> Coroutine[Any, Any, str | None]:
    """The real sign-in window's process, on ``url``."""
    return run_sign_in_window(
        url, redirect_port.redirect_uri, profile_dir, "test-profile", env=env
    )


def fake_child(tmp_path: Path, command: list[str]) -> Coroutine[Any, Any, str | None]:
    """``command`` standing in for the window's process."""
    return run_sign_in_window(
        "http://127.0.0.1:9/login",
        "http://localhost:31022",
        tmp_path,
        "test-profile",
        command=command,
    )


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name sits in parentheses and may hold spaces.
        parent_pid = int(stat.rsplit(")", 1)[1].split()[1])
        if parent_pid == pid:
            children.append(int(entry.name))
    return children


def descendants_of(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        for child in children_of(queue.pop()):
            found.append(child)
            queue.append(child)
    return found


def window_process_pids() -> list[int]:
    """The sign-in window children of this test process.

    Other children may exist: QtWebEngine's own helpers, when a test in this
    process showed a window.
    """
    pids = []
    for pid in children_of(os.getpid()):
        try:
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if CHILD_MODULE.encode() in command_line:
            pids.append(pid)
    return pids


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# --- the real window in its own process ---------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_signing_in_in_the_child_window_returns_the_redirect(
    loop: asyncio.AbstractEventLoop,
    site: SignInSite,
    redirect_port: RedirectPortWatch,
    debug_port: int,
    child_env: dict[str, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    async def sign_in() -> str | None:
        window = asyncio.ensure_future(
            real_window(
                site.url("/login"), redirect_port, tmp_path / "web-profile", child_env
            )
        )
        await fill_and_click(
            debug_port,
            {"#username": "trader", "#password": "hunter2"},
            "#sign-in",
            url_contains="/login",
            timeout_s=TIMEOUT_S,
        )
        return await window

    redirect_url = run(loop, sign_in())

    assert redirect_url == site.redirect_location
    posts = [request for request in site.requests if request.method == "POST"]
    assert [request.form for request in posts] == [
        {"username": ["trader"], "password": ["hunter2"]}
    ]
    assert not redirect_port.connection_attempted(wait_s=1.0)
    assert window_process_pids() == []
    # The child's stderr is forwarded, its stdout (with the code) never is.
    messages = [record.getMessage() for record in caplog.records]
    assert any(message.startswith("sign-in window: ") for message in messages)
    assert all(CODE not in message for message in messages)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_cancelling_closes_the_child_and_everything_it_started(
    loop: asyncio.AbstractEventLoop,
    site: SignInSite,
    redirect_port: RedirectPortWatch,
    child_env: dict[str, str],
    tmp_path: Path,
) -> None:
    async def open_then_cancel() -> tuple[int, list[int]]:
        window = asyncio.ensure_future(
            real_window(
                site.url("/login"), redirect_port, tmp_path / "web-profile", child_env
            )
        )
        await wait_for_request(site, "/login")
        (pid,) = window_process_pids()
        chromium_pids = descendants_of(pid)

        window.cancel()
        with pytest.raises(asyncio.CancelledError):
            await window
        return pid, chromium_pids

    pid, chromium_pids = run(loop, open_then_cancel())

    assert chromium_pids, "QtWebEngine started no helper processes"
    # Awaited and reaped: no process, not even a zombie, is left.
    assert not Path(f"/proc/{pid}").exists()

    async def wait_for_helpers_to_exit() -> None:
        while any(is_running(helper) for helper in chromium_pids):
            await asyncio.sleep(0.1)

    run(loop, wait_for_helpers_to_exit())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_child_that_ignores_the_request_to_stop_is_killed(
    loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    child_code = (
        "import pathlib, signal, sys, time;"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "sys.stdin.read();"
        f"pathlib.Path({str(started)!r}).touch();"
        "time.sleep(120)"
    )

    async def open_then_cancel() -> int:
        window = asyncio.ensure_future(
            fake_child(tmp_path, [sys.executable, "-c", child_code])
        )
        while not started.exists():
            await asyncio.sleep(0.05)
        (pid,) = [
            pid
            for pid in children_of(os.getpid())
            if str(started).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]

        window.cancel()
        with pytest.raises(asyncio.CancelledError):
            await window
        return pid

    pid = run(loop, open_then_cancel())

    assert not Path(f"/proc/{pid}").exists()


def test_cookies_survive_into_the_next_child_process(
    loop: asyncio.AbstractEventLoop,
    site: SignInSite,
    redirect_port: RedirectPortWatch,
    debug_port: int,
    child_env: dict[str, str],
    tmp_path: Path,
) -> None:
    profile_dir = tmp_path / "web-profile"

    async def first_sign_in() -> str | None:
        window = asyncio.ensure_future(
            real_window(site.url("/set-cookie"), redirect_port, profile_dir, child_env)
        )
        await click(debug_port, "#to-redirect", "/set-cookie", TIMEOUT_S)
        return await window

    async def second_window_then_cancel() -> None:
        window = asyncio.ensure_future(
            real_window(site.url("/show-cookie"), redirect_port, profile_dir, child_env)
        )
        await wait_for_request(site, "/show-cookie")
        window.cancel()
        with pytest.raises(asyncio.CancelledError):
            await window

    assert run(loop, first_sign_in()) == site.redirect_location
    run(loop, second_window_then_cancel())

    (request,) = site.requests_for("/show-cookie")
    assert f"{COOKIE_NAME}={site.cookie_value}" in request.headers.get("cookie", "")


# --- what the launcher makes of its child -------------------------------------


@pytest.mark.parametrize(
    ("child_code", "reason"),
    [
        ("print('Welcome!')", "without a readable answer"),
        ("print('{\"result\": \"cancelled\"}'); print('more')", "without a readable"),
        ("import os; os.abort()", "crashed"),
        ("import sys; sys.exit(3)", "exited with code 3"),
        ('print(\'{"result": "sideways"}\')', "answered something unreadable"),
        (
            'print(\'{"result": "redirect", "url": "http://localhost:1/?code=x"}\')',
            "not the redirect",
        ),
    ],
)
def test_a_child_without_a_proper_answer_is_an_error(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, child_code: str, reason: str
) -> None:
    with pytest.raises(SignInWindowError) as caught:
        run(loop, fake_child(tmp_path, [sys.executable, "-c", child_code]))

    assert reason in caught.value.reason


def test_a_child_that_cannot_start_is_an_error(
    loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    with pytest.raises(SignInWindowError, match="could not start"):
        run(loop, fake_child(tmp_path, [str(tmp_path / "no-such-program")]))


def test_a_closed_window_is_none(
    loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    child_code = 'import sys; sys.stdin.read(); print(\'{"result": "cancelled"}\')'

    result = run(loop, fake_child(tmp_path, [sys.executable, "-c", child_code]))

    assert result is None


def test_the_request_goes_to_the_child_on_stdin_not_its_command_line(
    loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    seen = tmp_path / "seen.json"
    child_code = (
        "import json, sys; request = sys.stdin.read();"
        f"open({str(seen)!r}, 'w').write(json.dumps([request, sys.argv]));"
        "print(json.dumps({'result': 'cancelled'}))"
    )

    # The window speaks the tray's language, which sets QLocale's default.
    previous_locale = QLocale()
    QLocale.setDefault(QLocale("ro_RO"))
    try:
        run(
            loop,
            run_sign_in_window(
                "http://127.0.0.1:9/login?state=secret-state",
                "http://localhost:31022",
                tmp_path / "profile",
                "test-profile",
                "Sign in (demo)",
                command=[sys.executable, "-c", child_code],
            ),
        )
    finally:
        QLocale.setDefault(previous_locale)

    request_text, argv = json.loads(seen.read_text())
    assert json.loads(request_text) == {
        "sign_in_url": "http://127.0.0.1:9/login?state=secret-state",
        "redirect_uri": "http://localhost:31022",
        "profile_dir": str(tmp_path / "profile"),
        "profile_name": "test-profile",
        "title": "Sign in (demo)",
        "language": "ro",
    }
    assert all("secret-state" not in argument for argument in argv)


def test_a_bad_request_is_reported_by_the_real_child(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, child_env: dict[str, str]
) -> None:
    with pytest.raises(SignInWindowError, match="sign_in_url must be an http"):
        run(
            loop,
            run_sign_in_window(
                "file:///etc/passwd",
                "http://localhost:31022",
                tmp_path,
                "test-profile",
                env=child_env,
            ),
        )
