"""The demo sign-in service over real loopback HTTP: the browser flow, the
token and revoke endpoints, restarts, injected faults, and the service run as
its own process."""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tstray.config import TradeStationSettings
from tstray.demo import (
    DEMO_AUDIENCE,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DemoOptions,
    DemoSignInService,
    Fault,
)
from tstray.demo.grants import pkce_challenge

CALLBACK = "http://localhost:31022"
SCOPE = "openid profile offline_access MarketData ReadAccount Trade"
VERIFIER = "v" * 43 + "-verifier-for-tests"
REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    """A clock the test moves by hand (for expiry rules)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


MakeService = Callable[..., DemoSignInService]


@pytest.fixture
def make_service(tmp_path: Path, clock: FakeClock) -> Iterator[MakeService]:
    """Starts services on one state folder (as restarts of one service)."""
    started: list[DemoSignInService] = []

    def make(options: DemoOptions | None = None) -> DemoSignInService:
        service = DemoSignInService(
            tmp_path / "demo", options or DemoOptions(), clock=clock
        )
        service.start()
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()


@pytest.fixture
def service(make_service: MakeService) -> DemoSignInService:
    return make_service()


def browser(service: DemoSignInService) -> httpx.Client:
    return httpx.Client(base_url=service.base_url, timeout=10)


def authorize_params(**overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": CALLBACK,
        "audience": DEMO_AUDIENCE,
        "scope": SCOPE,
        "state": "state-123",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def transaction_of(page: str) -> str:
    match = re.search(r'name="transaction" value="([^"]+)"', page)
    assert match, "no transaction id in the page"
    return match.group(1)


def redirect_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(
    client: httpx.Client, action: str = "allow", **overrides: str | None
) -> dict[str, str]:
    """Walks authorize -> login -> consent; returns the redirect's query."""
    page = client.get("/authorize", params=authorize_params(**overrides))
    assert page.status_code == 200
    transaction = transaction_of(page.text)
    if 'id="password"' in page.text:
        page = client.post(
            "/u/login",
            data={"transaction": transaction, "username": "Alice", "password": "demo"},
        )
        assert page.status_code == 200
    assert 'id="allow"' in page.text
    answer = client.post(
        "/u/consent", data={"transaction": transaction, "action": action}
    )
    return redirect_query(answer)


def exchange(client: httpx.Client, code: str, **fields: str | None) -> httpx.Response:
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "code": code,
        "redirect_uri": CALLBACK,
    }
    form.update(fields)
    return client.post("/oauth/token", data={k: v for k, v in form.items() if v})


def refresh(
    client: httpx.Client, refresh_token: str, **fields: str | None
) -> httpx.Response:
    form: dict[str, str | None] = {
        "grant_type": "refresh_token",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "refresh_token": refresh_token,
    }
    form.update(fields)
    return client.post("/oauth/token", data={k: v for k, v in form.items() if v})


def signed_in_tokens(service: DemoSignInService) -> dict[str, str]:
    with browser(service) as client:
        answer = exchange(client, sign_in(client)["code"])
    assert answer.status_code == 200
    tokens: dict[str, str] = answer.json()
    return tokens


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str) and body["error_description"]


# -- the browser flow


def test_full_sign_in_with_secret(service: DemoSignInService) -> None:
    with browser(service) as client:
        page = client.get("/authorize", params=authorize_params())
        assert 'id="username"' in page.text and 'id="sign-in"' in page.text
        assert "any user name, password: demo" in page.text
        transaction = transaction_of(page.text)

        wrong = client.post(
            "/u/login",
            data={"transaction": transaction, "username": "Al", "password": "x"},
        )
        assert 'id="error"' in wrong.text and 'id="password"' in wrong.text
        assert 'id="allow"' not in wrong.text

        consent = client.post(
            "/u/login",
            data={"transaction": transaction, "username": "Al", "password": "demo"},
        )
        assert 'id="allow"' in consent.text and 'id="deny"' in consent.text
        assert 'data-scope="MarketData"' in consent.text

        query = redirect_query(
            client.post(
                "/u/consent", data={"transaction": transaction, "action": "allow"}
            )
        )
        assert query["state"] == "state-123"
        tokens = exchange(client, query["code"]).json()

    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == SCOPE
    assert tokens["expires_in"] == 120
    access = service.verify_jwt(tokens["access_token"])
    identity = service.verify_jwt(tokens["id_token"])
    assert access is not None and identity is not None
    assert access["aud"] == DEMO_AUDIENCE
    assert access["exp"] - access["iat"] == 120
    assert identity["name"] == "Al" and identity["aud"] == DEMO_CLIENT_ID
    assert tokens["refresh_token"]
    assert service.stats["codes_issued"] == 1


