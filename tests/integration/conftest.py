"""Fixtures shared by the local token service's tests: the stand-in GUI loop
and the log check. A test module asks for the log check with
``pytestmark = pytest.mark.usefixtures("no_secrets_in_logs")``.

Also collects the garbage a Qt test leaves on the GUI thread, right after
the test (``pytest_runtest_protocol``): it must never be left for another
thread to collect.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.integration.local_service_support import SECRETS, LoopThread

_HERE = Path(__file__).resolve().parent
_QT_FIXTURES = frozenset({"qapp", "qtbot"})


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """After a test that used Qt, collects its garbage here, on the GUI thread.

    A Qt test can leave Qt objects in reference cycles (a tray with its menu
    and timers, a dialog), and Python's cycle collector runs on whichever
    thread happens to allocate: often a later test's server or keyring
    thread. A QObject deleted there cannot stop its timers, and the GUI
    thread's event processing later crashes on them (qt_loop_support.py tells
    the whole story; it keeps closed qasync loops, the worst case, alive).

    This runs after pytest has dropped the test's fixture values, so what
    the test and its fixtures left is garbage by then.
    """
    result = yield
    if _HERE in item.path.parents and _QT_FIXTURES & set(
        getattr(item, "fixturenames", ())
    ):
        gc.collect()
    return result
