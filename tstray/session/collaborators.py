"""What the session needs from the outside world, as protocols: a token
client that refreshes (and may revoke) and a store that keeps tokens. The app
passes the real ones; tests pass scripted ones.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from tstray.oauth.tokens import TokenSet


class TokenRefresher(Protocol):
    async def refresh(self, tokens: TokenSet) -> TokenSet: ...


@runtime_checkable
class TokenRevoker(Protocol):
    async def revoke(self, refresh_token: str) -> None: ...


class TokenStorage(Protocol):
    async def load_tokens(self) -> TokenSet | None: ...

    async def save_tokens(self, tokens: TokenSet) -> None: ...

    async def delete_tokens(self) -> None: ...
