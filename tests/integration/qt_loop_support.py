"""Closing a qasync loop in an in-process test so that no part of it is ever
deleted off the GUI thread.

A closed qasync loop keeps Qt timers registered on its timer object: qasync
starts a Qt timer for every ``call_later`` (an ``asyncio.wait_for`` timeout,
a sleep) and stops it only when it comes due, even if the handle was
cancelled or the loop closed. The loop sits in reference cycles, so Python's
cycle collector frees it, and with it that timer object, on whichever thread
happens to allocate at the time; often a later test's server or keyring
thread. Deleted there, the object cannot stop its timers ("QObject::~QObject:
Timers cannot be stopped from another thread"), the GUI thread keeps a timer
whose object is gone, and the event processing pytest-qt runs between tests
dies with a segmentation fault when that timer comes due.

So a closed loop is kept here until the test process ends: its leftover
timers then fire on the GUI thread and are stopped there, as qasync intends.
This module never starts or runs a loop itself.
"""

from __future__ import annotations

import qasync

# Closed loops, kept alive on purpose (see above). A few per test module.
_closed_loops: list[qasync.QEventLoop] = []


def close_qasync_loop(loop: qasync.QEventLoop) -> None:
    """Closes ``loop`` and keeps it until the test process ends."""
    loop.close()
    _closed_loops.append(loop)
