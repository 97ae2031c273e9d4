"""Takes the README's screenshots of the real app under Xvfb.

Runs `tstray --demo` with throwaway folders, opens the sign-in window through
`tstray login`, photographs it, signs in over the DevTools protocol, then
right-clicks the real tray icon and photographs the menu.

Run from the repository root, inside the test desktop:
    tests/with-desktop.sh .venv/bin/python docs/screenshots/make_screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.helpers.devtools import click, fill_and_click  # noqa: E402
from tests.helpers.ports import free_port  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def window_geometry(window_id: str) -> tuple[int, int, int, int]:
    info = run("xwininfo", "-id", window_id)
    numbers = {
        key: int(re.search(rf"{key}:\s+(-?\d+)", info).group(1))  # type: ignore[union-attr]
        for key in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height")
    }
    return (
        numbers["Absolute upper-left X"],
        numbers["Absolute upper-left Y"],
        numbers["Width"],
        numbers["Height"],
    )


def grab(name: str, x: int, y: int, width: int, height: int) -> None:
    target = OUT / name
    run("import", "-window", "root", "-crop", f"{width}x{height}+{x}+{y}", str(target))
    print(f"wrote {target.relative_to(ROOT)}")


def wait_for_window(pattern: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", pattern],
            capture_output=True,
            text=True,
        ).stdout.split()
        if found:
            return found[-1]
        time.sleep(0.3)
    raise RuntimeError(f"no window named like {pattern!r}")


def main() -> int:
    if not os.environ.get("DISPLAY"):
        print("run inside tests/with-desktop.sh", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="tstray-shots-"))
    port, debug_port = free_port(), free_port()
    config = home / "config.toml"
    config.write_text(f"[server]\nport = {port}\n", encoding="utf-8")
    env = dict(
        os.environ,
        XDG_CONFIG_HOME=str(home / "c"),
        XDG_STATE_HOME=str(home / "s"),
        XDG_DATA_HOME=str(home / "d"),
        XDG_RUNTIME_DIR=str(home / "r"),
        QTWEBENGINE_DISABLE_SANDBOX="1",
        QTWEBENGINE_REMOTE_DEBUGGING=f"127.0.0.1:{debug_port}",
        PYTHONPATH=str(ROOT),
    )
    (home / "r").mkdir(mode=0o700)
    tstray = [sys.executable, "-m", "tstray", "--demo", "--config", str(config)]
    app = subprocess.Popen(tstray, env=env, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)

        subprocess.run([*tstray, "login"], env=env, check=True, capture_output=True)
        window = wait_for_window("Sign in to TradeStation")
        time.sleep(2.5)  # let the page paint
        grab("sign-in-window.png", *window_geometry(window))

        async def sign_in() -> None:
            await fill_and_click(
                debug_port,
                {"#username": "Demo Trader", "#password": "demo"},
                "#sign-in",
                url_contains="/authorize",
                timeout_s=30,
            )
            await click(debug_port, "#allow", url_contains="/u/", timeout_s=30)

        asyncio.run(sign_in())
        time.sleep(2)

        tray = wait_for_window("panel")  # trayer's window
        x, y, width, height = window_geometry(tray)
        run(
            "xdotool",
            "mousemove",
            str(x + width - 12),
            str(y + height // 2),
            "click",
            "3",
        )
        time.sleep(1.5)
        screen_w = int(run("xdpyinfo").split("dimensions:")[1].split("x")[0])
        grab("tray-menu.png", screen_w - 300, 0, 300, 230)
    finally:
        app.terminate()
        app.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
