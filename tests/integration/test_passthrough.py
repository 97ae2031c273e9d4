"""The ``/v1/api/live|sim/<path>`` pass-through against a fake TradeStation
API on loopback: streaming without buffering, the bearer token added, the
local API key kept back, one refresh and one retry on a 401, and 502 when
the API cannot be reached."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.integration.local_service_support import (
    API_KEY,
    FRESH_TOKEN,
    TOKEN,
    Clock,
    LoopThread,
    Session,
    get,
    request_bytes,
    running_service,
    snapshot,
)
from tests.integration.stream_support import StreamClient
from tstray.config import load_config
from tstray.server import LocalTokenService
from tstray.session.state import SessionSnapshot, SessionState


class FakeApi(ThreadingHTTPServer):
    """TradeStation's API as far as the pass-through can tell, on loopback."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FakeApiHandler)
        self.requests: list[dict[str, Any]] = []
        self.first_line_read = threading.Event()
        self.endless_stream_ended = threading.Event()
        self.rejections_left = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v3"


class _FakeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeApi

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test's output stays clean

    def _record(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length", "0"))
        seen = {
            "method": self.command,
            "path": self.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body": self.rfile.read(length).decode(),
        }
        self.server.requests.append(seen)
        return seen

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _answer(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Upstream-Secret-Header", "kept back")
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        seen = self._record()
        if self.path.startswith("/v3/stream"):
            # Like a quote stream: JSON lines, chunked, over a long time.
            self.send_response(200)
            self.send_header(
                "Content-Type", "application/vnd.tradestation.streams+json"
            )
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._chunk(b'{"Symbol":"MSFT","Last":"411.10"}\n')
            # Holds the rest back until the test has read the first line
            # through tstray: a buffering pass-through would never get there.
            self.server.first_line_read.wait(10)
            self._chunk(b'{"Symbol":"MSFT","Last":"411.12"}\n')
            self._chunk(b'{"Heartbeat":1}\n')
            self._chunk(b"")
            return
        if self.path.startswith("/v3/endless"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                # Until the reader goes away; the pause only paces the lines.
                while not self.server.endless_stream_ended.wait(0.02):
                    self._chunk(b'{"Heartbeat":2}\n')
            except OSError:
                self.server.endless_stream_ended.set()
            return
        if self.path.startswith("/v3/flaky") and self.server.rejections_left > 0:
            self.server.rejections_left -= 1
            self._answer(401, {"Error": "Unauthorized", "Message": "expired"})
            return
        if self.path.startswith("/v3/refuse"):
            self._answer(401, {"Error": "Unauthorized", "Message": "no"})
            return
        self._answer(200, seen)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()


pytestmark = pytest.mark.usefixtures("no_secrets_in_logs")


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    server = FakeApi()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield server
    server.first_line_read.set()
    server.endless_stream_ended.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def session() -> Session:
    return Session(current=snapshot(), after_refresh=snapshot(token=FRESH_TOKEN))


@pytest.fixture
def service(
    session: Session, gui_loop: LoopThread, fake_api: FakeApi, closed_port: int
) -> Iterator[LocalTokenService]:
    upstreams = {
        "live": fake_api.base,
        "sim": f"http://127.0.0.1:{closed_port}/v3",
    }
    with running_service(
        session, gui_loop.loop, Clock(), upstreams=upstreams
    ) as service:
        yield service


def test_a_stream_reaches_the_client_while_upstream_is_still_sending(
    service: LocalTokenService, fake_api: FakeApi
) -> None:
    with StreamClient(service.port).open("/v1/api/live/stream/quotes/MSFT") as stream:
        assert stream.status == 200
        assert stream.headers["transfer-encoding"] == "chunked"
        assert stream.headers["content-type"] == (
            "application/vnd.tradestation.streams+json"
        )
        assert stream.headers["cache-control"] == "no-store"

        first = stream.read_chunk()
        assert first == b'{"Symbol":"MSFT","Last":"411.10"}\n'
        fake_api.first_line_read.set()
        rest = stream.read_body()
        assert rest.splitlines() == [
            b'{"Symbol":"MSFT","Last":"411.12"}',
            b'{"Heartbeat":1}',
        ]


def test_a_client_that_leaves_ends_the_upstream_stream(
    service: LocalTokenService, fake_api: FakeApi
) -> None:
    with StreamClient(service.port).open("/v1/api/live/endless") as stream:
        assert stream.read_chunk() == b'{"Heartbeat":2}\n'
    # tstray closes its upstream connection, so the fake's writes fail.
    assert fake_api.endless_stream_ended.wait(10)


def test_the_bearer_token_is_added_and_the_local_key_kept_back(
    service: LocalTokenService, fake_api: FakeApi
) -> None:
    body = b'{"Symbol":"MSFT","Quantity":"10"}'
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "Accept": "application/json",
        "X-Custom": "not forwarded",
        "Cookie": "session=also-not",
    }
    with StreamClient(service.port) as client:
        client.open(
            "/v1/api/live/orderexecution/orders?accountId=11&x=%2F",
            body,
            method="POST",
            headers=headers,
        )
        assert client.status == 200
        assert "x-upstream-secret-header" not in client.headers
        echoed = json.loads(client.read_body())

    assert echoed["method"] == "POST"
    assert echoed["path"] == "/v3/orderexecution/orders?accountId=11&x=%2F"
    assert echoed["body"] == body.decode()
    sent = echoed["headers"]
    assert sent["authorization"] == f"Bearer {TOKEN}"
    assert sent["content-type"] == "application/json"
    assert sent["accept"] == "application/json"
    assert "x-custom" not in sent
    assert "cookie" not in sent
    assert API_KEY not in json.dumps(fake_api.requests)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_the_other_methods_are_forwarded(
    service: LocalTokenService, fake_api: FakeApi, method: str
) -> None:
    with StreamClient(service.port) as client:
        client.open("/v1/api/live/brokerage/accounts", method=method)
        assert client.status == 200
        assert json.loads(client.read_body())["method"] == method


def test_keep_alive_carries_on_after_a_streamed_answer(
    service: LocalTokenService, fake_api: FakeApi
) -> None:
    with StreamClient(service.port) as client:
        client.open("/v1/api/live/brokerage/accounts")
        client.read_body()
        client.open("/v1/status")
        assert client.status == 200
        assert json.loads(client.read_body())["state"] == "valid"


def test_a_401_costs_one_refresh_and_one_retry(
    service: LocalTokenService, fake_api: FakeApi, session: Session
) -> None:
    fake_api.rejections_left = 1
    with StreamClient(service.port).open("/v1/api/live/flaky") as client:
        assert client.status == 200
        echoed = json.loads(client.read_body())
    assert echoed["headers"]["authorization"] == f"Bearer {FRESH_TOKEN}"
    assert len(session.calls) == 1
    assert [r["headers"]["authorization"] for r in fake_api.requests] == [
        f"Bearer {TOKEN}",
        f"Bearer {FRESH_TOKEN}",
    ]


def test_a_401_that_persists_is_passed_on_after_one_retry(
    service: LocalTokenService, fake_api: FakeApi, session: Session
) -> None:
    with StreamClient(service.port).open("/v1/api/live/refuse") as client:
        assert client.status == 401
        assert client.headers["x-tstray-upstream"] == "live"
        assert json.loads(client.read_body())["Error"] == "Unauthorized"
    assert len(fake_api.requests) == 2
    assert len(session.calls) == 1

    # Soon after, another refusal does not make the session refresh again.
    with StreamClient(service.port).open("/v1/api/live/refuse") as client:
        assert client.status == 401
    assert len(session.calls) == 1


def test_an_unreachable_api_gives_502(service: LocalTokenService) -> None:
    answer = get(service.port, "/v1/api/sim/brokerage/accounts")
    assert answer.status == 502
    assert answer.json()["error"] == "upstream_unreachable"


def test_no_token_no_request_upstream(
    session: Session, gui_loop: LoopThread, fake_api: FakeApi
) -> None:
    session.current = SessionSnapshot(state=SessionState.SIGNED_OUT)
    upstreams = {"live": fake_api.base, "sim": fake_api.base}
    with running_service(session, gui_loop.loop, Clock(), upstreams=upstreams) as svc:
        answer = get(svc.port, "/v1/api/live/brokerage/accounts")
    assert answer.status == 503
    assert answer.json()["error"] == "signed_out"
    assert fake_api.requests == []


@pytest.mark.parametrize(
    "path",
    [
        "/v1/api/live/../token",
        "/v1/api/live/a/%2e%2e/b",
        "/v1/api/live/a\\b",
        "/v1/api/live/a#b",
        "/v1/api/live/",
    ],
)
def test_paths_that_could_leave_the_base_are_refused(
    service: LocalTokenService, fake_api: FakeApi, path: str
) -> None:
    answer = get(service.port, path)
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_path"
    assert fake_api.requests == []


def test_the_pass_through_needs_the_key(
    service: LocalTokenService, fake_api: FakeApi
) -> None:
    assert get(service.port, "/v1/api/live/brokerage/accounts", key=None).status == 401
    assert get(service.port, "/v1/api/other/x").status == 404
    assert get(service.port, "/v1/api/live/x", method="PATCH").status == 405
    assert fake_api.requests == []


def test_bodies_are_refused_where_no_route_takes_one(
    service: LocalTokenService,
) -> None:
    with StreamClient(service.port) as client:
        client.open("/v1/token", b"{}", method="POST", headers={"Content-Length": "2"})
        assert client.status == 413


def test_a_body_larger_than_the_limit_is_refused(
    service: LocalTokenService, fake_api: FakeApi
) -> None:
    with StreamClient(service.port) as client:
        client.open(
            "/v1/api/live/orders",
            method="POST",
            headers={"Content-Length": str(2 * 1024 * 1024)},
        )
        assert client.status == 413
    assert fake_api.requests == []


def test_a_client_waiting_for_100_continue_is_invited(
    service: LocalTokenService, fake_api: FakeApi
) -> None:
    body = b'{"a":1}'
    with StreamClient(service.port) as client:
        head_options: dict[str, Any] = {
            "method": "PUT",
            "headers": {"Content-Length": str(len(body)), "Expect": "100-continue"},
        }
        client.open("/v1/api/live/orders/1", **head_options)
        assert client.status == 100
        client.sock.sendall(body)
        client.headers = {}
        status_line = client.file.readline().decode()
        assert " 200 " in status_line
        while client.file.readline() not in (b"\r\n", b""):
            pass


def test_the_config_reads_the_api_bases_and_refuses_unsafe_ones(
    tmp_path: Path,
) -> None:
    file = tmp_path / "config.toml"
    file.write_text(
        '[api]\nlive_url = "https://api.example/v3/"\n'
        'sim_url = "http://127.0.0.1:8080/v3"\n'
    )
    api = load_config(file).api
    assert (api.live_url, api.sim_url) == (
        "https://api.example/v3",
        "http://127.0.0.1:8080/v3",
    )

    # The token would cross the network in the clear, or to a URL's user.
    for wrong in (
        '"http://api.example/v3"',
        '"https://user@api.example/v3"',
        '"https://api.example/v3?x=1"',
        "3",
    ):
        file.write_text(f"[api]\nlive_url = {wrong}\n")
        config = load_config(file)
        assert config.api.live_url == "https://api.tradestation.com/v3"
        assert [p.key for p in config.problems] == ["api.live_url"]


def test_an_http_10_client_gets_the_answer_until_the_connection_closes(
    service: LocalTokenService, fake_api: FakeApi
) -> None:
    with StreamClient(service.port) as client:
        client.open("/v1/api/live/brokerage/accounts", version="HTTP/1.0")
        assert client.status == 200
        assert "transfer-encoding" not in client.headers
        assert client.headers["connection"] == "close"
        body = client.file.read()  # to the end of the connection
    assert json.loads(body)["path"] == "/v3/brokerage/accounts"


def test_a_body_sent_in_pieces_is_forwarded_whole_and_never_read_as_a_request(
    service: LocalTokenService, fake_api: FakeApi
) -> None:
    # A body that looks like a request: were it parsed as one, a second
    # answer would follow the first.
    body = b"GET /v1/token HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + b"x" * 70_000
    head = request_bytes(
        service.port,
        "/v1/api/live/orders",
        method="POST",
        headers={"Content-Length": str(len(body)), "Content-Type": "text/plain"},
    )
    status = request_bytes(service.port, "/v1/status")
    with StreamClient(service.port) as client:
        client.sock.sendall(head + body[:10])
        client.sock.sendall(body[10:40_000])
        client.sock.sendall(body[40_000:] + status)
        client.open_answer()
        assert client.status == 200
        echoed = json.loads(client.read_body())
        client.open_answer()
        assert client.status == 200
        assert json.loads(client.read_body())["state"] == "valid"
    assert echoed["body"] == body.decode()
    assert len(fake_api.requests) == 1


def test_a_body_that_never_arrives_times_out(
    session: Session, gui_loop: LoopThread, fake_api: FakeApi
) -> None:
    upstreams = {"live": fake_api.base, "sim": fake_api.base}
    with (
        running_service(
            session, gui_loop.loop, Clock(), upstreams=upstreams, head_timeout_s=0.3
        ) as svc,
        StreamClient(svc.port) as client,
    ):
        client.open(
            "/v1/api/live/orders",
            b"{",
            method="POST",
            headers={"Content-Length": "9"},
        )
        assert client.status == 408
        assert json.loads(client.read_body())["error"] == "request_timeout"
    assert fake_api.requests == []
