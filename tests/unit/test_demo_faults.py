"""The demo service's fault queue, counters and fault answers."""

from __future__ import annotations

import json
import threading

import pytest

from tstray.demo.faults import (
    STAT_NAMES,
    DemoStats,
    Fault,
    FaultQueue,
    InjectedFault,
    fault_response,
)


def test_faults_come_out_in_order_and_count_down() -> None:
    queue = FaultQueue()
    queue.inject(Fault.HTTP_503, times=2)
    queue.inject("drop", delay_s=1)
    assert queue.pending() == [("http_503", 2), ("drop", 1)]
    taken = [queue.take() for _ in range(4)]
    assert [t.fault if t else None for t in taken] == [
        Fault.HTTP_503,
        Fault.HTTP_503,
        Fault.DROP,
        None,
    ]


@pytest.mark.parametrize(
    ("fault", "times", "delay_s"),
    [("meteor", 1, 1.0), ("drop", 0, 1.0), ("delay", 1, -1.0)],
)
def test_bad_injections_are_refused(fault: str, times: int, delay_s: float) -> None:
    queue = FaultQueue()
    with pytest.raises(ValueError):
        queue.inject(fault, times, delay_s=delay_s)
    assert queue.pending() == []


def test_clear_drops_everything() -> None:
    queue = FaultQueue()
    queue.inject(Fault.GARBAGE, times=5)
    queue.clear()
    assert queue.take() is None


def test_queue_hands_each_fault_to_one_request() -> None:
    queue = FaultQueue()
    queue.inject(Fault.HTTP_500, times=1000)
    taken: list[InjectedFault | None] = []
    lock = threading.Lock()

    def take_many() -> None:
        for _ in range(300):
            fault = queue.take()
            with lock:
                taken.append(fault)

    workers = [threading.Thread(target=take_many) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sum(1 for t in taken if t is not None) == 1000


def test_stats_read_like_a_dict() -> None:
    stats = DemoStats()
    stats.increment("refreshes_ok")
    stats.increment("refreshes_ok")
    assert stats["refreshes_ok"] == 2
    assert set(stats) == set(STAT_NAMES) and len(stats) == len(STAT_NAMES)
    assert dict(stats)["codes_issued"] == 0
    with pytest.raises(KeyError):
        stats.increment("no_such_counter")


@pytest.mark.parametrize(
    ("fault", "status", "readable"),
    [
        (Fault.HTTP_500, 500, True),
        (Fault.HTTP_503, 503, False),
        (Fault.HTTP_429, 429, True),
        (Fault.GARBAGE, 200, False),
        (Fault.TRUNCATED, 200, False),
        (Fault.INVALID_GRANT, 403, True),
        (Fault.INVALID_CLIENT, 401, True),
    ],
)
def test_fault_responses(fault: Fault, status: int, readable: bool) -> None:
    got_status, _, body, headers = fault_response(InjectedFault(fault, retry_after_s=9))
    assert got_status == status
    try:
        json.loads(body)
        parsed = True
    except ValueError:
        parsed = False
    assert parsed is readable
    assert ("Retry-After" in headers) is (fault is Fault.HTTP_429)
    if fault is Fault.HTTP_429:
        assert headers["Retry-After"] == "9"