def test_pkce_sign_in_needs_no_secret(service: DemoSignInService) -> None:
    challenge = {
        "code_challenge": pkce_challenge(VERIFIER),
        "code_challenge_method": "S256",
    }
    with browser(service) as client:
        code = sign_in(client, **challenge)["code"]
        wrong = exchange(client, code, client_secret=None, code_verifier="w" * 43)
        assert_oauth_error(wrong, 403, "invalid_grant")
        tokens = exchange(client, code, client_secret=None, code_verifier=VERIFIER)
        assert tokens.status_code == 200

        # A PKCE chain refreshes without the secret too.
        again = refresh(client, tokens.json()["refresh_token"], client_secret=None)
        assert again.status_code == 200


def test_code_without_secret_or_verifier_is_refused(service: DemoSignInService) -> None:
    with browser(service) as client:
        code = sign_in(client)["code"]
        assert_oauth_error(
            exchange(client, code, client_secret=None), 401, "invalid_client"
        )
        wrong = exchange(client, code, client_secret="not-the-secret")
        assert_oauth_error(wrong, 401, "invalid_client")


def test_code_is_single_use(service: DemoSignInService) -> None:
    with browser(service) as client:
        code = sign_in(client)["code"]
        assert exchange(client, code).status_code == 200
        assert_oauth_error(exchange(client, code), 403, "invalid_grant")


def test_code_is_bound_to_redirect_uri(service: DemoSignInService) -> None:
    with browser(service) as client:
        code = sign_in(client)["code"]
        other = exchange(client, code, redirect_uri="http://localhost:3000")
        assert_oauth_error(other, 403, "invalid_grant")


def test_code_expires_after_60_s(service: DemoSignInService, clock: FakeClock) -> None:
    with browser(service) as client:
        code = sign_in(client)["code"]
        clock.now += 61
        assert_oauth_error(exchange(client, code), 403, "invalid_grant")


def test_deny_redirects_with_access_denied(service: DemoSignInService) -> None:
    with browser(service) as client:
        page = client.get("/authorize", params=authorize_params())
        transaction = transaction_of(page.text)
        client.post(
            "/u/login",
            data={"transaction": transaction, "username": "", "password": "demo"},
        )
        answer = client.post(
            "/u/consent", data={"transaction": transaction, "action": "deny"}
        )
    location = answer.headers["location"]
    assert location == (
        f"{CALLBACK}?error=access_denied&error_description="
        "User%20did%20not%20authorize%20the%20request&state=state-123"
    )
    assert service.stats["codes_issued"] == 0


@pytest.mark.parametrize(
    "overrides",
    [{"client_id": "someone-else"}, {"redirect_uri": "https://evil.example/cb"}],
)
def test_unknown_client_or_callback_never_redirects(
    service: DemoSignInService, overrides: dict[str, str]
) -> None:
    with browser(service) as client:
        page = client.get("/authorize", params=authorize_params(**overrides))
    assert page.status_code == 400
    assert "location" not in page.headers
    assert 'id="error"' in page.text


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"audience": "https://example.invalid"}, "invalid_request"),
        ({"scope": "offline_access MarketData"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        (
            {"code_challenge": "x" * 43, "code_challenge_method": "plain"},
            "invalid_request",
        ),
    ],
)
def test_bad_authorize_request_errors_on_the_redirect(
    service: DemoSignInService, overrides: dict[str, str], error: str
) -> None:
    with browser(service) as client:
        answer = client.get("/authorize", params=authorize_params(**overrides))
    query = redirect_query(answer)
    assert query["error"] == error and query["state"] == "state-123"


def test_require_pkce_refuses_a_sign_in_without_challenge(
    make_service: MakeService,
) -> None:
    service = make_service(DemoOptions(require_pkce=True))
    with browser(service) as client:
        answer = client.get("/authorize", params=authorize_params())
        assert redirect_query(answer)["error"] == "invalid_request"


def test_login_cookie_skips_password_but_not_consent(
    service: DemoSignInService,
) -> None:
    with browser(service) as client:
        sign_in(client)
        page = client.get("/authorize", params=authorize_params())
        assert 'id="password"' not in page.text
        assert 'id="allow"' in page.text and "Alice" in page.text

        signed_out = client.get("/v2/logout", params={"client_id": DEMO_CLIENT_ID})
        assert 'id="signed-out"' in signed_out.text
        page = client.get("/authorize", params=authorize_params())
        assert 'id="password"' in page.text


