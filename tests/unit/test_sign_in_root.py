"""The sign-in window is refused up front for a root user (Chromium would
die with only a line on stderr), unless a test set-up turned its sandbox off
through Qt's own variables."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tstray.signin import launcher
from tstray.signin.launcher import SignInWindowError, root_refusal, run_sign_in_window


def test_a_normal_user_is_never_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher.os, "geteuid", lambda: 1000)
    assert root_refusal({}) == ""


@pytest.mark.parametrize(
    ("environment", "refused"),
    [
        ({}, True),
        ({"QTWEBENGINE_DISABLE_SANDBOX": ""}, True),
        ({"QTWEBENGINE_DISABLE_SANDBOX": "1"}, False),
        ({"QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox --disable-gpu"}, False),
    ],
)
def test_root_is_refused_unless_the_sandbox_is_off(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], refused: bool
) -> None:
    monkeypatch.setattr(launcher.os, "geteuid", lambda: 0)
    words = root_refusal(environment)
    assert bool(words) is refused
    if refused:
        assert "root" in words and "Sign in with my browser" in words


def test_the_window_is_not_started_for_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(launcher.os, "geteuid", lambda: 0)

    with pytest.raises(SignInWindowError, match="cannot run as root"):
        asyncio.run(
            run_sign_in_window(
                "http://127.0.0.1:9/authorize",
                "http://127.0.0.1:9/callback",
                tmp_path / "profile",
                "tstray-test",
                env={"HOME": str(tmp_path)},
            )
        )
