"""tstray started before the panel (early autostart): the icon appears as
soon as a tray host does, on a real X screen of its own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.conftest import skip_or_fail

SHOW_ICON = """
import sys
from datetime import UTC, datetime
from PySide6.QtWidgets import QApplication
from tstray.ui.tray import TrayController
app = QApplication(sys.argv)
tray = TrayController(lambda: datetime.now(UTC))
print("tray now" if tray.show() else "no tray yet", flush=True)
app.exec()
"""


@pytest.fixture
def bare_screen() -> Iterator[str]:
    """An X screen with no tray host on it."""
    if not (
        shutil.which("Xvfb") and shutil.which("trayer") and shutil.which("xwininfo")
    ):
        skip_or_fail("needs Xvfb, trayer and xwininfo")
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            "800x600x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_end,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    number = os.read(read_end, 16).decode().strip()
    os.close(read_end)
    display = f":{number}"
    # Seen under load: the number arrived before clients could connect.
    deadline = time.monotonic() + 60
    while True:
        probe = subprocess.run(
            ["xwininfo", "-display", display, "-root"], capture_output=True
        )
        if probe.returncode == 0:
            break
        if time.monotonic() > deadline or xvfb.poll() is not None:
            xvfb.kill()
            pytest.fail(f"Xvfb on {display} never took a client")
        time.sleep(0.1)
    yield display
    xvfb.kill()
    xvfb.wait()


def panel_width(display: str) -> int:
    """Width of trayer's panel: it grows by one slot per embedded icon."""
    tree = subprocess.run(
        ["xwininfo", "-display", display, "-root", "-tree"],
        capture_output=True,
        text=True,
    ).stdout
    found = re.search(r'"panel": \("panel" "trayer"\)\s+(\d+)x\d+', tree)
    return int(found.group(1)) if found else 0


def test_icon_appears_when_the_tray_host_starts_later(bare_screen: str) -> None:
    env = {**os.environ, "DISPLAY": bare_screen, "QT_QPA_PLATFORM": "xcb"}
    app = subprocess.Popen(
        [sys.executable, "-c", SHOW_ICON], env=env, stdout=subprocess.PIPE, text=True
    )
    trayer = None
    try:
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "no tray yet"
        trayer = subprocess.Popen(
            ["trayer", "--edge", "top", "--widthtype", "request", "--height", "32"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and panel_width(bare_screen) < 16:
            time.sleep(0.2)
        assert panel_width(bare_screen) >= 16
    finally:
        app.kill()
        app.wait()
        if trayer is not None:
            trayer.kill()
            trayer.wait()