def test_logout_redirects_only_to_allowed_urls(service: DemoSignInService) -> None:
    with browser(service) as client:
        allowed = client.get("/v2/logout", params={"returnTo": f"{CALLBACK}/logout"})
        assert allowed.status_code == 302
        assert allowed.headers["location"] == f"{CALLBACK}/logout"
        assert "Max-Age=0" in allowed.headers["set-cookie"]
        other = client.get("/v2/logout", params={"returnTo": "https://evil.example/"})
        assert other.status_code == 200 and "location" not in other.headers


# -- refresh and revoke


def test_refresh_without_rotation_omits_refresh_token(
    service: DemoSignInService,
) -> None:
    tokens = signed_in_tokens(service)
    with browser(service) as client:
        for _ in range(2):
            answer = refresh(client, tokens["refresh_token"])
            assert answer.status_code == 200
            assert "refresh_token" not in answer.json()
            assert answer.json()["access_token"] != tokens["access_token"]
        assert_oauth_error(
            refresh(client, tokens["refresh_token"], client_secret=None),
            401,
            "invalid_client",
        )
    assert service.stats["refreshes_ok"] == 2
    assert service.stats["refreshes_failed"] == 1


def test_rotating_refresh_and_reuse_detection(make_service: MakeService) -> None:
    service = make_service(DemoOptions(rotating=True))
    first = signed_in_tokens(service)["refresh_token"]
    with browser(service) as client:
        second = refresh(client, first).json()["refresh_token"]
        third = refresh(client, second).json()["refresh_token"]
        assert len({first, second, third}) == 3

        # The already rotated "second" comes back: the whole chain dies.
        assert_oauth_error(refresh(client, second), 403, "invalid_grant")
        assert_oauth_error(refresh(client, third), 403, "invalid_grant")
    assert service.stats["reuse_detected"] == 1
    assert service.stats["revoked_chains"] == 1


def test_rotating_without_reuse_detection_keeps_chain(
    make_service: MakeService,
) -> None:
    service = make_service(DemoOptions(rotating=True, reuse_detection=False))
    first = signed_in_tokens(service)["refresh_token"]
    with browser(service) as client:
        second = refresh(client, first).json()["refresh_token"]
        assert_oauth_error(refresh(client, first), 403, "invalid_grant")
        assert refresh(client, second).status_code == 200
    assert service.stats["reuse_detected"] == 0


def test_rotating_token_and_chain_expire(
    make_service: MakeService, clock: FakeClock
) -> None:
    options = DemoOptions(rotating=True, refresh_lifetime_s=1800, chain_lifetime_s=3000)
    service = make_service(options)
    token = signed_in_tokens(service)["refresh_token"]
    with browser(service) as client:
        clock.now += 1799
        token = refresh(client, token).json()["refresh_token"]
        clock.now += 1800
        assert_oauth_error(refresh(client, token), 403, "invalid_grant")

        token = signed_in_tokens(service)["refresh_token"]
        for _ in range(3):  # each token is fresh, but the chain is 3000 s old
            clock.now += 1000
            answer = refresh(client, token)
            if answer.status_code != 200:
                break
            token = answer.json()["refresh_token"]
        assert_oauth_error(answer, 403, "invalid_grant")


def test_revoke_ends_every_refresh_token_of_the_client(
    service: DemoSignInService,
) -> None:
    one = signed_in_tokens(service)["refresh_token"]
    two = signed_in_tokens(service)["refresh_token"]
    with browser(service) as client:
        body = {"client_id": DEMO_CLIENT_ID, "client_secret": "wrong", "token": one}
        assert client.post("/oauth/revoke", json=body).status_code == 401
        assert refresh(client, two).status_code == 200

        body["client_secret"] = DEMO_CLIENT_SECRET
        assert client.post("/oauth/revoke", json=body).status_code == 200
        assert_oauth_error(refresh(client, one), 403, "invalid_grant")
        assert_oauth_error(refresh(client, two), 403, "invalid_grant")
    assert signed_in_tokens(service)["refresh_token"]  # a new sign-in works


