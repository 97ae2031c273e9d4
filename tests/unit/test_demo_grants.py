"""The demo service's token rules, called directly (no HTTP)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tstray.demo.faults import DemoStats
from tstray.demo.grants import (
    DEMO_AUDIENCE,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    ConsentedRequest,
    DemoGrants,
    DemoOptions,
    TokenReply,
    pkce_challenge,
)
from tstray.demo.tokens import ChainRegistry, DemoKeys

CALLBACK = "http://localhost:31022"
VERIFIER = "k" * 50


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class Setup:
    def __init__(self, state_dir: Path, options: DemoOptions) -> None:
        self.clock = Clock()
        self.stats = DemoStats()
        self.keys = DemoKeys.load_or_create(state_dir)
        self.grants = DemoGrants(
            self.keys,
            ChainRegistry(state_dir, options.chain_lifetime_s),
            options,
            self.stats,
            self.clock,
            issuer=lambda: "http://127.0.0.1:1/",
        )

    def code(self, scope: str = "openid profile offline_access", **extra: Any) -> str:
        fields: dict[str, Any] = {
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": CALLBACK,
            "scope": scope,
            "audience": DEMO_AUDIENCE,
            "user_name": "Bea",
            "code_challenge": None,
            "nonce": None,
        }
        fields.update(extra)
        return self.grants.issue_code(ConsentedRequest(**fields))

    def exchange(self, code: str, **form: str | None) -> TokenReply:
        fields: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "code": code,
            "redirect_uri": CALLBACK,
        }
        fields.update(form)
        return self.grants.token_request(
            {k: v for k, v in fields.items() if v is not None}
        )

    def refresh(self, token: str, **form: str | None) -> TokenReply:
        fields: dict[str, str | None] = {
            "grant_type": "refresh_token",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "refresh_token": token,
        }
        fields.update(form)
        return self.grants.token_request(
            {k: v for k, v in fields.items() if v is not None}
        )

    def refresh_token(self) -> str:
        reply = self.exchange(self.code())
        assert reply.body is not None
        return str(reply.body["refresh_token"])


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path, DemoOptions())


def error_of(reply: TokenReply) -> tuple[int, str]:
    assert reply.body is not None
    return reply.status, str(reply.body.get("error"))


def test_no_offline_access_means_no_refresh_token(setup: Setup) -> None:
    reply = setup.exchange(setup.code(scope="openid MarketData"))
    assert reply.status == 200 and reply.body is not None
    assert "refresh_token" not in reply.body
    claims = setup.keys.decode_jwt(reply.body["id_token"])
    assert claims is not None and "name" not in claims  # no profile scope


def test_id_token_carries_name_and_nonce(setup: Setup) -> None:
    reply = setup.exchange(setup.code(nonce="n-1"))
    assert reply.body is not None
    claims = setup.keys.decode_jwt(reply.body["id_token"])
    assert claims is not None
    assert claims["name"] == "Bea" and claims["nonce"] == "n-1"
    assert claims["sub"].startswith("auth0|demo-")


def test_pkce_rules(setup: Setup) -> None:
    challenged = setup.code(code_challenge=pkce_challenge(VERIFIER))
    assert error_of(setup.exchange(challenged)) == (400, "invalid_request")
    too_short = setup.exchange(challenged, code_verifier="k" * 10)
    assert error_of(too_short) == (403, "invalid_grant")
    assert setup.exchange(challenged, code_verifier=VERIFIER).status == 200

    plain = setup.code()
    assert error_of(setup.exchange(plain, code_verifier=VERIFIER)) == (
        403,
        "invalid_grant",
    )


def test_require_pkce_refuses_a_code_without_challenge(tmp_path: Path) -> None:
    strict = Setup(tmp_path, DemoOptions(require_pkce=True))
    assert error_of(strict.exchange(strict.code())) == (400, "invalid_request")


def test_unknown_client_and_missing_fields(setup: Setup) -> None:
    code = setup.code()
    assert error_of(setup.exchange(code, client_id="other")) == (401, "invalid_client")
    assert error_of(setup.exchange(code, redirect_uri=None)) == (400, "invalid_request")
    assert error_of(setup.refresh("x", refresh_token=None)) == (400, "invalid_request")
    assert setup.exchange(code).status == 200  # failed attempts did not spend it


def test_wrong_secret_is_invalid_client_even_with_a_bad_token(setup: Setup) -> None:
    assert error_of(setup.refresh("junk", client_secret="nope")) == (
        401,
        "invalid_client",
    )
    assert error_of(setup.refresh("junk")) == (403, "invalid_grant")
    assert setup.stats["refreshes_failed"] == 2


def test_racing_refreshes_of_one_rotating_token(tmp_path: Path) -> None:
    rotating = Setup(tmp_path, DemoOptions(rotating=True, reuse_detection=False))
    token = rotating.refresh_token()
    statuses: list[int] = []
    start = threading.Barrier(6)

    def race() -> None:
        start.wait()
        statuses.append(rotating.refresh(token).status)

    racers = [threading.Thread(target=race) for _ in range(6)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(statuses) == [200, 403, 403, 403, 403, 403]


def test_revoke_rules(setup: Setup, tmp_path: Path) -> None:
    token = setup.refresh_token()
    grants = setup.grants
    base = {"client_id": DEMO_CLIENT_ID, "token": token}
    assert error_of(grants.revoke_request(base)) == (401, "invalid_client")
    assert error_of(grants.revoke_request({"client_id": DEMO_CLIENT_ID})) == (
        400,
        "invalid_request",
    )
    assert setup.refresh(token).status == 200
    assert (
        grants.revoke_request({**base, "client_secret": DEMO_CLIENT_SECRET}).status
        == 200
    )
    assert error_of(setup.refresh(token)) == (403, "invalid_grant")


def test_pkce_chain_revokes_without_secret(setup: Setup) -> None:
    code = setup.code(code_challenge=pkce_challenge(VERIFIER))
    reply = setup.exchange(code, client_secret=None, code_verifier=VERIFIER)
    assert reply.body is not None
    token = reply.body["refresh_token"]
    revoke = setup.grants.revoke_request({"client_id": DEMO_CLIENT_ID, "token": token})
    assert revoke.status == 200 and revoke.body is None
    assert error_of(setup.refresh(token, client_secret=None)) == (403, "invalid_grant")
    assert setup.stats["revoke_requests"] == 1


def test_reply_repr_hides_tokens(setup: Setup) -> None:
    reply = setup.exchange(setup.code())
    assert reply.body is not None
    assert reply.body["access_token"] not in repr(reply)
