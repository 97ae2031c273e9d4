"""Tests for tstray.signin.window_process on its own: the request it reads
from stdin, and the one line it answers on stdout when told to stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.sign_in_site import RedirectPortWatch, SignInSite

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60.0
CHILD_MODULE = "tstray.signin.window_process"


@pytest.fixture
def redirect_port() -> Iterator[RedirectPortWatch]:
    watch = RedirectPortWatch()
    yield watch
    watch.close()


@pytest.fixture
def site(redirect_port: RedirectPortWatch) -> Iterator[SignInSite]:
    site = SignInSite(f"{redirect_port.redirect_uri}/?code=abc&state=xyz")
    yield site
    site.close()


@pytest.fixture
def child_env() -> dict[str, str]:
    """The child's environment: QtWebEngine runs as root only unsandboxed."""
    return {
        **os.environ,
        "QTWEBENGINE_DISABLE_SANDBOX": "1",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
        ),
    }


async def wait_for_request(site: SignInSite, path: str) -> None:
    while not site.requests_for(path):
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("request_text", "message"),
    [
        ("not json", "not UTF-8 JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"sign_in_url": "http://127.0.0.1:9/"}', "missing field: redirect_uri"),
        (
            '{"sign_in_url": "http://a/", "redirect_uri": "http://b/",'
            ' "profile_dir": "/tmp/x", "profile_name": "p", "extra": 1}',
            "unknown fields: extra",
        ),
        (
            '{"sign_in_url": "http://a/", "redirect_uri": "http://b/",'
            ' "profile_dir": "/tmp/x", "profile_name": 5}',
            "profile_name must be a non-empty string",
        ),
    ],
)
def test_window_process_refuses_a_bad_request(
    child_env: dict[str, str], request_text: str, message: str
) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", CHILD_MODULE],
        input=request_text.encode(),
        capture_output=True,
        env=child_env,
        timeout=TIMEOUT_S,
        check=False,
    )

    assert finished.returncode == 2
    answer = json.loads(finished.stdout)
    assert answer["result"] == "error"
    assert message in answer["message"]
    assert finished.stdout.count(b"\n") == 1


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
def test_window_process_answers_cancelled_when_told_to_stop(
    site: SignInSite,
    redirect_port: RedirectPortWatch,
    child_env: dict[str, str],
    tmp_path: Path,
) -> None:
    request = {
        "sign_in_url": site.url("/login"),
        "redirect_uri": redirect_port.redirect_uri,
        "profile_dir": str(tmp_path / "web-profile"),
        "profile_name": "test-profile",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", CHILD_MODULE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=child_env,
    )
    try:
        assert child.stdin is not None
        child.stdin.write(json.dumps(request).encode())
        child.stdin.close()
        asyncio.run(asyncio.wait_for(wait_for_request(site, "/login"), TIMEOUT_S))

        child.send_signal(signal.SIGTERM)
        child.wait(timeout=TIMEOUT_S)
        assert child.stdout is not None
        stdout = child.stdout.read()
    finally:
        child.kill()
        child.wait()

    assert child.returncode == 0
    assert stdout == b'{"result": "cancelled"}\n'
