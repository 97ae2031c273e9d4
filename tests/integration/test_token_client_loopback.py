"""TokenClient against a real HTTP server on 127.0.0.1.

A small ``http.server`` runs in a thread inside each test and plays the
sign-in service's token and revoke endpoints, so requests go through httpx's
real connection pool, sockets and HTTP/1.1 parsing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest

from tstray.config import TradeStationSettings
from tstray.oauth.client import TokenClient
from tstray.oauth.errors import (
    NetworkError,
    ServerBusyError,
    SignInRequiredError,
    TokenEndpointError,
)
from tstray.oauth.tokens import TokenSet

T = TypeVar("T")

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
SECRET = "loopback-secret-Qw77"
CODE = "loopback-code-Er88"
VERIFIER = "loopback-verifier-Ty99-" + "w" * 30
ACCESS = "loopback-access-Ui00"
REFRESH = "loopback-refresh-Op11"
NEW_REFRESH = "loopback-refresh-As22"
SECRET_VALUES = (SECRET, CODE, VERIFIER, ACCESS, REFRESH, NEW_REFRESH)


@dataclass
class Recorded:
    path: str
    content_type: str
    body: bytes


@dataclass
class Answer:
    """What the server does with one request."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    close_without_answer: bool = False
    hang: bool = False


