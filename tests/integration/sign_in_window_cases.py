"""In-process tests for tstray.signin.window with real QtWebEngine against a
loopback sign-in site: the redirect is caught without ever touching its port,
the user's close counts as cancel, cookies persist, pop-ups and bad
certificates are handled safely, and the code never reaches the log.

These run in a pytest process of their own (``test_sign_in_window.py``
starts it); see there why. By hand:
``pytest tests/integration/sign_in_window_cases.py``.
"""

from __future__ import annotations

import logging
import os

# Before anything starts Qt: QtWebEngine refuses to run as root with its
# sandbox on (tests only), and a machine without a screen needs offscreen.
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from pytestqt.qtbot import QtBot

from tests.helpers.sign_in_site import COOKIE_NAME, RedirectPortWatch, SignInSite
from tstray.signin.window import SignInWindow

CODE = "SplxlOBeZQQYbYS6WxSbIA"
STATE = "xyz-state-value"
LOAD_TIMEOUT_MS = 30_000

OpenWindow = Callable[..., SignInWindow]


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
def open_window(
    qtbot: QtBot, tmp_path: Path, redirect_port: RedirectPortWatch
) -> Iterator[OpenWindow]:
    """Opens sign-in windows on the test's own profile; deletes them after."""
    windows: list[SignInWindow] = []

    def open_window(url: str, *, wait_for_load: bool = True) -> SignInWindow:
        window = SignInWindow(
            url, redirect_port.redirect_uri, tmp_path / "web-profile", "test-profile"
        )
        windows.append(window)
        if wait_for_load:
            with qtbot.waitSignal(window.page().loadFinished, timeout=LOAD_TIMEOUT_MS):
                window.show()
        else:
            window.show()
        return window

    yield open_window

    for window in windows:
        delete_window(qtbot, window)


def delete_window(qtbot: QtBot, window: SignInWindow) -> None:
    """Closes and deletes a window, waiting until Qt has really deleted it."""
    if not shiboken6.isValid(window):
        return
    window.close()
    deleted: list[bool] = []
    window.destroyed.connect(lambda: deleted.append(True))
    window.deleteLater()
    qtbot.waitUntil(lambda: bool(deleted), timeout=LOAD_TIMEOUT_MS)


def run_js(qtbot: QtBot, window: SignInWindow, script: str) -> Any:
    with qtbot.waitCallback(timeout=LOAD_TIMEOUT_MS) as callback:
        window.page().runJavaScript(script, 0, callback)
    return callback.args[0] if callback.args else None


def record_browser_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stands in for the desktop's browser, which does not run here."""
    opened: list[str] = []

    def open_url(url: QUrl | str) -> bool:
        opened.append(QUrl(url).toString())
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    return opened


def record_signals(window: SignInWindow) -> dict[str, list[Any]]:
    emitted: dict[str, list[Any]] = {"redirect_reached": [], "closed": []}
    window.redirect_reached.connect(emitted["redirect_reached"].append)
    window.closed.connect(lambda: emitted["closed"].append(None))
    return emitted


# --- catching the redirect ---------------------------------------------------


def test_form_sign_in_ends_at_the_redirect_without_touching_its_port(
    qtbot: QtBot,
    open_window: OpenWindow,
    site: SignInSite,
    redirect_port: RedirectPortWatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    window = open_window(site.url("/login"))
    emitted = record_signals(window)

    with qtbot.waitSignal(window.redirect_reached, timeout=LOAD_TIMEOUT_MS) as blocker:
        run_js(
            qtbot,
            window,
            "document.getElementById('username').value = 'trader';"
            "document.getElementById('password').value = 'hunter2';"
            "document.getElementById('sign-in').click();",
        )

    assert blocker.args == [
        f"http://localhost:{redirect_port.port}/?code={CODE}&state={STATE}"
    ]
    assert [
        request.form
        for request in site.requests_for("/login")
        if request.method == "POST"
    ] == [{"username": ["trader"], "password": ["hunter2"]}]
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=LOAD_TIMEOUT_MS)
    assert emitted == {"redirect_reached": [blocker.args[0]], "closed": []}

    # A refused navigation opens no connection at all; give a wrongly
    # accepted one the time to show up in the listen queue.
    assert not redirect_port.connection_attempted(wait_s=1.0)
    assert all(CODE not in record.getMessage() for record in caplog.records)
    assert any(
        "redirected to http://localhost" in record.getMessage()
        for record in caplog.records
    )


