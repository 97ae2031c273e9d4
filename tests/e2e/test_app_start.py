"""Start-up as a user meets it: a broken settings file is reported in the app
and the log, and the app still runs on the defaults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_demo_end_to_end import DemoApp, demo_app  # noqa: F401  # fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def broken_config_app(demo_app: DemoApp) -> Iterator[DemoApp]:  # noqa: F811
    demo_app.config_file.write_text(
        f"[server]\nport = {demo_app.port}\n"
        "[tradestation]\nrefresh_margin_s = -5\nscopes = 'openid'\n",
        encoding="utf-8",
    )
    yield demo_app


def test_broken_settings_are_shown_and_the_app_runs(broken_config_app: DemoApp) -> None:
    app = broken_config_app
    app.start()
    assert app.get("/v1/status").json()["state"] == "signed_out"

    deadline = time.monotonic() + 20
    log_text = ""
    while time.monotonic() < deadline:
        log_text = app.log_text()
        if "notice config_problem" in log_text:
            break
        time.sleep(0.2)
    assert "notice config_problem" in log_text
    assert "[tradestation.refresh_margin_s] should be a whole number" in log_text
    assert str(app.config_file) in log_text
    assert app.stop() == 0


def test_help_and_version_need_no_display(tmp_path: Path) -> None:
    app = DemoApp(tmp_path)
    version = app.tstray("--version")
    assert version.returncode == 0 and version.stdout.startswith("tstray ")
    for command in ([], ["token"], ["status"], ["login"], ["api-key"]):
        shown = app.tstray(*command, "--help")
        assert shown.returncode == 0 and "usage: tstray" in shown.stdout
