"""Runs the sign-in window's in-process tests in a pytest process of their own.

Once QtWebEngine has run in a process, the second ``QApplication.exit()``
there crashes inside ``aboutToQuit`` (PySide6 6.11.3, offscreen and xcb
alike), and other tests in a session exit the application: qasync's
``run_until_complete`` does, on every call. Sharing the session would let
``sign_in_window_cases.py`` crash whatever test ran after it, so it gets its
own pytest process, which exits the application only once, at the end.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

CASES = Path(__file__).with_name("sign_in_window_cases.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 600

# Every case must run and pass: a skip there would hide a failure here.
EXPECTED_CASES = 13


def test_sign_in_window_cases_pass_in_their_own_process() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", str(CASES), "-q", "-p", "no:cacheprovider"],
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )

    report = finished.stdout + finished.stderr
    assert finished.returncode == 0, report[-20_000:]
    assert re.search(rf"\b{EXPECTED_CASES} passed\b", report), report[-20_000:]
    assert not re.search(r"\b(skipped|xfailed|xpassed)\b", report), report[-20_000:]
