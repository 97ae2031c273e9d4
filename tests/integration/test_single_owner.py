"""One tstray per user and profile, with real processes: a second start hands
its request to the running one and exits 0; a lock left behind by a tstray
killed with SIGKILL does not stop the next start; and of several starts at
the same moment exactly one becomes the owner.

The apps here are signed out (nothing to refresh), so they contact no
sign-in service; they need an X screen and a D-Bus session
(tests/with-desktop.sh) like every run of the real app.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.integration.app_support import App
from tests.reliability.support import delete_tokens, wait_until

pytestmark = pytest.mark.e2e

NOWHERE = "http://127.0.0.1:9"
HANDED_OVER = "a second start handed over"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip_or_fail("needs tests/with-desktop.sh (an X screen and a D-Bus session)")
    delete_tokens()
    app = App(tmp_path / "app", NOWHERE)
    yield app
    app.kill()


def _lock_file(app: App) -> Path:
    return app.home / "runtime" / "tstray" / "instance.lock"


def _serves(app: App) -> bool:
    """Whether the local token service answers (503 while signed out)."""
    try:
        httpx.get(f"{app.base_url}/healthz", timeout=2)
    except httpx.TransportError:
        return False
    return True


def test_a_second_start_hands_over_and_exits_0(app: App) -> None:
    app.start()

    second = app.second_start()

    assert second.returncode == 0, second.stderr
    assert "already running" in second.stderr
    wait_until(lambda: app.count_log(f"{HANDED_OVER}: activate") == 1, 20, "hand-over")
    assert app.process is not None and app.process.poll() is None
    assert _serves(app)


def test_a_lock_left_by_a_killed_owner_does_not_block_the_next_start(
    app: App,
) -> None:
    app.start()
    assert app.process is not None
    first_pid = app.process.pid
    app.process.send_signal(signal.SIGKILL)
    app.process.wait()
    app.process = None
    # The killed owner had no chance to clean up: its lock is still there.
    assert _lock_file(app).exists()

    app.start()

    assert app.process is not None
    owner_pid = int(_lock_file(app).read_text().split()[0])
    assert owner_pid == app.process.pid != first_pid
    # It really owns the profile: a further start hands over to it.
    second = app.second_start("login")
    assert second.returncode == 0, second.stderr
    wait_until(lambda: app.count_log(f"{HANDED_OVER}: sign-in") == 1, 20, "hand-over")


def test_starts_at_the_same_moment_make_exactly_one_owner(app: App) -> None:
    output = (app.home / "stderr.log").open("ab")
    command = [sys.executable, "-m", "tstray", "--config", str(app.config_file)]
    starts = [
        subprocess.Popen(command, env=app.env, stdout=output, stderr=output)
        for _ in range(3)
    ]
    try:
        wait_until(
            lambda: sum(p.poll() is not None for p in starts) >= 2,
            60,
            "all but one start to hand over",
        )
        wait_until(lambda: _serves(app), 30, "the owner to serve")

        running = [p for p in starts if p.poll() is None]
        exited = [p for p in starts if p.poll() is not None]
        assert len(running) == 1
        assert [p.returncode for p in exited] == [0, 0]
        assert app.log_text().count("starting (profile default)") == 1
        wait_until(lambda: app.count_log(HANDED_OVER) == 2, 20, "both hand-overs")
        owner_pid = int(_lock_file(app).read_text().split()[0])
        assert owner_pid == running[0].pid
    finally:
        for process in starts:
            process.kill()
            process.wait()
        output.close()
