"""Sign-in through the system browser (tstray.signin.browser) over real
loopback HTTP: a "browser" (an httpx client acting like a user) signs in at
the in-process demo sign-in service and follows its redirect to the one-shot
listener; the flow gets tokens. Also a busy port, other paths and hosts, a
forged redirect, and the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pytestqt.qtbot import QtBot

from tstray.demo import CALLBACK_URLS, DEMO_CLIENT_SECRET, DemoSignInService
from tstray.oauth.client import TokenClient
from tstray.signin.browser import BrowserSignInError, run_browser_sign_in
from tstray.signin.flow import SignInFlow

TIMEOUT_S = 30.0


def _free_callback_url() -> str:
    """One of the demo key's callback URLs whose port is free right now."""
    # Port 80 last: binding it needs root.
    for url in sorted(CALLBACK_URLS, key=lambda u: (urlsplit(u).port or 80) == 80):
        port = urlsplit(url).port or 80
        with socket.socket() as probe:
            # As the listener binds: a closed connection's TIME_WAIT is no
            # obstacle, only another listener is.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return url
    pytest.fail("every callback port of the demo key is in use")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoSignInService]:
    with DemoSignInService(tmp_path / "demo") as service:
        yield service


def _transaction(page: str) -> str:
    found = re.search(r'name="transaction" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


class UserInBrowser:
    """Plays the browser: opens the sign-in URL, signs in like a user (or
    declines), and follows the last redirect to the loopback listener."""

    def __init__(self, *, allow: bool = True) -> None:
        self.allow = allow
        self.final_page = ""
        self.final_status = 0
        self.done = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def open_url(self, url: str) -> bool:
        task = asyncio.get_running_loop().create_task(self._browse(url))
        self._tasks.add(task)
        return True

    async def _browse(self, url: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_S) as browser:
                page = await browser.get(url)
                assert page.status_code == 200, page.text
                base = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
                consent = await browser.post(
                    f"{base}/u/login",
                    data={
                        "transaction": _transaction(page.text),
                        "username": "Ana Popescu",
                        "password": "demo",
                    },
                )
                assert consent.status_code == 200, consent.text
                redirect = await browser.post(
                    f"{base}/u/consent",
                    data={
                        "transaction": _transaction(consent.text),
                        "action": "allow" if self.allow else "deny",
                    },
                )
                assert redirect.status_code == 302
                final = await browser.get(redirect.headers["location"])
                self.final_status = final.status_code
                self.final_page = final.text
        finally:
            self.done.set()


def _flow(
    demo: DemoSignInService,
    http: httpx.AsyncClient,
    callback_url: str,
    open_window: Callable[[str, str], Awaitable[str | None]],
) -> SignInFlow:
    settings = replace(demo.settings(), redirect_uri=callback_url)

    async def secret() -> str:
        return DEMO_CLIENT_SECRET

    return SignInFlow(
        settings, TokenClient(settings, lambda: http, secret), open_window
    )


def test_user_signs_in_in_the_browser_and_tokens_arrive(
    demo: DemoSignInService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    callback_url = _free_callback_url()
    user = UserInBrowser()

    async def scenario() -> None:
        async with httpx.AsyncClient() as http:
            flow = _flow(
                demo,
                http,
                callback_url,
                lambda url, redirect: run_browser_sign_in(
                    url, redirect, open_url=user.open_url, timeout_s=TIMEOUT_S
                ),
            )
            tokens = await asyncio.wait_for(flow.sign_in(), TIMEOUT_S)
            await asyncio.wait_for(user.done.wait(), TIMEOUT_S)

            assert tokens is not None
            assert demo.verify_jwt(tokens.access_token) is not None
            assert tokens.refresh_token

    asyncio.run(scenario())

    assert user.final_status == 200
    assert "You are signed in to tstray; you can close this tab." in user.final_page
    # The page and the log never carry the code.
    code_words = [
        r.getMessage() for r in caplog.records if r.name.startswith("tstray.")
    ]
    assert not any("code=" in line for line in [*code_words, user.final_page])
    # The listener is gone: the port is free again.
    _assert_nobody_listens(urlsplit(callback_url).port or 80)


def test_declined_sign_in_shows_the_error_and_ends_the_flow(
    demo: DemoSignInService,
) -> None:
    from tstray.oauth.authorize import SignInCancelledError

    callback_url = _free_callback_url()
    user = UserInBrowser(allow=False)

    async def scenario() -> None:
        async with httpx.AsyncClient() as http:
            flow = _flow(
                demo,
                http,
                callback_url,
                lambda url, redirect: run_browser_sign_in(
                    url, redirect, open_url=user.open_url, timeout_s=TIMEOUT_S
                ),
            )
            with pytest.raises(SignInCancelledError):
                await asyncio.wait_for(flow.sign_in(), TIMEOUT_S)
            await asyncio.wait_for(user.done.wait(), TIMEOUT_S)

    asyncio.run(scenario())
    assert "User did not authorize the request" in user.final_page


def test_busy_port_says_which_port_and_what_to_do() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        opened: list[str] = []

        def open_url(url: str) -> bool:
            opened.append(url)
            return True

        async def scenario() -> None:
            await run_browser_sign_in(
                "http://127.0.0.1:9/authorize?state=s",
                f"http://localhost:{port}",
                open_url=open_url,
                timeout_s=TIMEOUT_S,
            )

        with pytest.raises(BrowserSignInError) as raised:
            asyncio.run(scenario())

    assert str(port) in raised.value.reason
    assert "callback URL" in raised.value.reason
    assert opened == []


def _assert_nobody_listens(port: int) -> None:
    # SO_REUSEADDR: closed connections may linger in TIME_WAIT; only a
    # listener still open makes this bind fail.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_only_the_redirect_path_and_host_are_answered() -> None:
    port = _free_port()
    redirect_uri = f"http://localhost:{port}/callback"
    answers: dict[str, int] = {}

    async def visitor(url: str) -> None:
        base = f"http://127.0.0.1:{port}"
        host = {"Host": f"localhost:{port}"}
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            answers["other path"] = (
                await client.get(f"{base}/", headers=host)
            ).status_code
            answers["favicon"] = (
                await client.get(f"{base}/favicon.ico", headers=host)
            ).status_code
            answers["wrong host"] = (
                await client.get(
                    f"{base}/callback?code=c&state=s1", headers={"Host": "evil.test"}
                )
            ).status_code
            answers["wrong state"] = (
                await client.get(f"{base}/callback?code=c&state=other", headers=host)
            ).status_code
            answers["post"] = (
                await client.post(f"{base}/callback?code=c&state=s1", headers=host)
            ).status_code
            answers["right"] = (
                await client.get(f"{base}/callback?code=c&state=s1", headers=host)
            ).status_code

    async def scenario() -> str | None:
        tasks: list[asyncio.Task[None]] = []

        def open_url(url: str) -> bool:
            tasks.append(asyncio.get_running_loop().create_task(visitor(url)))
            return True

        result = await run_browser_sign_in(
            "http://127.0.0.1:9/authorize?state=s1",
            redirect_uri,
            open_url=open_url,
            timeout_s=TIMEOUT_S,
        )
        await asyncio.gather(*tasks)
        return result

    result = asyncio.run(scenario())

    assert result == f"http://localhost:{port}/callback?code=c&state=s1"
    assert answers == {
        "other path": 404,
        "favicon": 404,
        "wrong host": 400,
        "wrong state": 400,
        "post": 405,
        "right": 200,
    }


def test_no_answer_within_the_timeout_gives_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    port = _free_port()

    result = asyncio.run(
        run_browser_sign_in(
            "http://127.0.0.1:9/authorize?state=s",
            f"http://localhost:{port}",
            open_url=lambda url: True,
            timeout_s=0.2,
        )
    )

    assert result is None
    assert any("stopped waiting" in r.getMessage() for r in caplog.records)
    _assert_nobody_listens(port)


def test_a_browser_that_cannot_open_is_an_error() -> None:
    port = _free_port()
    with pytest.raises(BrowserSignInError):
        asyncio.run(
            run_browser_sign_in(
                "http://127.0.0.1:9/authorize?state=s",
                f"http://localhost:{port}",
                open_url=lambda url: False,
                timeout_s=TIMEOUT_S,
            )
        )


def test_the_tray_menu_offers_the_browser_sign_in(qtbot: QtBot) -> None:
    from tstray.oauth.tokens import utc_now
    from tstray.ui.tray import TrayController

    tray = TrayController(utc_now)
    (action,) = [
        a for a in tray.menu.actions() if a.text() == "Sign in with my browser\u2026"
    ]
    with (
        qtbot.waitSignal(tray.browser_sign_in_requested, timeout=1000),
        qtbot.assertNotEmitted(tray.sign_in_requested),
    ):
        action.trigger()
    tray.deleteLater()