class FakeSignInService(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: list[Answer] = []
        self.requests: list[Recorded] = []
        # Set at the end of a test so a hanging handler thread returns.
        self.released = threading.Event()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeSignInService

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.requests.append(
            Recorded(
                self.path, self.headers.get("Content-Type", ""), self.rfile.read(length)
            )
        )
        answer = self.server.answers.pop(0)

        if answer.hang:
            self.server.released.wait(timeout=30)
        if answer.close_without_answer or answer.hang:
            self.close_connection = True
            return

        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # Keep the test output clean; the tests read the recorded requests.
        pass


@pytest.fixture
def service() -> Iterator[FakeSignInService]:
    server = FakeSignInService()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def settings_for(
    service: FakeSignInService, scheme: str = "http"
) -> TradeStationSettings:
    base = service.base_url.replace("http", scheme, 1)
    return TradeStationSettings(
        client_id="loopback-key",
        redirect_uri="http://localhost:31022",
        token_url=f"{base}/oauth/token",
        revoke_url=f"{base}/oauth/revoke",
    )


def run_client(
    settings: TradeStationSettings,
    call: Callable[[TokenClient], Awaitable[T]],
    timeout_s: float = 10.0,
) -> T:
    async def main() -> T:
        async def client_secret() -> str | None:
            return SECRET

        # trust_env=False: a proxy variable in the environment must not send
        # loopback test traffic anywhere else.
        async with httpx.AsyncClient(timeout=timeout_s, trust_env=False) as http:
            client = TokenClient(
                settings, lambda: http, client_secret, clock=lambda: NOW
            )
            return await call(client)

    return asyncio.run(main())


def form_of(recorded: Recorded) -> dict[str, str]:
    fields = parse_qs(recorded.body.decode(), strict_parsing=True)
    return {name: values[0] for name, values in fields.items()}


def token_body(**extra: Any) -> dict[str, Any]:
    return {"access_token": ACCESS, "expires_in": 1200, "token_type": "Bearer", **extra}


def test_exchange_refresh_revoke_end_to_end(service: FakeSignInService) -> None:
    service.answers += [
        Answer(body=token_body(refresh_token=REFRESH)),
        Answer(body=token_body()),
        Answer(body=token_body(refresh_token=NEW_REFRESH)),
        Answer(),
    ]
    results: list[TokenSet] = []

    async def calls(client: TokenClient) -> None:
        results.append(await client.exchange_code(CODE, VERIFIER))
        results.append(await client.refresh(results[-1]))
        results.append(await client.refresh(results[-1]))
        await client.revoke(NEW_REFRESH)

    run_client(settings_for(service), calls)

    signed_in, kept, rotated = results
    assert signed_in.refresh_token == REFRESH
    assert signed_in.expires_at == NOW + timedelta(seconds=1200)
    assert kept.refresh_token == REFRESH
    assert not kept.refresh_token_rotates
    assert rotated.refresh_token == NEW_REFRESH
    assert rotated.refresh_token_rotates

    exchange, first, second, revoke = service.requests
    assert exchange.path == "/oauth/token"
    assert exchange.content_type == "application/x-www-form-urlencoded"
    assert form_of(exchange) == {
        "grant_type": "authorization_code",
        "client_id": "loopback-key",
        "code": CODE,
        "redirect_uri": "http://localhost:31022",
        "code_verifier": VERIFIER,
        "client_secret": SECRET,
    }
    assert form_of(first)["refresh_token"] == REFRESH
    assert form_of(second)["refresh_token"] == REFRESH
    assert form_of(second)["grant_type"] == "refresh_token"
    assert revoke.path == "/oauth/revoke"
    assert revoke.content_type == "application/json"
    assert json.loads(revoke.body) == {
        "client_id": "loopback-key",
        "client_secret": SECRET,
        "token": NEW_REFRESH,
    }


def test_invalid_grant_over_the_wire(service: FakeSignInService) -> None:
    service.answers.append(
        Answer(400, {"error": "invalid_grant", "error_description": "Unknown token."})
    )
    tokens = TokenSet(ACCESS, REFRESH, NOW)

    with pytest.raises(SignInRequiredError) as caught:
        run_client(settings_for(service), lambda client: client.refresh(tokens))

    assert caught.value.error_code == "invalid_grant"
    assert "Unknown token." in caught.value.reason


def test_busy_with_retry_after_over_the_wire(service: FakeSignInService) -> None:
    service.answers.append(Answer(503, headers={"Retry-After": "42"}))
    tokens = TokenSet(ACCESS, REFRESH, NOW)

    with pytest.raises(ServerBusyError) as caught:
        run_client(settings_for(service), lambda client: client.refresh(tokens))

    assert caught.value.retry_after_s == 42.0


def test_connection_closed_without_answer_is_a_network_error(
    service: FakeSignInService,
) -> None:
    service.answers.append(Answer(close_without_answer=True))

    with pytest.raises(NetworkError) as caught:
        run_client(
            settings_for(service), lambda client: client.exchange_code(CODE, VERIFIER)
        )

    assert "without a proper answer" in caught.value.reason
    assert len(service.requests) == 1


def test_answer_slower_than_the_timeout_is_a_network_error(
    service: FakeSignInService,
) -> None:
    service.answers.append(Answer(hang=True))
    tokens = TokenSet(ACCESS, REFRESH, NOW)

    with pytest.raises(NetworkError) as caught:
        run_client(
            settings_for(service), lambda client: client.refresh(tokens), timeout_s=0.2
        )

    assert "in time" in caught.value.reason


def test_nothing_listening_is_a_network_error(service: FakeSignInService) -> None:
    settings = settings_for(service)
    # Free the port, then aim at it: the connection is refused.
    service.shutdown()
    service.server_close()

    with pytest.raises(NetworkError) as caught:
        run_client(settings, lambda client: client.revoke(REFRESH))

    assert "refused" in caught.value.reason


def test_tls_to_a_plain_http_server_is_a_network_error(
    service: FakeSignInService,
) -> None:
    # The server answers the TLS ClientHello as garbled HTTP: a real TLS failure.
    with pytest.raises(NetworkError) as caught:
        run_client(
            settings_for(service, scheme="https"),
            lambda client: client.exchange_code(CODE, VERIFIER),
        )

    assert "TLS" in caught.value.reason


def test_logs_never_show_secrets(
    service: FakeSignInService, caplog: pytest.LogCaptureFixture
) -> None:
    # Every logger, httpx and httpcore included, at DEBUG.
    caplog.set_level(logging.DEBUG)
    echo = f"{REFRESH} {SECRET}"
    service.answers += [
        Answer(body=token_body(refresh_token=REFRESH)),
        Answer(body=token_body(refresh_token=NEW_REFRESH)),
        Answer(400, {"error": "invalid_grant", "error_description": echo}),
        Answer(401, {"error": "invalid_client", "error_description": echo}),
        Answer(close_without_answer=True),
    ]
    errors: list[TokenEndpointError] = []

    async def calls(client: TokenClient) -> None:
        tokens = await client.exchange_code(CODE, VERIFIER)
        await client.refresh(tokens)
        for call in (
            lambda: client.refresh(tokens),
            lambda: client.revoke(REFRESH),
            lambda: client.refresh(tokens),
        ):
            try:
                await call()
            except TokenEndpointError as exc:
                errors.append(exc)

    run_client(settings_for(service), calls)

    assert [type(e).__name__ for e in errors] == [
        "SignInRequiredError",
        "ClientRejectedError",
        "NetworkError",
    ]
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    shown = caplog.text + " ".join(str(e) for e in errors)
    for value in SECRET_VALUES:
        assert value not in shown
