"""Fixtures of the reliability proofs: the demo sign-in service as its own
process and the real app, signed in by seeding the keyring.

Every app here uses the real profile's keyring service ("tstray") in the
test desktop's throwaway gnome-keyring, so the fixtures run one app at a time
and delete the stored tokens before and after each use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.reliability.support import (
    AppProcess,
    DemoProcess,
    delete_tokens,
    seed_tokens,
)

# Long enough that a retry 1-2 s after a failed refresh at half-life still
# finds the token valid (the amber "retrying" state, token still served).
FAULT_ACCESS_LIFETIME_S = 6


def need_desktop() -> None:
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip_or_fail("needs tests/with-desktop.sh (an X screen and a Secret Service)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    """A non-rotating demo service, shared by a module's tests."""
    need_desktop()
    service = DemoProcess(
        tmp_path_factory.mktemp("demo"), access_lifetime_s=FAULT_ACCESS_LIFETIME_S
    )
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def rotating_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    """A demo service with rotating refresh tokens and reuse detection."""
    need_desktop()
    service = DemoProcess(
        tmp_path_factory.mktemp("rotating-demo"), access_lifetime_s=4, rotating=True
    )
    service.start()
    yield service
    service.stop()


AppFactory = Callable[[DemoProcess], AppProcess]


@pytest.fixture
def signed_in_app(tmp_path: Path) -> Iterator[AppFactory]:
    """Makes an app signed in at ``demo`` (tokens seeded in the keyring) and
    starts it; stops it and deletes its tokens afterwards."""
    apps: list[AppProcess] = []

    def make(demo: DemoProcess) -> AppProcess:
        assert not apps, "one app at a time: they share the keyring entry"
        delete_tokens()
        seed_tokens(demo.sign_in())
        app = AppProcess(tmp_path / "app", demo.url, refresh_margin_s=3)
        apps.append(app)
        app.start()
        # Serving starts before the session has read the keyring.
        app.wait_for_state("valid")
        return app

    yield make
    for app in apps:
        app.kill()
    delete_tokens()