def test_refresh_token_survives_a_restart(
    make_service: MakeService, tmp_path: Path
) -> None:
    options = DemoOptions(rotating=True)
    first_service = make_service(options)
    old = signed_in_tokens(first_service)["refresh_token"]
    with browser(first_service) as client:
        current = refresh(client, old).json()["refresh_token"]
    first_service.stop()

    second_service = make_service(options)
    with browser(second_service) as client:
        # The rotation was remembered: the old token is a reuse...
        assert_oauth_error(refresh(client, old), 403, "invalid_grant")
    third_service = make_service(DemoOptions())
    with browser(third_service) as client:
        # ...and the reuse revoked the chain for good.
        assert_oauth_error(refresh(client, current), 403, "invalid_grant")
    assert (tmp_path / "demo" / "demo-key").stat().st_mode & 0o777 == 0o600


def test_non_rotating_refresh_token_survives_a_restart(
    make_service: MakeService,
) -> None:
    first_service = make_service()
    stored = signed_in_tokens(first_service)["refresh_token"]
    first_service.stop()
    second_service = make_service()
    with browser(second_service) as client:
        assert refresh(client, stored).status_code == 200


def test_unsupported_grant_and_missing_fields(service: DemoSignInService) -> None:
    with browser(service) as client:
        odd = client.post("/oauth/token", data={"grant_type": "password"})
        assert_oauth_error(odd, 400, "unsupported_grant_type")
        assert_oauth_error(client.post("/oauth/token", data={}), 400, "invalid_request")
        assert_oauth_error(refresh(client, "forged.token.value"), 403, "invalid_grant")


def test_nothing_secret_is_logged(
    service: DemoSignInService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tstray")
    with browser(service) as client:
        query = sign_in(client)
        tokens = exchange(client, query["code"]).json()
        refresh(client, tokens["refresh_token"])
        refresh(client, "not-a-token", client_secret="wrong-secret-123")
    # The test's own HTTP client logs headers; only the service's logs count.
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("tstray")
    )
    assert "Alice signed in" in logged  # the capture works
    secrets_seen = [query["code"], DEMO_CLIENT_SECRET, *tokens.values()]
    for secret in secrets_seen:
        if len(str(secret)) > 8:
            assert str(secret) not in logged


def test_settings_point_at_the_service(service: DemoSignInService) -> None:
    base = TradeStationSettings(client_id="real-key", audience="aud-kept")
    settings = service.settings(base)
    assert settings.client_id == DEMO_CLIENT_ID
    assert settings.audience == "aud-kept"
    assert settings.token_url == f"{service.base_url}/oauth/token"
    assert settings.authorize_url.startswith("http://127.0.0.1:")


# -- injected faults


def token_answer(service: DemoSignInService, refresh_token: str) -> httpx.Response:
    with browser(service) as client:
        return refresh(client, refresh_token)


@pytest.mark.parametrize(
    ("fault", "status", "error"),
    [
        (Fault.HTTP_500, 500, None),
        (Fault.HTTP_503, 503, None),
        (Fault.INVALID_GRANT, 403, "invalid_grant"),
        (Fault.INVALID_CLIENT, 401, "invalid_client"),
    ],
)
def test_status_faults(
    service: DemoSignInService, fault: Fault, status: int, error: str | None
) -> None:
    token = signed_in_tokens(service)["refresh_token"]
    service.faults.inject(fault)
    answer = token_answer(service, token)
    assert answer.status_code == status
    if error:
        assert_oauth_error(answer, status, error)
    assert token_answer(service, token).status_code == 200  # only once
    assert service.stats["faults_applied"] == 1


def test_rate_limit_fault_sends_retry_after(service: DemoSignInService) -> None:
    token = signed_in_tokens(service)["refresh_token"]
    service.faults.inject(Fault.HTTP_429)
    service.faults.inject("http_429", retry_after_s=7)
    assert token_answer(service, token).headers["retry-after"] == "2"
    assert token_answer(service, token).headers["retry-after"] == "7"


@pytest.mark.parametrize("fault", [Fault.GARBAGE, Fault.TRUNCATED])
def test_unreadable_body_faults(service: DemoSignInService, fault: Fault) -> None:
    token = signed_in_tokens(service)["refresh_token"]
    service.faults.inject(fault)
    answer = token_answer(service, token)
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.text)
    if fault is Fault.TRUNCATED:
        assert answer.text.startswith('{"access_token": ')


def test_unprocessed_fault_leaves_rotating_token_usable(
    make_service: MakeService,
) -> None:
    service = make_service(DemoOptions(rotating=True))
    token = signed_in_tokens(service)["refresh_token"]
    service.faults.inject(Fault.TRUNCATED)
    token_answer(service, token)
    assert token_answer(service, token).status_code == 200
    assert service.stats["reuse_detected"] == 0


