"""A dependency-free helper for programs that want a token from tstray.

``from tstray.client import get_token`` is all a Python program needs: it
finds the port in ``config.toml`` and the local API key in its file (the same
places the tray app uses), asks the running tstray for a token and returns
it. It uses the standard library only (no Qt, no httpx), so importing it is
cheap. It never creates or rotates the key file, never logs or prints the
key or a token, and never puts either in a URL.
"""

from __future__ import annotations

import http.client
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tstray.config import load_config
from tstray.paths import app_paths
from tstray.port_owner import foreign_listener

__all__ = [
    "ConnectionInfo",
    "TokenUnavailableError",
    "connection_info",
    "get_status",
    "get_token",
]

MAX_MIN_TTL_S = 3600.0


class TokenUnavailableError(Exception):
    """No token could be had; the message says why, in words.

    Attributes:
        code: the local service's ``error`` code (``signed_out``,
            ``sign_in_needed``, ``token_expired``, ``refresh_timeout``,
            ``unauthorized``...), or ``not_running``, ``no_api_key``,
            ``bad_answer`` when the service could not be asked.
        status: the HTTP status of the service's answer, None if there was
            none.
    """

    def __init__(self, message: str, *, code: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class ConnectionInfo:
    """How to reach the running tstray.

    Attributes:
        base_url: ``http://127.0.0.1:<port>``.
        api_key: the local API key (hidden in ``repr``).
    """

    base_url: str
    api_key: str = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        """The header every ``/v1/*`` request carries."""
        return {"Authorization": f"Bearer {self.api_key}"}


def connection_info(
    *, profile: str = "default", config_path: str | os.PathLike[str] | None = None
) -> ConnectionInfo:
    """Finds the port and the API key the way the tray app does.

    Args:
        profile: ``"default"``, or ``"demo"`` for ``tstray --demo``.
        config_path: an explicit ``config.toml`` (the key file sits next to
            it); else ``TSTRAY_CONFIG``; else the platform's config folder.

    Raises:
        TokenUnavailableError: the key file is missing or unreadable
            (``no_api_key``).
    """
    explicit = config_path or os.environ.get("TSTRAY_CONFIG")
    paths = app_paths(profile, Path(explicit).expanduser() if explicit else None)
    port = load_config(paths.config_file).server.port
    return ConnectionInfo(f"http://127.0.0.1:{port}", _read_api_key(paths.api_key_file))


def get_token(
    min_ttl: float = 0,
    *,
    profile: str = "default",
    config_path: str | os.PathLike[str] | None = None,
    timeout_s: float = 20,
) -> str:
    """Returns an access token that lives at least ``min_ttl`` more seconds.

    tstray refreshes first when its token would expire sooner, so this may
    take a moment; ``timeout_s`` bounds the wait.

    Args:
        min_ttl: seconds of life the token must have left, 0 to 3600.
        profile: ``"default"``, or ``"demo"`` for ``tstray --demo``.
        config_path: an explicit ``config.toml``; see ``connection_info``.
        timeout_s: how long to wait for each step of the exchange.

    Raises:
        ValueError: ``min_ttl`` is out of range.
        TokenUnavailableError: tstray is not running, the key is wrong, or no
            valid token can be had (the message is the service's).
    """
    if not 0 <= min_ttl <= MAX_MIN_TTL_S:
        raise ValueError(f"min_ttl must be from 0 to {MAX_MIN_TTL_S:g} seconds")
    info = connection_info(profile=profile, config_path=config_path)

    # Fixed-point with at most 6 decimals: the service refuses exponents.
    seconds = f"{min_ttl:.6f}".rstrip("0").rstrip(".")
    status, body = _get_json(info, f"/v1/token?min_ttl={seconds}", timeout_s)

    token = body.get("access_token")
    if status == 200 and isinstance(token, str) and token:
        return token
    code = body.get("error")
    message = body.get("message")
    raise TokenUnavailableError(
        str(message) if message else f"tstray answered {status} without a token",
        code=str(code) if code else "bad_answer",
        status=status,
    )


def get_status(
    *,
    profile: str = "default",
    config_path: str | os.PathLike[str] | None = None,
    timeout_s: float = 20,
) -> tuple[int, dict[str, object]]:
    """Returns the HTTP status and JSON of ``/v1/status`` (no token in it).

    Raises:
        TokenUnavailableError: tstray could not be asked.
    """
    info = connection_info(profile=profile, config_path=config_path)
    return _get_json(info, "/v1/status", timeout_s)


def _read_api_key(path: Path) -> str:
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenUnavailableError(
            f"cannot read the local API key in {path} ({exc.__class__.__name__});"
            " has tstray been started once?",
            code="no_api_key",
        ) from exc
    if not key:
        raise TokenUnavailableError(f"{path} holds no API key", code="no_api_key")
    return key


def _get_json(
    info: ConnectionInfo, target: str, timeout_s: float
) -> tuple[int, dict[str, object]]:
    host, _, port = info.base_url.removeprefix("http://").rpartition(":")
    if foreign_listener(int(port)):
        raise TokenUnavailableError(
            f"another user's program listens on {host}:{port}; the API key was not"
            " sent. Start tstray, or choose another [server] port",
            code="foreign_listener",
        )
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout_s)
    try:
        connection.request("GET", target, headers=info.headers)
        response = connection.getresponse()
        body = json.loads(response.read() or b"{}")
    except (OSError, http.client.HTTPException) as exc:
        raise TokenUnavailableError(
            f"tstray is not answering on {host}:{port} ({exc.__class__.__name__});"
            " is it running?",
            code="not_running",
        ) from exc
    except ValueError as exc:
        raise TokenUnavailableError(
            f"{host}:{port} did not answer like tstray", code="bad_answer"
        ) from exc
    finally:
        connection.close()
    if not isinstance(body, dict):
        raise TokenUnavailableError(
            f"{host}:{port} did not answer like tstray", code="bad_answer"
        )
    return response.status, body
