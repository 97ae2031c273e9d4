"""Settings every test shares: a private home for tstray's files, and Qt set
up for this machine.

Tests never touch the real user's config, keyring entries or logs: each test
session gets its own XDG folders, and keyring tests use their own service
names inside the throwaway gnome-keyring of tests/with-desktop.sh.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Before anything imports Qt.
os.environ.setdefault(
    "QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen"
)
# QtWebEngine refuses to start as root with its sandbox on; tests only.
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

_private_home = Path(tempfile.mkdtemp(prefix="tstray-tests-"))
for _name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
    os.environ[_name] = str(_private_home / _name.lower())
# An autostart entry installed for all users (/etc/xdg) must not reach tests.
os.environ["XDG_CONFIG_DIRS"] = str(_private_home / "xdg_config_dirs")


def must_not_skip() -> bool:
    """In CI and inside tests/with-desktop.sh the real parts are there; a test
    that finds them missing must fail rather than skip."""
    return bool(os.environ.get("CI") or os.environ.get("TSTRAY_TEST_DESKTOP"))


def skip_or_fail(reason: str) -> None:
    if must_not_skip():
        pytest.fail(f"required real part missing: {reason}")
    pytest.skip(reason)