def test_no_expires_in_fault_processes_the_request(service: DemoSignInService) -> None:
    token = signed_in_tokens(service)["refresh_token"]
    service.faults.inject(Fault.NO_EXPIRES_IN)
    answer = token_answer(service, token)
    assert answer.status_code == 200
    assert "expires_in" not in answer.json() and answer.json()["access_token"]
    assert service.stats["refreshes_ok"] == 1


def test_drop_fault_closes_without_answer(service: DemoSignInService) -> None:
    token = signed_in_tokens(service)["refresh_token"]
    service.faults.inject(Fault.DROP, times=2)
    for _ in range(2):
        with pytest.raises(httpx.TransportError):
            token_answer(service, token)
    assert token_answer(service, token).status_code == 200


def test_delay_fault_answers_late(service: DemoSignInService) -> None:
    token = signed_in_tokens(service)["refresh_token"]
    service.faults.inject(Fault.DELAY, delay_s=30)
    impatient = httpx.Client(base_url=service.base_url, timeout=0.5)
    with impatient, pytest.raises(httpx.ReadTimeout):
        refresh(impatient, token)

    service.faults.inject(Fault.DELAY, delay_s=0.05)
    answer = token_answer(service, token)
    assert answer.status_code == 200 and answer.json()["access_token"]


def test_stop_ends_a_delayed_answer(service: DemoSignInService) -> None:
    token = signed_in_tokens(service)["refresh_token"]
    service.faults.inject(Fault.DELAY, delay_s=600)
    outcome: list[BaseException | httpx.Response] = []

    def ask() -> None:
        try:
            outcome.append(token_answer(service, token))
        except httpx.HTTPError as exc:
            outcome.append(exc)

    asker = threading.Thread(target=ask)
    asker.start()
    applied = threading.Event()
    while not applied.wait(0.01):
        if service.stats["faults_applied"] == 1:
            applied.set()
    service.stop()
    asker.join(timeout=20)
    assert not asker.is_alive()
    assert isinstance(outcome[0], httpx.TransportError)


def test_fault_queue_runs_in_order_and_counts(service: DemoSignInService) -> None:
    token = signed_in_tokens(service)["refresh_token"]
    service.faults.inject(Fault.HTTP_503, times=2)
    service.faults.inject(Fault.INVALID_GRANT)
    statuses = [token_answer(service, token).status_code for _ in range(4)]
    assert statuses == [503, 503, 403, 200]


# -- the test hooks and the service as its own process


def test_hooks_refuse_cross_site_and_foreign_hosts(service: DemoSignInService) -> None:
    with browser(service) as client:
        as_form = client.post("/_demo/faults", data={"fault": "drop"})
        assert as_form.status_code == 403
        rebound = client.get("/_demo/stats", headers={"Host": "evil.example"})
        assert rebound.status_code == 403
        unknown = client.post("/_demo/faults", json={"fault": "meteor"})
        assert unknown.status_code == 400
    assert service.faults.pending() == []


@pytest.fixture
def demo_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tstray.demo",
            "--port",
            "0",
            "--state-dir",
            str(tmp_path / "proc-state"),
            "--rotating",
        ],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = process.stdout, process.stderr
    assert stdout is not None and stderr is not None
    # readline() has no timeout of its own; a thread gives it one.
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()))
    reader.start()
    reader.join(timeout=30)
    try:
        match = re.fullmatch(
            r"tstray demo sign-in service on (http://127\.0\.0\.1:\d+)\n", lines[0]
        )
        assert match, lines
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        stdout.close()
        stderr.close()


def test_cross_process_fault_injection(
    demo_process: tuple[subprocess.Popen[str], str],
) -> None:
    process, base_url = demo_process
    with httpx.Client(base_url=base_url, timeout=10) as client:
        queued = client.post("/_demo/faults", json={"fault": "http_503", "times": 1})
        assert queued.json()["pending"] == [{"fault": "http_503", "times": 1}]

        query = sign_in(client)
        assert exchange(client, query["code"]).status_code == 503
        tokens = exchange(client, query["code"]).json()
        rotated = refresh(client, tokens["refresh_token"])
        assert "refresh_token" in rotated.json()  # --rotating reached the service

        stats = client.get("/_demo/stats").json()
    assert stats["faults_applied"] == 1 and stats["refreshes_ok"] == 1

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert process.stdout is not None and process.stdout.read() == ""
    assert process.stderr is not None
    logged = process.stderr.read()
    assert "demo: issued a code for Alice" in logged
    for secret in (query["code"], tokens["refresh_token"], tokens["access_token"]):
        assert secret not in logged
