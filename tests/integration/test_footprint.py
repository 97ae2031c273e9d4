"""QtWebEngine costs memory only while the sign-in window is open: a real
``tstray --demo`` process never maps Chromium's library into the tray
process, the window runs in child processes, and when the window closes
after a sign-in those processes are gone.

Checked from outside, as ``top`` would, through /proc (maps and the process
tree). Needs the test desktop (tests/with-desktop.sh). The figures (memory,
start-up, idle CPU) are measured by tests/bench/bench_footprint.py.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.helpers.footprint import DemoTstray, mapped_files, tree_pids

pytestmark = pytest.mark.e2e

WEBENGINE_LIBRARY = "libQt6WebEngineCore"


def maps_webengine(pid: int) -> bool:
    return any(WEBENGINE_LIBRARY in path for path in mapped_files(pid))


def maps_keyring_crypto(pid: int) -> bool:
    """Whether ``pid`` maps the cryptography package the keyring's Secret
    Service client needs (its compiled Rust library)."""
    return any(f"{os.sep}cryptography{os.sep}" in path for path in mapped_files(pid))


def wait_until_gone(pids: list[int], timeout_s: float) -> list[int]:
    """Waits for ``pids`` to end; returns those still running at the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        alive = [pid for pid in pids if _running(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[DemoTstray]:
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip_or_fail("needs tests/with-desktop.sh (an X screen and a Secret Service)")
    app = DemoTstray(tmp_path)
    yield app
    if app.process is not None:
        for pid in reversed(tree_pids(app.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        app.process.wait()


def test_webengine_lives_only_in_the_sign_in_windows_processes(
    app: DemoTstray,
) -> None:
    app.start()
    app.wait_serving()
    # The keyring helper that loads the stored session is the one child
    # process of a tray at rest, and it ends once it has answered.
    app.wait_alone()
    assert not maps_webengine(app.pid)

    app.open_sign_in_window()
    children = [pid for pid in tree_pids(app.pid) if pid != app.pid]
    # The window's process (and Chromium's helpers) do map it: the check sees
    # the library where it is loaded.
    assert any(maps_webengine(pid) for pid in children), children
    assert not maps_webengine(app.pid)

    app.finish_sign_in()
    app.wait_signed_in()
    app.wait_alone()
    # Not just gone from the tree: no Chromium helper lives on as an orphan.
    assert wait_until_gone(children, timeout_s=30) == []
    assert not maps_webengine(app.pid)
    # Signed in and saved: the keyring library did that in helpers, never here.
    assert not maps_keyring_crypto(app.pid)

    assert app.stop() == 0
