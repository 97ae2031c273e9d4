"""A local program holding every connection slot with half-sent requests
(which needs no API key) cannot lock the real clients out."""

from __future__ import annotations

import contextlib

from tests.integration.local_service_support import (
    TOKEN,
    Clock,
    LoopThread,
    RawClient,
    Session,
    get,
    running_service,
    snapshot,
)


def test_half_sent_requests_on_every_slot_do_not_lock_out_a_client(
    gui_loop: LoopThread,
) -> None:
    session = Session(current=snapshot())
    with running_service(session, gui_loop.loop, Clock()) as service:
        port = service.port
        hogs = [RawClient(port) for _ in range(300)]
        for hog in hogs:
            with contextlib.suppress(OSError):
                hog.send(b"GET /v1/token HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            for _ in range(5):
                answer = get(port)
                assert answer.status == 200
                assert answer.json()["access_token"] == TOKEN
        finally:
            for hog in hogs:
                hog.close()
