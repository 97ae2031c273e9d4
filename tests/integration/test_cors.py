"""Web origins listed in ``[server] allowed_origins`` get CORS, for them
alone; every other browser request is still refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.local_service_support import (
    TOKEN,
    Clock,
    LoopThread,
    Session,
    get,
    running_service,
    snapshot,
)
from tstray.config import load_config
from tstray.server import LocalTokenService

ALLOWED = "http://localhost:3000"


pytestmark = pytest.mark.usefixtures("no_secrets_in_logs")


@pytest.fixture
def service() -> Iterator[LocalTokenService]:
    gui_loop = LoopThread()
    session = Session(current=snapshot())
    try:
        with running_service(
            session, gui_loop.loop, Clock(), allowed_origins=(ALLOWED,)
        ) as service:
            yield service
    finally:
        gui_loop.close()


def test_a_listed_origin_gets_its_answer_with_cors(service: LocalTokenService) -> None:
    answer = get(
        service.port,
        headers={"Origin": ALLOWED, "Sec-Fetch-Site": "cross-site"},
    )
    assert answer.status == 200
    assert answer.json()["access_token"] == TOKEN
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert answer.headers["vary"] == "Origin"
    assert answer.headers["cache-control"] == "no-store"


def test_a_listed_origin_can_read_why_it_was_refused(
    service: LocalTokenService,
) -> None:
    answer = get(service.port, key="wrong-key-0123456789", headers={"Origin": ALLOWED})
    assert answer.status == 401
    assert answer.headers["access-control-allow-origin"] == ALLOWED


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:3001",
        "http://localhost:3000.evil.example",
        "https://localhost:3000",
        "http://LOCALHOST:3000",
        "null",
        ALLOWED + "/",
    ],
)
def test_any_other_origin_is_refused(service: LocalTokenService, origin: str) -> None:
    answer = get(service.port, headers={"Origin": origin})
    assert answer.status == 403
    assert answer.json()["error"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in answer.headers
    assert TOKEN.encode() not in answer.body


def test_a_browser_request_without_origin_is_still_refused(
    service: LocalTokenService,
) -> None:
    answer = get(service.port, headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status == 403


def test_the_preflight_is_answered_for_the_listed_origin(
    service: LocalTokenService,
) -> None:
    answer = get(
        service.port,
        "/v1/api/live/orderexecution/orders",
        method="OPTIONS",
        key=None,
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert answer.status == 204
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert answer.headers["access-control-allow-methods"] == "GET, POST, PUT, DELETE"
    allowed_headers = answer.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers
    assert answer.headers["vary"] == "Origin"

    token_route = get(
        service.port,
        method="OPTIONS",
        key=None,
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"},
    )
    assert token_route.headers["access-control-allow-methods"] == "GET"


def test_private_network_access_is_granted_to_the_listed_origin_only(
    service: LocalTokenService,
) -> None:
    asked = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Private-Network": "true",
    }
    answer = get(
        service.port, method="OPTIONS", key=None, headers={"Origin": ALLOWED, **asked}
    )
    assert answer.headers["access-control-allow-private-network"] == "true"
    other = get(
        service.port,
        method="OPTIONS",
        key=None,
        headers={"Origin": "http://evil.example", **asked},
    )
    assert other.status == 403
    assert "access-control-allow-private-network" not in other.headers


def test_options_without_origin_is_not_a_method_any_route_takes(
    service: LocalTokenService,
) -> None:
    assert get(service.port, method="OPTIONS", key=None).status == 405


def test_with_no_origins_listed_every_origin_is_refused() -> None:
    gui_loop = LoopThread()
    try:
        with running_service(Session(current=snapshot()), gui_loop.loop, Clock()) as s:
            assert get(s.port, headers={"Origin": ALLOWED}).status == 403
    finally:
        gui_loop.close()


def test_the_config_reads_exact_origins_and_refuses_others(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text(
        '[server]\nallowed_origins = ["http://localhost:3000", "https://app.example"]\n'
    )
    assert load_config(file).server.allowed_origins == (
        "http://localhost:3000",
        "https://app.example",
    )

    for wrong in ('"http://localhost:3000"', '["http://localhost:3000/"]', '["*"]'):
        file.write_text(f"[server]\nallowed_origins = {wrong}\n")
        config = load_config(file)
        assert config.server.allowed_origins == ()
        assert [p.key for p in config.problems] == ["server.allowed_origins"]
