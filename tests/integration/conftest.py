"""Fixtures shared by the local token service's tests: the stand-in GUI loop
and the log check. A test module asks for the log check with
``pytestmark = pytest.mark.usefixtures("no_secrets_in_logs")``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.integration.local_service_support import SECRETS, LoopThread


@pytest.fixture
def gui_loop() -> Iterator[LoopThread]:
    """A running asyncio loop on its own thread, standing in for the GUI's."""
    loop_thread = LoopThread()
    yield loop_thread
    loop_thread.close()


@pytest.fixture
def no_secrets_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test if any test secret reached a log record."""
    caplog.set_level(logging.DEBUG)
    yield
    for secret in SECRETS:
        assert secret not in caplog.text