def test_link_to_the_redirect_is_caught(
    qtbot: QtBot,
    open_window: OpenWindow,
    site: SignInSite,
    redirect_port: RedirectPortWatch,
) -> None:
    window = open_window(site.url("/link"))

    with qtbot.waitSignal(window.redirect_reached, timeout=LOAD_TIMEOUT_MS) as blocker:
        run_js(qtbot, window, "document.getElementById('to-redirect').click();")

    assert blocker.args == [site.redirect_location]
    assert not redirect_port.connection_attempted(wait_s=1.0)


def test_script_navigation_to_the_redirect_is_caught(
    qtbot: QtBot,
    open_window: OpenWindow,
    site: SignInSite,
    redirect_port: RedirectPortWatch,
) -> None:
    window = open_window(site.url("/login"))
    target = f"{redirect_port.redirect_uri}/?code=from-script&state={STATE}"

    with qtbot.waitSignal(window.redirect_reached, timeout=LOAD_TIMEOUT_MS) as blocker:
        run_js(qtbot, window, f"location = {target!r};")

    assert blocker.args == [target]
    assert not redirect_port.connection_attempted(wait_s=1.0)


def test_escaped_characters_in_the_code_arrive_unchanged(
    qtbot: QtBot,
    open_window: OpenWindow,
    site: SignInSite,
    redirect_port: RedirectPortWatch,
) -> None:
    site.redirect_location = (
        f"{redirect_port.redirect_uri}/?code=a%2Bb%2F%3D%20c&state=s%26t"
    )
    window = open_window(site.url("/link"))

    with qtbot.waitSignal(window.redirect_reached, timeout=LOAD_TIMEOUT_MS) as blocker:
        run_js(qtbot, window, "document.getElementById('to-redirect').click();")

    assert blocker.args == [site.redirect_location]


def test_requests_for_the_redirect_from_inside_a_page_are_blocked(
    qtbot: QtBot,
    open_window: OpenWindow,
    site: SignInSite,
    redirect_port: RedirectPortWatch,
) -> None:
    window = open_window(site.url("/subresources"))
    emitted = record_signals(window)

    qtbot.waitUntil(
        lambda: run_js(qtbot, window, "document.body.dataset.probe || ''") == "failed",
        timeout=LOAD_TIMEOUT_MS,
    )

    # An image is not the page: the sign-in goes on, and the port saw nothing.
    assert emitted == {"redirect_reached": [], "closed": []}
    assert window.isVisible()
    assert not redirect_port.connection_attempted(wait_s=1.0)


def test_redirect_to_another_port_is_not_caught(
    qtbot: QtBot,
    open_window: OpenWindow,
    site: SignInSite,
    redirect_port: RedirectPortWatch,
) -> None:
    window = open_window(site.url("/login"))
    emitted = record_signals(window)

    with qtbot.waitSignal(window.page().loadFinished, timeout=LOAD_TIMEOUT_MS):
        run_js(
            qtbot, window, f"location = {site.url('/second?code=not-the-redirect')!r};"
        )

    assert window.page().url().path() == "/second"
    assert emitted == {"redirect_reached": [], "closed": []}


# --- closing, cookies, pop-ups, certificates ----------------------------------


def test_user_closing_the_window_is_a_cancel(
    qtbot: QtBot, open_window: OpenWindow, site: SignInSite
) -> None:
    window = open_window(site.url("/login"))
    emitted = record_signals(window)

    with qtbot.waitSignal(window.closed, timeout=LOAD_TIMEOUT_MS):
        window.close()

    assert emitted == {"redirect_reached": [], "closed": [None]}
    # Closing again (or a late redirect) does not end the sign-in twice.
    window.close()
    assert emitted == {"redirect_reached": [], "closed": [None]}


