"""The local token service opens its port before the app has read the stored
session: /healthz and the API description answer at once, while every route
that needs the session waits for it, so a script started at login never hears
"signed out" from a tstray that holds a session."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Iterator

import pytest

from tests.integration.local_service_support import (
    API_KEY,
    TOKEN,
    Answer,
    Clock,
    LoopThread,
    Session,
    get,
    running_service,
    snapshot,
)
from tstray.server import LocalTokenService
from tstray.server.api import BadKeyThrottle, RejectionLog, TokenApi
from tstray.server.http import Request, Response
from tstray.session.state import SessionSnapshot, SessionState

pytestmark = pytest.mark.usefixtures("no_secrets_in_logs")


class Pending:
    """A request sent on its own thread, so the test can look while it waits."""

    def __init__(self, port: int, path: str) -> None:
        self.answer: Answer | None = None
        self._thread = threading.Thread(target=self._send, args=(port, path))
        self._thread.start()

    def _send(self, port: int, path: str) -> None:
        self.answer = get(port, path)

    def result(self, timeout_s: float = 10) -> Answer:
        self._thread.join(timeout_s)
        assert self.answer is not None, "no answer came"
        return self.answer


@pytest.fixture
def session() -> Session:
    # What the app's session shows before the keyring has been read.
    return Session(current=SessionSnapshot())


@pytest.fixture
def starting_service(
    session: Session, gui_loop: LoopThread
) -> Iterator[LocalTokenService]:
    with running_service(session, gui_loop.loop, Clock(), session_loaded=False) as svc:
        yield svc


def test_healthz_and_the_description_answer_before_the_session_is_read(
    starting_service: LocalTokenService,
) -> None:
    assert get(starting_service.port, "/healthz").status == 503
    assert get(starting_service.port, "/v1/openapi.json").status == 200


def test_a_token_request_waits_for_the_stored_session(
    starting_service: LocalTokenService, session: Session
) -> None:
    pending = Pending(starting_service.port, "/v1/token")

    # Another request round trip: the waiting one has had every chance to be
    # answered (wrongly, "signed_out") by now.
    assert get(starting_service.port, "/healthz").status == 503
    assert pending.answer is None

    session.current = snapshot(SessionState.VALID)
    starting_service.mark_session_loaded()

    answer = pending.result()
    assert answer.status == 200
    assert answer.json()["access_token"] == TOKEN
    assert get(starting_service.port, "/healthz").status == 200


def test_status_and_a_signed_out_answer_come_after_the_read(
    starting_service: LocalTokenService, session: Session
) -> None:
    status = Pending(starting_service.port, "/v1/status")
    token = Pending(starting_service.port, "/v1/token")
    assert get(starting_service.port, "/healthz").status == 503
    assert status.answer is None and token.answer is None

    # The keyring held nothing: now "signed out" is the truth.
    session.current = SessionSnapshot(state=SessionState.SIGNED_OUT)
    starting_service.mark_session_loaded()

    assert status.result().json()["state"] == "signed_out"
    assert token.result().json()["error"] == "signed_out"


def test_a_read_that_never_ends_gives_503_starting(
    session: Session, gui_loop: LoopThread
) -> None:
    with running_service(
        session, gui_loop.loop, Clock(), session_loaded=False, refresh_timeout_s=0.2
    ) as service:
        answer = get(service.port, "/v1/token")

    assert answer.status == 503
    assert answer.json()["error"] == "starting"
    assert session.calls == []


def test_marked_while_stopped_holds_for_the_next_start(
    session: Session, gui_loop: LoopThread
) -> None:
    session.current = snapshot(SessionState.VALID)
    service = LocalTokenService(
        port=0,
        api_key=API_KEY,
        snapshot=session.read,
        ensure_fresh=session.ensure_fresh,
        main_loop=gui_loop.loop,
        clock=Clock(),
        session_loaded=False,
    )
    service.mark_session_loaded()
    service.start()
    try:
        assert get(service.port, "/v1/token").status == 200
    finally:
        service.stop()


def test_loaded_just_before_a_waiting_request_starts_is_not_missed() -> None:
    # The route decides to wait, then the session is marked loaded before
    # its coroutine first runs (both on the serving loop): it must not sleep
    # until the time limit.
    async def scenario() -> Response:
        session = Session(current=snapshot(SessionState.VALID))
        api = TokenApi(
            api_key=API_KEY,
            snapshot=session.read,
            ensure_fresh=session.ensure_fresh,
            main_loop=asyncio.get_running_loop(),
            clock=Clock(),
            rejections=RejectionLog(),
            throttle=BadKeyThrottle(),
            refresh_timeout_s=30,
            session_loaded=False,
        )
        api.set_port(31023)
        request = Request(
            "GET",
            "/v1/token",
            "",
            {"host": "127.0.0.1:31023", "authorization": f"Bearer {API_KEY}"},
            http_10=False,
            keep_alive=True,
        )
        waiting = api.handle(request)
        assert inspect.isawaitable(waiting)

        api.mark_session_loaded()
        answer = await asyncio.wait_for(waiting, 5)
        assert isinstance(answer, Response)
        return answer

    assert asyncio.run(scenario()).status == 200


def test_a_keyring_that_could_not_be_read_is_not_signed_out(
    starting_service: LocalTokenService, session: Session
) -> None:
    # The load failed (keyring locked): the session says signed out only for
    # want of anything loaded, and tries again.
    session.current = SessionSnapshot(
        state=SessionState.SIGNED_OUT, error_code="keyring_unavailable"
    )
    starting_service.mark_session_loaded()

    answer = get(starting_service.port, "/v1/token")
    assert answer.status == 503
    assert answer.json()["error"] == "keyring_unavailable"
