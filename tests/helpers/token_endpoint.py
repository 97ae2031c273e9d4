"""A scripted token endpoint for TokenClient tests over httpx.MockTransport,
with the throwaway secrets those tests use and must never find in a log.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest

from tstray.config import TradeStationSettings
from tstray.oauth.client import TokenClient
from tstray.oauth.errors import TokenEndpointError
from tstray.oauth.tokens import TokenSet

T = TypeVar("T")

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
SETTINGS = TradeStationSettings(
    client_id="test-api-key",
    redirect_uri="http://localhost:31022",
    token_url="http://127.0.0.1:9/oauth/token",
    revoke_url="http://127.0.0.1:9/oauth/revoke",
)
SECRET = "client-secret-Zq81"
CODE = "auth-code-Lp20"
VERIFIER = "verifier-Xk39-" + "v" * 40
ACCESS = "access-token-Ab12"
REFRESH = "refresh-token-Cd34"
NEW_REFRESH = "refresh-token-Ef56"
SECRET_VALUES = (SECRET, CODE, VERIFIER, ACCESS, REFRESH, NEW_REFRESH)

Handler = Callable[[httpx.Request], httpx.Response]


def id_token(**claims: Any) -> str:
    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


def token_body(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": ACCESS,
        "expires_in": 1200,
        "token_type": "Bearer",
        "scope": "openid offline_access MarketData",
    }
    body.update(extra)
    return body


OLD_TOKENS = TokenSet(
    access_token="old-access-token",
    refresh_token=REFRESH,
    expires_at=NOW - timedelta(seconds=5),
    scope="openid offline_access",
    account="Ann",
    signed_in_at=NOW - timedelta(hours=3),
)


@dataclass
class Endpoint:
    """A scripted sign-in service: answers in turn and records requests."""

    answers: list[httpx.Response | Exception]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def form(self, index: int = 0) -> dict[str, str]:
        fields = parse_qs(self.requests[index].content.decode(), strict_parsing=True)
        assert all(len(values) == 1 for values in fields.values())
        return {name: values[0] for name, values in fields.items()}


def run_client(
    endpoint: Handler,
    call: Callable[[TokenClient], Awaitable[T]],
    secret: str | None = SECRET,
    clock: Callable[[], datetime] = lambda: NOW,
    **client_options: Any,
) -> T:
    async def main() -> T:
        async def client_secret() -> str | None:
            return secret

        transport = httpx.MockTransport(endpoint)
        async with httpx.AsyncClient(transport=transport, **client_options) as http:
            return await call(TokenClient(SETTINGS, lambda: http, client_secret, clock))

    return asyncio.run(main())


def exchange(client: TokenClient) -> Awaitable[TokenSet]:
    return client.exchange_code(CODE, VERIFIER)


def refresh(client: TokenClient) -> Awaitable[TokenSet]:
    return client.refresh(OLD_TOKENS)


def revoke(client: TokenClient) -> Awaitable[None]:
    return client.revoke(REFRESH)


def failure_of(
    answer: httpx.Response | Exception,
    call: Callable[[TokenClient], Awaitable[Any]] = refresh,
) -> TokenEndpointError:
    endpoint = Endpoint([answer])
    with pytest.raises(TokenEndpointError) as caught:
        run_client(endpoint, call)
    assert len(endpoint.requests) == 1
    return caught.value