def test_cookies_survive_into_the_next_window(
    qtbot: QtBot, open_window: OpenWindow, site: SignInSite, qtlog: Any
) -> None:
    first = open_window(site.url("/set-cookie"))
    delete_window(qtbot, first)

    open_window(site.url("/show-cookie"))

    (request,) = site.requests_for("/show-cookie")
    assert f"{COOKIE_NAME}={site.cookie_value}" in request.headers.get("cookie", "")
    # The window deletes its page before its profile; the other way round
    # Qt warns and may lose what the profile had not yet written.
    assert not [
        record for record in qtlog.records if "Release of profile" in record.message
    ]


def test_popup_to_another_host_goes_to_the_system_browser(
    qtbot: QtBot,
    open_window: OpenWindow,
    site: SignInSite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened = record_browser_opens(monkeypatch)
    window = open_window(site.url("/popups"))

    run_js(qtbot, window, "document.getElementById('popup-other').click();")
    qtbot.waitUntil(lambda: bool(opened), timeout=LOAD_TIMEOUT_MS)

    assert opened == [f"{site.other_host_url}/elsewhere"]
    assert window.isVisible()
    assert window.page().url().toString() == site.url("/popups")
    assert site.requests_for("/elsewhere") == []


def test_popup_on_the_same_host_opens_in_the_window(
    qtbot: QtBot,
    open_window: OpenWindow,
    site: SignInSite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened = record_browser_opens(monkeypatch)
    window = open_window(site.url("/popups"))

    with qtbot.waitSignal(window.page().loadFinished, timeout=LOAD_TIMEOUT_MS):
        run_js(qtbot, window, "document.getElementById('popup-same').click();")

    assert window.page().url().toString() == site.url("/second")
    assert opened == []


def test_navigation_to_another_host_goes_to_the_system_browser(
    qtbot: QtBot,
    open_window: OpenWindow,
    site: SignInSite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened = record_browser_opens(monkeypatch)
    window = open_window(site.url("/login"))
    emitted = record_signals(window)

    run_js(qtbot, window, f"location = {site.other_host_url + '/elsewhere'!r};")
    qtbot.waitUntil(lambda: bool(opened), timeout=LOAD_TIMEOUT_MS)

    # A help link leaves the window on the sign-in page, untouched.
    assert opened == [f"{site.other_host_url}/elsewhere"]
    assert window.isVisible()
    assert window.page().url().toString() == site.url("/login")
    assert site.requests_for("/elsewhere") == []
    assert emitted == {"redirect_reached": [], "closed": []}


def test_page_with_an_untrusted_certificate_is_refused(
    qtbot: QtBot,
    open_window: OpenWindow,
    tmp_path: Path,
    redirect_port: RedirectPortWatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tls_files = self_signed_certificate(tmp_path)
    tls_site = SignInSite(redirect_port.redirect_uri, tls_files=tls_files)
    try:
        window = open_window(tls_site.url("/login"), wait_for_load=False)
        with qtbot.waitSignal(
            window.page().loadFinished, timeout=LOAD_TIMEOUT_MS
        ) as blocker:
            pass

        assert blocker.args == [False]
        assert tls_site.requests == []
        assert any(
            "certificate is not valid" in record.getMessage()
            for record in caplog.records
        )
    finally:
        tls_site.close()


def test_address_line_shows_the_host_and_whether_it_is_secure(
    open_window: OpenWindow, site: SignInSite
) -> None:
    window = open_window(site.url("/login"))
    assert window.address_text == "\N{WARNING SIGN} Not secure: 127.0.0.1"

    window.on_view_url_changed(
        QUrl("https://signin.tradestation.com/u/login?state=abc")
    )
    assert window.address_text == "\N{LOCK} signin.tradestation.com"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        reason = "openssl is needed to make a test certificate"
        if os.environ.get("CI") or os.environ.get("TSTRAY_TEST_DESKTOP"):
            pytest.fail(reason)
        pytest.skip(reason)
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            str(openssl),
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return certificate, key
