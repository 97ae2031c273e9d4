"""The tray's token store: ``TokenStore``'s tasks, each done by a short-lived
keyring helper process (``tstray.storage.helper`` says why and how).

``HelperTokenStore`` has ``TokenStore``'s methods and errors, so the session
and the settings window cannot tell them apart. Tasks run one at a time and
in order on a private thread, which waits for the helper without blocking
the event loop. The request, which may hold a token or the client secret,
goes to the helper on stdin only; this module never logs it, nor the answer.

A helper that cannot start, crashes, says something unreadable or takes too
long is a ``KeyringUnavailableError`` ("try again later"): nothing stored is
touched because of it.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Sequence
from typing import Any

from tstray.oauth.tokens import TokenSet
from tstray.own_command import own_command
from tstray.storage.codec import decode_tokens, encode_tokens
from tstray.storage.errors import (
    KeyringUnavailableError,
    StoredDataError,
    StoreError,
    timed_out,
)
from tstray.storage.tasks import run_store_task
from tstray.storage.worker import SerialWorker

_log = logging.getLogger(__name__)

# Starting Python and the keyring library takes a fraction of a second on a
# quiet machine and a few seconds on a busy one; this is added to the
# keyring's own time limit before the helper is given up on.
START_ALLOWANCE_S = 20.0
_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)


def helper_command() -> list[str]:
    """How to start the keyring helper: this Python, or the frozen app."""
    return own_command("tstray.storage.helper", "--keyring-helper")


class HelperTokenStore:
    """Tokens and client secrets of one keyring service, through the helper.

    Args:
        service: the keyring service name ("tstray", or "tstray-demo").
        timeout_s: how long the keyring may take for one task (the helper's
            ``TokenStore`` limit); the helper itself gets
            ``START_ALLOWANCE_S`` more to start and answer.
        command: the helper's command line; ``helper_command()`` if None.
        start_allowance_s: the helper's time to start and answer, on top of
            ``timeout_s``.
    """

    def __init__(
        self,
        service: str,
        *,
        timeout_s: float = 10.0,
        command: Sequence[str] | None = None,
        start_allowance_s: float = START_ALLOWANCE_S,
    ) -> None:
        if not service:
            raise ValueError("the keyring service name must not be empty")
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        self._service = service
        self._timeout_s = timeout_s
        self._command = list(command) if command is not None else helper_command()
        self._start_allowance_s = start_allowance_s
        self._worker = SerialWorker(f"tstray-keyring-{service}")

    def __repr__(self) -> str:
        return f"HelperTokenStore(service={self._service!r})"

    @property
    def service(self) -> str:
        return self._service

    async def load_tokens(self) -> TokenSet | None:
        """As ``TokenStore.load_tokens``."""
        value = await self._ask("load the tokens", {"op": "load_tokens"})
        return None if value is None else decode_tokens(value)

    async def save_tokens(self, tokens: TokenSet) -> None:
        """As ``TokenStore.save_tokens``."""
        request = {"op": "save_tokens", "tokens": encode_tokens(tokens)}
        await self._ask("save the tokens", request)

    async def delete_tokens(self) -> None:
        """As ``TokenStore.delete_tokens``."""
        await self._ask("delete the tokens", {"op": "delete_tokens"})

    async def load_client_secret(self, client_id: str) -> str | None:
        """As ``TokenStore.load_client_secret``."""
        request = {"op": "load_client_secret", "client_id": client_id}
        return await self._ask("load the client secret", request)

    async def save_client_secret(self, client_id: str, secret: str) -> None:
        """As ``TokenStore.save_client_secret``."""
        if not secret:
            raise ValueError("the client secret must not be empty")
        request = {
            "op": "save_client_secret",
            "client_id": client_id,
            "secret": secret,
        }
        await self._ask("save the client secret", request)

    async def delete_client_secret(self, client_id: str) -> None:
        """As ``TokenStore.delete_client_secret``."""
        request = {"op": "delete_client_secret", "client_id": client_id}
        await self._ask("delete the client secret", request)

    def close(self) -> None:
        """Takes no new task; one under way still finishes. Never blocks."""
        self._worker.close()

    # Steps.

    async def _ask(self, action: str, request: dict[str, Any]) -> str | None:
        request = {**request, "service": self._service, "timeout_s": self._timeout_s}
        limit_s = self._timeout_s + self._start_allowance_s
        # The worker's own limit is a backstop: subprocess.run kills a helper
        # that overruns limit_s first.
        return await run_store_task(
            self._worker,
            lambda: self._exchange(action, request, limit_s),
            service=self._service,
            action=action,
            timeout_s=limit_s + 5.0,
            timed_out=lambda: timed_out(action, limit_s),
            error_for=_helper_failed,
        )

    def _exchange(
        self, action: str, request: dict[str, Any], limit_s: float
    ) -> str | None:
        """Runs one helper; on the worker thread only."""
        try:
            # The command is this program itself (helper_command), never
            # anything from a request or a file.
            finished = subprocess.run(  # noqa: S603
                self._command,
                input=json.dumps(request).encode(),
                capture_output=True,
                timeout=limit_s,
                check=False,
                # A windowed app on Windows would flash a console otherwise.
                creationflags=_NO_WINDOW,
            )
        except subprocess.TimeoutExpired as exc:
            raise timed_out(action, limit_s) from exc
        except OSError as exc:
            raise KeyringUnavailableError(
                f"The keyring helper could not start ({type(exc).__name__}) to"
                f" {action}: check that tstray is installed whole, then try again."
            ) from exc

        answer = _read_answer(finished.stdout)
        if answer is None:
            _log.debug(
                "keyring helper exited with %d and %d bytes on stderr",
                finished.returncode,
                len(finished.stderr),
            )
            raise KeyringUnavailableError(
                f"The keyring helper failed to {action} (exit code"
                f" {finished.returncode}): tstray will try again."
            )
        if answer["ok"]:
            value = answer.get("value")
            return value if isinstance(value, str) else None

        reason = str(answer.get("reason") or "the keyring helper gave no reason")
        if answer.get("error") == "stored_data":
            raise StoredDataError(reason)
        raise KeyringUnavailableError(reason)


def _helper_failed(exc: Exception, action: str) -> StoreError:
    return KeyringUnavailableError(
        f"The keyring helper failed to {action} ({type(exc).__name__}):"
        " tstray will try again."
    )


def _read_answer(output: bytes) -> dict[str, Any] | None:
    """The helper's one answer line, or None if there is no readable one."""
    lines = output.splitlines()
    if len(lines) != 1:
        return None
    try:
        answer = json.loads(lines[0])
    except (ValueError, RecursionError):
        return None
    if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
        return None
    return answer
