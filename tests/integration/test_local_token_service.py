"""The local token service on real loopback sockets: what a well-behaved
client gets, with a real asyncio loop on another thread standing in for the
GUI loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

import tstray
from tests.integration.local_service_support import (
    API_KEY,
    FRESH_TOKEN,
    NOW,
    TOKEN,
    Clock,
    LoopThread,
    RawClient,
    Session,
    get,
    request_bytes,
    running_service,
    snapshot,
    wait_until,
)
from tstray.server import LocalTokenService
from tstray.session.state import SessionState

pytestmark = pytest.mark.usefixtures("no_secrets_in_logs")


@pytest.fixture
def session() -> Session:
    return Session(current=snapshot())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(
    session: Session, gui_loop: LoopThread, clock: Clock
) -> Iterator[LocalTokenService]:
    with running_service(session, gui_loop.loop, clock) as service:
        yield service


def test_token_answer_has_the_documented_shape(service: LocalTokenService) -> None:
    answer = get(service.port)

    assert answer.status == 200
    assert answer.json() == {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 1200,
        "expires_at": "2030-01-01T12:20:00Z",
        "scope": "MarketData",
    }
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert int(answer.headers["content-length"]) == len(answer.body)


def test_expires_in_counts_from_the_answer_time(
    service: LocalTokenService, clock: Clock, session: Session
) -> None:
    clock.now = NOW + timedelta(seconds=199.6)

    body = get(service.port).json()

    assert body["expires_in"] == 1000
    assert body["expires_at"] == "2030-01-01T12:20:00Z"
    assert session.calls == []


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (SessionState.SIGNED_OUT, "signed_out"),
        (SessionState.SIGN_IN_NEEDED, "sign_in_needed"),
    ],
)
def test_no_session_is_503_without_asking_the_session(
    service: LocalTokenService, session: Session, state: SessionState, code: str
) -> None:
    session.current = snapshot(state, token=None)

    answer = get(service.port)

    assert answer.status == 503
    assert answer.json()["error"] == code
    assert answer.json()["message"]
    assert session.calls == []


def test_expired_token_is_never_served(
    service: LocalTokenService, session: Session
) -> None:
    # The state still says VALID, but by the injected clock the token is gone.
    session.current = snapshot(SessionState.VALID, expires_in_s=-5)

    answer = get(service.port)

    assert answer.status == 503
    assert answer.json()["error"] == "token_expired"
    assert TOKEN.encode() not in answer.body
    assert session.calls == [0.0]


def test_token_expired_while_retrying_names_the_last_error(
    service: LocalTokenService, session: Session
) -> None:
    session.current = snapshot(
        SessionState.EXPIRED_RETRYING, expires_in_s=-60, last_error="network down"
    )

    answer = get(service.port)

    assert answer.status == 503
    assert answer.json()["error"] == "token_expired"
    assert "network down" in answer.json()["message"]


def test_min_ttl_asks_the_session_once_and_serves_the_new_token(
    service: LocalTokenService, session: Session, gui_loop: LoopThread
) -> None:
    session.current = snapshot(expires_in_s=100)
    session.after_refresh = snapshot(token=FRESH_TOKEN, expires_in_s=1800)

    answer = get(service.port, "/v1/token?min_ttl=300")

    assert answer.status == 200
    assert answer.json()["access_token"] == FRESH_TOKEN
    assert answer.json()["expires_in"] == 1800
    assert session.calls == [300.0]
    assert session.call_threads == [gui_loop.thread_id]

    # The new token has enough time left: no second call.
    assert get(service.port, "/v1/token?min_ttl=300").status == 200
    assert session.calls == [300.0]


def test_each_request_for_a_longer_token_asks_once(
    service: LocalTokenService, session: Session
) -> None:
    session.current = snapshot(expires_in_s=100)

    first = get(service.port, "/v1/token?min_ttl=150")
    second = get(service.port, "/v1/token?min_ttl=99.5")

    assert first.status == 503
    assert first.json()["error"] == "min_ttl_too_long"
    assert second.status == 200
    assert second.json()["access_token"] == TOKEN
    assert session.calls == [150.0]


def test_clients_waiting_together_share_one_refresh(
    service: LocalTokenService, session: Session
) -> None:
    session.current = snapshot(expires_in_s=100)
    session.after_refresh = snapshot(token=FRESH_TOKEN, expires_in_s=1800)
    session.hold = threading.Event()
    clients = [RawClient(service.port) for _ in range(5)]
    for client in clients:
        client.send(request_bytes(service.port, "/v1/token?min_ttl=600"))

    wait_until(lambda: session.calls == [600.0])
    time.sleep(0.2)  # lets every request reach the server; not a check
    session.hold.set()
    answers = [client.read_answer() for client in clients]
    for client in clients:
        client.close()

    assert [answer.json()["access_token"] for answer in answers] == [FRESH_TOKEN] * 5
    assert session.calls == [600.0]


def test_refresh_timeout(session: Session, gui_loop: LoopThread, clock: Clock) -> None:
    session.current = snapshot(SessionState.REFRESHING, expires_in_s=-1)
    session.hang = True

    with running_service(session, gui_loop.loop, clock, refresh_timeout_s=0.2) as svc:
        answer = get(svc.port)

    assert answer.status == 503
    assert answer.json()["error"] == "refresh_timeout"
    assert session.calls == [0.0]


def test_a_failing_refresh_answers_from_the_snapshot(
    service: LocalTokenService, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    session.current = snapshot(SessionState.RETRYING, expires_in_s=-1)
    session.fail = True

    answer = get(service.port)

    assert answer.status == 503
    assert answer.json()["error"] == "token_expired"
    assert "fresh token failed" in caplog.text


@pytest.mark.parametrize(
    "value", ["abc", "-1", "3601", "nan", "inf", "1e3", "", "5&min_ttl=6", "0x10"]
)
def test_min_ttl_must_be_seconds_from_0_to_3600(
    service: LocalTokenService, session: Session, value: str
) -> None:
    answer = get(service.port, f"/v1/token?min_ttl={value}")

    assert answer.status == 400
    assert answer.json()["error"] == "invalid_min_ttl"
    assert session.calls == []


@pytest.mark.parametrize("value", ["0", "3600", "12.5"])
def test_min_ttl_accepts_numbers_in_range(
    service: LocalTokenService, session: Session, value: str
) -> None:
    session.current = snapshot(expires_in_s=3601)

    assert get(service.port, f"/v1/token?min_ttl={value}").status == 200
    assert session.calls == []


def test_status_reports_the_session_without_the_token(
    service: LocalTokenService, session: Session
) -> None:
    session.current = snapshot(
        SessionState.RETRYING,
        expires_in_s=600,
        account="Jane Trader",
        last_refresh_at=NOW - timedelta(minutes=5),
        last_error="the sign-in service answered 503",
        error_code="server_error",
    )

    answer = get(service.port, "/v1/status")

    assert answer.status == 200
    assert TOKEN.encode() not in answer.body
    assert answer.json() == {
        "state": "retrying",
        "health": "amber",
        "account": "Jane Trader",
        "expires_at": "2030-01-01T12:10:00Z",
        "expires_in": 600,
        "last_refresh_at": "2030-01-01T11:55:00Z",
        "next_refresh_at": None,
        "last_error": "the sign-in service answered 503",
        "error_code": "server_error",
        "sign_in_deadline": None,
        "version": tstray.__version__,
    }


def test_healthz_needs_no_key_and_tells_nothing_more(
    service: LocalTokenService, session: Session
) -> None:
    healthy = get(service.port, "/healthz", key=None)
    session.current = snapshot(expires_in_s=-1)
    unhealthy = get(service.port, "/healthz", key=None)

    assert (healthy.status, healthy.body) == (200, b"ok")
    assert (unhealthy.status, unhealthy.body) == (503, b"unavailable")
    assert healthy.headers["content-type"].startswith("text/plain")
    assert healthy.headers["cache-control"] == "no-store"


def test_healthz_head_has_headers_but_no_body(service: LocalTokenService) -> None:
    with RawClient(service.port) as client:
        head = client.request("/healthz", method="HEAD", key=None)
        # Had a body been sent, this answer would be read out of step.
        after = client.request("/healthz", key=None)

    assert head.status == 200
    assert head.headers["content-length"] == "2"
    assert head.body == b""
    assert (after.status, after.body) == (200, b"ok")


def test_keep_alive_serves_several_requests_on_one_connection(
    service: LocalTokenService,
) -> None:
    with RawClient(service.port) as client:
        answers = [client.request(path) for path in ("/v1/token", "/v1/status") * 3]

    assert [answer.status for answer in answers] == [200] * 6
    assert all("connection" not in answer.headers for answer in answers)


def test_pipelined_requests_are_answered_in_order(
    service: LocalTokenService, session: Session
) -> None:
    # The first needs a refresh (answered later, from the GUI loop); the
    # others could be answered at once but must wait their turn.
    session.current = snapshot(expires_in_s=100)
    session.after_refresh = snapshot(token=FRESH_TOKEN, expires_in_s=1800)
    port = service.port

    with RawClient(port) as client:
        client.send(
            request_bytes(port, "/v1/token?min_ttl=600")
            + request_bytes(port, "/v1/status")
            + request_bytes(port, "/healthz", key=None)
            + request_bytes(port, "/nowhere")
            + request_bytes(port, "/v1/token")
        )
        answers = [client.read_answer() for _ in range(5)]

    assert [answer.status for answer in answers] == [200, 200, 200, 404, 200]
    assert answers[0].json()["access_token"] == FRESH_TOKEN
    assert answers[1].json()["expires_in"] == 1800
    assert answers[2].body == b"ok"
    assert answers[4].json()["access_token"] == FRESH_TOKEN


def test_requests_sent_while_one_waits_are_answered_after_it(
    service: LocalTokenService, session: Session
) -> None:
    session.current = snapshot(expires_in_s=100)
    session.after_refresh = snapshot(token=FRESH_TOKEN, expires_in_s=1800)
    session.hold = threading.Event()
    port = service.port

    with RawClient(port) as client:
        client.send(request_bytes(port, "/v1/token?min_ttl=600"))
        wait_until(lambda: session.calls == [600.0])
        client.send(request_bytes(port, "/v1/status") + request_bytes(port, "/healthz"))
        session.hold.set()
        answers = [client.read_answer() for _ in range(3)]

    assert answers[0].json()["access_token"] == FRESH_TOKEN
    assert answers[1].json()["state"] == "valid"
    assert answers[2].body == b"ok"


def test_a_long_pipeline_is_answered_whole_and_in_order(
    service: LocalTokenService,
) -> None:
    # Long enough to need several turns of the loop and to fill the socket
    # buffers while the client is still sending, so the server must pause
    # and resume both directions.
    count = 20_000
    paths = [("/v1/token", "/v1/status", "/healthz")[n % 3] for n in range(count)]
    data = b"".join(request_bytes(service.port, path) for path in paths)

    with RawClient(service.port, receive_buffer_bytes=4096) as client:
        sender = threading.Thread(target=client.send, args=(data,))
        sender.start()
        time.sleep(0.5)  # lets the answers pile up unread; not a check
        answers = [client.read_answer() for _ in range(count)]
        sender.join()

    assert all(answer.status == 200 for answer in answers)
    kinds = [
        "token"
        if b"access_token" in a.body
        else "status"
        if b"state" in a.body
        else "health"
        for a in answers
    ]
    assert kinds == [("token", "status", "health")[n % 3] for n in range(count)]


def test_connection_close_is_honoured(service: LocalTokenService) -> None:
    with RawClient(service.port) as client:
        answer = client.request(headers={"Connection": "close"})

        assert answer.status == 200
        assert answer.headers["connection"] == "close"
        assert client.closed_by_server()


def test_http_10_closes_unless_asked_to_keep_alive(service: LocalTokenService) -> None:
    with RawClient(service.port) as client:
        kept = client.request(version="HTTP/1.0", headers={"Connection": "keep-alive"})
        closed = client.request(version="HTTP/1.0")

        assert kept.headers["connection"] == "keep-alive"
        assert closed.headers["connection"] == "close"
        assert client.closed_by_server()


@pytest.mark.parametrize("host_name", ["127.0.0.1", "localhost", "[::1]", "LOCALHOST"])
def test_every_loopback_host_name_is_accepted(
    service: LocalTokenService, host_name: str
) -> None:
    assert get(service.port, host=f"{host_name}:{service.port}").status == 200


def test_serves_on_ipv6_loopback_when_present(service: LocalTokenService) -> None:
    if ("::1", service.port) not in service.addresses:
        pytest.skip("this machine has no IPv6 loopback")

    with RawClient(service.port, host="::1") as client:
        answer = client.request(host=f"[::1]:{service.port}")

    assert answer.json()["access_token"] == TOKEN


def test_a_rotated_key_replaces_the_old_one(service: LocalTokenService) -> None:
    new_key = "rotated-key-Tn4Yw8Hs1Fd6Jk3Lp9Qa"
    service.set_api_key(new_key)

    assert get(service.port, key=new_key).status == 200
    assert get(service.port, key=API_KEY).status == 401


def test_a_stopped_service_starts_again(
    session: Session, gui_loop: LoopThread, clock: Clock
) -> None:
    with running_service(session, gui_loop.loop, clock) as service:
        service.stop()
        service.stop()  # twice is harmless

        service.start()

        assert service.port != 0
        assert get(service.port).json()["access_token"] == TOKEN


def test_stop_from_the_gui_loop_does_not_wait_for_a_pending_refresh(
    session: Session, gui_loop: LoopThread, clock: Clock
) -> None:
    # app.py stops the service on the GUI thread, which is where the pending
    # refresh would run: stopping must not need that loop.
    session.current = snapshot(SessionState.REFRESHING, expires_in_s=-1)
    session.hang = True
    service = LocalTokenService(
        port=0,
        api_key=API_KEY,
        snapshot=session.read,
        ensure_fresh=session.ensure_fresh,
        main_loop=gui_loop.loop,
        clock=clock,
    )
    service.start()
    with RawClient(service.port) as client:
        client.send(request_bytes(service.port))
        wait_until(lambda: len(session.calls) == 1)

        stopped = asyncio.run_coroutine_threadsafe(_call(service.stop), gui_loop.loop)
        stopped.result(timeout=30)

        assert client.closed_by_server()
    assert "tstray-token-service" not in [t.name for t in threading.enumerate()]


async def _call(function: Callable[[], None]) -> None:
    function()  # blocks the loop it runs on, as a GUI slot would


def test_stop_closes_connections_and_listeners(
    session: Session, gui_loop: LoopThread, clock: Clock
) -> None:
    with running_service(session, gui_loop.loop, clock) as service:
        port = service.port
        client = RawClient(port)
        assert client.request().status == 200

    assert client.closed_by_server()
    client.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
