"""``GET /v1/events`` on real loopback sockets: the server-sent event stream a
long-running client keeps open to learn of state and token changes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.integration.local_service_support import (
    FRESH_TOKEN,
    TOKEN,
    Clock,
    LoopThread,
    Session,
    get,
    running_service,
    snapshot,
    wait_until,
)
from tests.integration.stream_support import StreamClient
from tstray.server import LocalTokenService
from tstray.session.state import SessionSnapshot, SessionState

pytestmark = pytest.mark.usefixtures("no_secrets_in_logs")


@pytest.fixture
def session() -> Session:
    return Session(current=snapshot())


@pytest.fixture
def service(session: Session, gui_loop: LoopThread) -> Iterator[LocalTokenService]:
    with running_service(session, gui_loop.loop, Clock()) as service:
        yield service


def publish_from_gui(
    gui_loop: LoopThread,
    service: LocalTokenService,
    session: Session,
    new: SessionSnapshot,
) -> None:
    """What the app does: the session changes and calls its listener on the
    GUI loop."""
    done = threading.Event()

    def change() -> None:
        session.current = new
        service.publish(new)
        done.set()

    gui_loop.loop.call_soon_threadsafe(change)
    assert done.wait(5)


def test_a_new_stream_gets_the_state_and_the_current_token(
    service: LocalTokenService,
) -> None:
    with StreamClient(service.port).open("/v1/events") as stream:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-store"
        assert stream.headers["transfer-encoding"] == "chunked"

        state = stream.read_event()
        assert state.name == "state"
        assert state.json()["state"] == "valid"
        token = stream.read_event()
        assert token.name == "token"
        assert token.json()["access_token"] == TOKEN
        assert token.json()["expires_in"] == 1200


def test_state_and_token_changes_arrive_as_events(
    service: LocalTokenService, session: Session, gui_loop: LoopThread
) -> None:
    with StreamClient(service.port).open("/v1/events") as stream:
        stream.read_event()
        stream.read_event()

        refreshing = snapshot(SessionState.REFRESHING)
        publish_from_gui(gui_loop, service, session, refreshing)
        # The same snapshot again is no change: no event for it.
        publish_from_gui(gui_loop, service, session, refreshing)
        event = stream.read_event()
        assert (event.name, event.json()["state"]) == ("state", "refreshing")

        refreshed = snapshot(token=FRESH_TOKEN, expires_in_s=1800)
        publish_from_gui(gui_loop, service, session, refreshed)
        state, token = stream.read_event(), stream.read_event()
        assert (state.name, state.json()["state"]) == ("state", "valid")
        assert token.name == "token"
        assert token.json()["access_token"] == FRESH_TOKEN
        assert token.json()["expires_at"] == "2030-01-01T12:30:00Z"

        signed_out = SessionSnapshot(state=SessionState.SIGNED_OUT)
        publish_from_gui(gui_loop, service, session, signed_out)
        event = stream.read_event()
        assert (event.name, event.json()["state"]) == ("state", "signed_out")


def test_every_open_stream_gets_every_event(
    service: LocalTokenService, session: Session, gui_loop: LoopThread
) -> None:
    streams = [StreamClient(service.port).open("/v1/events") for _ in range(5)]
    try:
        for stream in streams:
            stream.read_event()
            stream.read_event()
        publish_from_gui(gui_loop, service, session, snapshot(token=FRESH_TOKEN))
        for stream in streams:
            assert stream.read_event().json()["access_token"] == FRESH_TOKEN
    finally:
        for stream in streams:
            stream.close()


def test_events_need_the_key_and_a_get(service: LocalTokenService) -> None:
    assert get(service.port, "/v1/events", key=None).status == 401
    assert get(service.port, "/v1/events", key="wrong-key-123456789").status == 401
    answer = get(service.port, "/v1/events", method="DELETE")
    assert answer.status == 405
    assert answer.headers["allow"] == "GET"


def test_streams_beyond_the_limit_get_503_until_one_closes(
    service: LocalTokenService,
) -> None:
    streams = [StreamClient(service.port).open("/v1/events") for _ in range(32)]
    try:
        assert all(stream.status == 200 for stream in streams)
        refused = get(service.port, "/v1/events")
        assert refused.status == 503
        assert refused.json()["error"] == "too_many_subscribers"

        streams.pop().close()
        wait_until(lambda: service.event_streams < 32)
        with StreamClient(service.port).open("/v1/events") as again:
            assert again.status == 200
    finally:
        for stream in streams:
            stream.close()


def test_heartbeats_flow_and_find_a_vanished_client(
    session: Session, gui_loop: LoopThread
) -> None:
    with running_service(
        session, gui_loop.loop, Clock(), events_heartbeat_s=0.05
    ) as service:
        with StreamClient(service.port).open("/v1/events") as stream:
            stream.read_event()
            stream.read_event()
            assert stream.read_event(skip_comments=False).name == ":"
            assert service.event_streams == 1
        # Closed without a word: only writing to it reveals that it is gone.
        wait_until(lambda: service.event_streams == 0)


def test_a_client_that_stops_reading_is_dropped(
    service: LocalTokenService,
    session: Session,
    gui_loop: LoopThread,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with StreamClient(service.port, rcvbuf=4096).open("/v1/events") as stalled:
        # Distinct states, each an event, until the unsent bytes pass the
        # limit; the kernel's socket buffers take their share first.
        for number in range(200_000):
            changed = snapshot(last_error=f"error {number} " + "x" * 400)
            gui_loop.loop.call_soon_threadsafe(service.publish, changed)
            if number % 1000 == 0 and "stopped reading" in caplog.text:
                break
        wait_until(lambda: "dropped an event stream" in caplog.text)
        wait_until(lambda: service.event_streams == 0)
        assert stalled.closed_by_server()

    # The others are served as before.
    assert get(service.port, "/v1/status").status == 200


def test_publish_before_start_and_after_stop_does_nothing(
    session: Session, gui_loop: LoopThread
) -> None:
    service = LocalTokenService(
        port=0,
        api_key="k" * 32,
        snapshot=session.read,
        ensure_fresh=session.ensure_fresh,
        main_loop=gui_loop.loop,
    )
    service.publish(snapshot())
    service.start()
    service.stop()
    service.publish(snapshot())
