"""Runs blocking keyring calls one after another on a private thread.

A keyring call can block for as long as an unlock prompt stays open, so it
must never run on the GUI thread's event loop. Jobs run in the order they were
submitted, which keeps writes in order.

Each job gets ``timeout_s`` from the moment it starts; a job still queued
waits for the ones before it, each of which is bounded the same way. When a
job overruns, its thread is abandoned and a fresh thread carries on with the
queue, so one hung call cannot wedge the store; the abandoned thread exits as
soon as its call returns and takes no further job. Code running in a job can
ask ``in_abandoned_thread()`` to stop early.

This module never logs a job's result: results may be secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

_T = TypeVar("_T")


class WorkerClosedError(Exception):
    """The worker was closed; it takes no new job."""


class WorkerTimeoutError(Exception):
    """A job did not finish in time after it started; its thread was replaced."""


class AbandonedCallError(Exception):
    """The worker thread was replaced; this job must make no further call."""


@dataclass(eq=False)
class _Job:
    """One submitted call, where its outcome goes, and its progress.

    ``thread``, ``started_at`` and ``finished`` are guarded by the worker's
    lock; ``watchdog`` is touched only on ``loop``.
    """

    call: Callable[[], object]
    timeout_s: float
    loop: asyncio.AbstractEventLoop | None
    waiter: asyncio.Future[Any] | None = None
    started: asyncio.Future[None] | None = None
    thread: threading.Thread | None = None
    started_at: float | None = None
    finished: bool = False
    watchdog: asyncio.TimerHandle | None = None

    def post(self, callback: Callable[..., object], *args: object) -> None:
        """Runs ``callback`` on the job's loop, if that loop still runs."""
        if self.loop is None:
            return
        # A closed loop raises RuntimeError: nobody waits for this job any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(callback, *args)


class SerialWorker:
    """One thread at a time running submitted jobs in submission order."""

    def __init__(self, thread_name: str) -> None:
        self._thread_name = thread_name
        self._condition = threading.Condition()
        self._jobs: deque[_Job] = deque()
        self._thread: threading.Thread | None = None
        self._running: _Job | None = None
        self._closed = False
        self._generation = 0
        self._last_loop: asyncio.AbstractEventLoop | None = None

    async def run(self, call: Callable[[], _T], timeout_s: float) -> _T:
        """Runs ``call`` on the worker thread and returns its result.

        Raises:
            WorkerTimeoutError: ``call`` did not return within ``timeout_s``
                of starting; the thread running it has been replaced.
            WorkerClosedError: ``close()`` was called.
            Exception: whatever ``call`` raised.
        """
        loop = asyncio.get_running_loop()
        self._last_loop = loop
        started: asyncio.Future[None] = loop.create_future()
        waiter: asyncio.Future[_T] = loop.create_future()
        job = _Job(call, timeout_s, loop, waiter, started)
        self._enqueue(job)

        while not started.done():
            try:
                await asyncio.wait_for(asyncio.shield(started), timeout_s)
            except TimeoutError:
                # The watchdog normally replaces a stuck thread; this is the
                # backstop for a job whose own loop has gone away.
                self._abandon_if_overdue()
            except asyncio.CancelledError:
                self._drop_if_queued(job)
                raise
        return await waiter

    def submit_in_background(
        self, call: Callable[[], object], timeout_s: float
    ) -> None:
        """Queues ``call`` with nobody awaiting it; it must handle its errors.

        It runs under the same time limit, watched on the last loop that
        called ``run``.
        """
        self._enqueue(_Job(call, timeout_s, self._last_loop))

    def in_abandoned_thread(self) -> bool:
        """True when called from a worker thread that has been replaced."""
        with self._condition:
            return threading.current_thread() is not self._thread

    def close(self) -> None:
        """Takes no new job; queued jobs still run, then the thread exits."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def _enqueue(self, job: _Job) -> None:
        with self._condition:
            if self._closed:
                raise WorkerClosedError
            self._jobs.append(job)
            if self._thread is None:
                self._start_thread()
            self._condition.notify_all()

    def _start_thread(self) -> None:
        # Daemon: a thread stuck in a keyring call must not keep the app alive.
        self._generation += 1
        self._running = None
        self._thread = threading.Thread(
            target=self._serve,
            name=f"{self._thread_name}-{self._generation}",
            daemon=True,
        )
        self._thread.start()

    def _drop_if_queued(self, job: _Job) -> None:
        with self._condition:
            if job in self._jobs:
                self._jobs.remove(job)

    def _abandon(self, job: _Job) -> None:
        """Replaces the current thread if it is still stuck in ``job``.

        Must hold the lock.
        """
        if job.finished or job.thread is None or job.thread is not self._thread:
            return
        self._thread = None
        if self._jobs:
            self._start_thread()
        self._condition.notify_all()

    def _abandon_if_overdue(self) -> None:
        with self._condition:
            job = self._running
            if job is None or job.started_at is None:
                return
            if time.monotonic() - job.started_at > job.timeout_s:
                self._abandon(job)

    def _on_started(self, job: _Job) -> None:
        """On the job's loop: the job has left the queue; start its clock."""
        if job.started is not None and not job.started.done():
            job.started.set_result(None)
        with self._condition:
            if job.finished or job.loop is None:
                return
        job.watchdog = job.loop.call_later(job.timeout_s, self._on_overdue, job)

    def _on_overdue(self, job: _Job) -> None:
        """On the job's loop: the job overran; give up on its thread."""
        with self._condition:
            if job.finished:
                return
            self._abandon(job)
        if job.waiter is not None and not job.waiter.done():
            job.waiter.set_exception(WorkerTimeoutError())

    @staticmethod
    def _on_finished(job: _Job, result: object, error: BaseException | None) -> None:
        """On the job's loop: hand the outcome over and stop the clock."""
        if job.watchdog is not None:
            job.watchdog.cancel()
        if job.waiter is None or job.waiter.done():
            return
        if error is not None:
            job.waiter.set_exception(error)
        else:
            job.waiter.set_result(result)

    def _next_job(self, me: threading.Thread) -> _Job | None:
        with self._condition:
            while self._thread is me and not self._jobs and not self._closed:
                self._condition.wait()
            if self._thread is not me:
                return None
            if not self._jobs:
                self._thread = None
                return None
            job = self._jobs.popleft()
            job.thread = me
            job.started_at = time.monotonic()
            self._running = job
        job.post(self._on_started, job)
        return job

    def _serve(self) -> None:
        me = threading.current_thread()
        while (job := self._next_job(me)) is not None:
            result: object = None
            error: BaseException | None = None
            try:
                result = job.call()
            except BaseException as raised:
                # Whatever the call raised belongs to its caller, not here.
                error = raised
            with self._condition:
                job.finished = True
                if self._running is job:
                    self._running = None
            job.post(self._on_finished, job, result, error)
