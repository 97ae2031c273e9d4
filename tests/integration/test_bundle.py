"""The one-folder app that PyInstaller builds (packaging/build-linux.sh):
it starts, answers ``--version``, serves ``/healthz`` in demo mode, and signs
in through its own sign-in window, which the frozen app starts as
``tstray --sign-in-window`` with QtWebEngine inside the bundle.

Building takes about a minute and half a gigabyte, too much for every test
run: this runs only with ``TSTRAY_TEST_BUNDLE=1``, inside the test desktop:

    TSTRAY_TEST_BUNDLE=1 tests/with-desktop.sh \\
        /tmp/venv/bin/python -m pytest tests/integration/test_bundle.py -m bundle

``PYTHON`` may name an interpreter with ``.[packaging]`` installed; without it
build-linux.sh makes its own venv under build/.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.helpers.footprint import DemoTstray, mapped_files, tree_pids

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "dist" / "tstray" / "tstray"

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(
        os.environ.get("TSTRAY_TEST_BUNDLE") != "1",
        reason="builds the PyInstaller bundle; set TSTRAY_TEST_BUNDLE=1",
    ),
]


@pytest.fixture(scope="module")
def bundle() -> Path:
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip_or_fail("needs tests/with-desktop.sh (an X screen and a Secret Service)")
    # The script builds, then checks --version and /healthz in demo mode in a
    # test desktop of its own; it fails on any problem.
    built = subprocess.run(
        ["bash", str(REPO / "packaging" / "build-linux.sh")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert "check-bundle: OK" in built.stdout
    return BUNDLE


@pytest.fixture
def frozen_app(bundle: Path, tmp_path: Path) -> Iterator[DemoTstray]:
    app = DemoTstray(tmp_path, command=[str(bundle)])
    yield app
    if app.process is not None:
        app.process.kill()
        app.process.wait()


def test_bundle_answers_version(bundle: Path) -> None:
    answer = subprocess.run(
        [str(bundle), "--version"], capture_output=True, text=True, timeout=60
    )
    assert answer.returncode == 0
    assert answer.stdout.startswith("tstray ")


def test_bundle_signs_in_through_its_own_window(frozen_app: DemoTstray) -> None:
    frozen_app.start()
    frozen_app.wait_serving()

    frozen_app.open_sign_in_window()
    window_processes = [p for p in tree_pids(frozen_app.pid) if p != frozen_app.pid]
    # The window runs from the bundle's own QtWebEngine, in a child process.
    assert any(
        str(BUNDLE.parent) in path and "WebEngineCore" in path
        for pid in window_processes
        for path in mapped_files(pid)
    )
    frozen_app.finish_sign_in()
    frozen_app.wait_signed_in()
    frozen_app.wait_alone()

    token = frozen_app.run("token")
    assert token.returncode == 0 and token.stdout.strip()
    assert frozen_app.stop() == 0

    # The bundle's keyring helper (tstray --keyring-helper) saved the session
    # and another reads it back at the next start: no sign-in needed.
    frozen_app.start()
    frozen_app.wait_serving()
    again = frozen_app.run("token")
    assert again.returncode == 0 and again.stdout.strip(), again.stderr
    assert frozen_app.stop() == 0
