"""Guards qt_loop_support.close_qasync_loop: a qasync loop closed with it is
never deleted off the GUI thread, where its leftover Qt timers would outlive
their object (the cause of the segmentation faults between in-process Qt
tests). A plain ``close()`` shows the hazard the helper exists for.

Runs in a child process: the hazard ends in a crash when the timer is due.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
OFF_THREAD_WARNING = "Timers cannot be stopped from another thread"

CHILD = textwrap.dedent(
    """
    import asyncio, gc, sys, threading

    # Only the collection below, on another thread, may free the loop.
    gc.disable()

    import qasync
    from PySide6.QtCore import QCoreApplication

    from tests.integration.qt_loop_support import close_qasync_loop

    app = QCoreApplication([])


    def use_a_loop(how):
        loop = qasync.QEventLoop(app)
        # wait_for leaves a 60 s Qt timer behind, as the tests' own loops do.
        loop.run_until_complete(asyncio.wait_for(asyncio.sleep(0), 60))
        if how == "helper":
            close_qasync_loop(loop)
        else:
            loop.close()


    use_a_loop(sys.argv[1])
    app.processEvents()
    # A server or keyring thread of a later test runs the cycle collector.
    collector = threading.Thread(target=gc.collect)
    collector.start()
    collector.join()
    print("collected", flush=True)
    """
)


def run_child(how: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, how],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("how", "off_thread_deletion"), [("plain", True), ("helper", False)]
)
def test_a_loop_closed_with_the_helper_is_never_deleted_off_the_gui_thread(
    how: str, off_thread_deletion: bool
) -> None:
    result = run_child(how)

    assert "collected" in result.stdout, result.stderr[-2000:]
    assert (OFF_THREAD_WARNING in result.stderr) is off_thread_deletion, result.stderr
