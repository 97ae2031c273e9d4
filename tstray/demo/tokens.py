"""Mints and checks the demo sign-in service's tokens, and keeps the little
state that must outlive a restart.

Access and id tokens are real JWTs (HS256). Refresh tokens and the login
cookie are HMAC-signed and self-validating, so a refresh token the app stored
still works after the demo service restarts; what can change about them
(revoked chains, the newest generation of a rotating chain, a client's
revocations) lives in ``state.json``, written atomically. The signing key in
``demo-key`` is a demo-only key, never a user's secret. Nothing here logs or
prints a token, a code or the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

KEY_FILE_NAME = "demo-key"
STATE_FILE_NAME = "state.json"
_KEY_BYTES = 32
_REFRESH_PREFIX = "tsd1"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Decodes unpadded base64url; raises ValueError on anything else."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("not base64url") from exc


def _mac(key: bytes, purpose: str, message: str) -> str:
    # The purpose is part of the MAC so a value signed for one use (a cookie)
    # can never pass as another (a refresh token).
    data = f"{purpose}.{message}".encode()
    return _b64encode(hmac.new(key, data, hashlib.sha256).digest())


def _write_private_file(file: Path, text: str) -> None:
    """Writes ``text`` to ``file`` atomically, readable by the user only."""
    descriptor, temp_name = tempfile.mkstemp(
        dir=file.parent, prefix=f".{file.name}-", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as temp:
            temp.write(text)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, file)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


class DemoKeys:
    """The demo service's signing key.

    Each use gets its own key derived from the one in the file, so the three
    kinds of signed values cannot be swapped for each other.
    """

    def __init__(self, secret: bytes) -> None:
        self._jwt_key = hmac.new(secret, b"jwt", hashlib.sha256).digest()
        self._refresh_key = hmac.new(secret, b"refresh", hashlib.sha256).digest()
        self._cookie_key = hmac.new(secret, b"cookie", hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "DemoKeys(<hidden>)"

    @classmethod
    def load_or_create(cls, state_dir: Path) -> DemoKeys:
        """Reads ``state_dir/demo-key``, creating it (mode 0600) if missing."""
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        file = state_dir / KEY_FILE_NAME
        if file.exists():
            return cls(cls._read_or_replace(file))

        # The key is written in full to a temp file and then linked into
        # place, which fails if the file exists: when two demo services start
        # at once, one creates the key and the other reads a complete one.
        secret = secrets.token_bytes(_KEY_BYTES)
        temp = file.with_name(f".{file.name}-{secrets.token_hex(4)}.tmp")
        _write_private_file(temp, secret.hex())
        try:
            os.link(temp, file)
        except FileExistsError:
            return cls(cls._read_or_replace(file))
        finally:
            temp.unlink(missing_ok=True)
        logger.info("created a new demo signing key in %s", file)
        return cls(secret)

    @staticmethod
    def _read_or_replace(file: Path) -> bytes:
        try:
            secret = bytes.fromhex(file.read_text(encoding="ascii").strip())
        except (UnicodeDecodeError, ValueError):
            secret = b""
        if len(secret) == _KEY_BYTES:
            os.chmod(file, 0o600)
            return secret

        logger.warning(
            "the demo signing key in %s is unreadable; making a new one, so earlier"
            " demo sign-ins end",
            file,
        )
        secret = secrets.token_bytes(_KEY_BYTES)
        _write_private_file(file, secret.hex())
        return secret

    def encode_jwt(self, claims: Mapping[str, Any]) -> str:
        """Returns a signed JWT (HS256) carrying ``claims``."""
        header = {"alg": "HS256", "typ": "JWT", "kid": "tstray-demo"}
        signing_input = ".".join(
            _b64encode(json.dumps(part, separators=(",", ":")).encode())
            for part in (header, dict(claims))
        )
        signature = hmac.new(
            self._jwt_key, signing_input.encode("ascii"), hashlib.sha256
        ).digest()
        return f"{signing_input}.{_b64encode(signature)}"

    def decode_jwt(self, token: str) -> dict[str, Any] | None:
        """Returns the claims of a JWT this key signed, else ``None``.

        The signature is checked; ``exp`` is not (the caller decides).
        """
        parts = token.split(".")
        if len(parts) != 3:
            return None
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
        expected = hmac.new(self._jwt_key, signing_input, hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(_b64decode(parts[2]), expected):
                return None
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
        except ValueError:
            return None
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            return None
        return claims if isinstance(claims, dict) else None

    def encode_refresh_token(self, claims: RefreshClaims) -> str:
        payload = _b64encode(json.dumps(asdict(claims), sort_keys=True).encode())
        return f"{_REFRESH_PREFIX}.{payload}.{_mac(self._refresh_key, 'rt', payload)}"

    def decode_refresh_token(self, token: str) -> RefreshClaims | None:
        """Returns the claims of a refresh token this key signed, else ``None``.

        Only the signature and shape are checked here; whether the token is
        still good (revoked, rotated, expired) is the caller's question.
        """
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _REFRESH_PREFIX:
            return None
        expected = _mac(self._refresh_key, "rt", parts[1])
        if not hmac.compare_digest(parts[2].encode(), expected.encode()):
            return None
        try:
            return RefreshClaims.from_json(json.loads(_b64decode(parts[1])))
        except (ValueError, TypeError, KeyError):
            return None

    def sign_login_cookie(self, user_name: str) -> str:
        name = _b64encode(user_name.encode())
        return f"{name}.{_mac(self._cookie_key, 'login', name)}"

    def verify_login_cookie(self, value: str) -> str | None:
        """Returns the user name a login cookie remembers, else ``None``."""
        name, _, signature = value.partition(".")
        expected = _mac(self._cookie_key, "login", name)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        try:
            return _b64decode(name).decode()
        except (ValueError, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class RefreshClaims:
    """What a demo refresh token carries (signed, so it needs no database).

    Attributes:
        chain_id: the sign-in this token descends from.
        generation: 0 at sign-in, one more with each rotation.
        issued_at: when this token was minted (clock seconds).
        chain_started_at: when the user signed in (clock seconds).
        client_id: the API key the token belongs to.
        epoch: the client's revocation count when the chain started; a
            revoke request raises it and so ends every older chain.
        pkce: the chain began with PKCE, so refreshing needs no secret.
        user_name: the name typed at sign-in.
        scope: the granted scopes, space-separated.
        audience: the API the access tokens are for.
    """

    chain_id: str
    generation: int
    issued_at: float
    chain_started_at: float
    client_id: str
    epoch: int
    pkce: bool
    user_name: str
    scope: str
    audience: str

    def __repr__(self) -> str:
        return f"RefreshClaims(chain={self.chain_id[:8]}, gen={self.generation})"

    @classmethod
    def from_json(cls, value: object) -> RefreshClaims:
        """Raises TypeError/KeyError/ValueError for anything malformed."""
        if not isinstance(value, dict):
            raise TypeError("refresh token claims are not an object")
        claims = cls(**value)
        texts = (
            claims.chain_id,
            claims.client_id,
            claims.user_name,
            claims.scope,
            claims.audience,
        )
        numbers = (claims.issued_at, claims.chain_started_at)
        if (
            not all(isinstance(t, str) for t in texts)
            or not all(isinstance(n, int | float) for n in numbers)
            or not isinstance(claims.generation, int)
            or not isinstance(claims.epoch, int)
            or not isinstance(claims.pkce, bool)
        ):
            raise ValueError("refresh token claims have the wrong types")
        return claims


class ChainRegistry:
    """The mutable server state: revocations and rotation, in ``state.json``.

    Every change is saved at once (temp file + ``os.replace``) so that a
    crash or a restart never brings a revoked or rotated token back to life.
    Entries of rotating chains are dropped once the chain has expired anyway.
    Thread-safe.
    """

    def __init__(self, state_dir: Path, chain_lifetime_s: float) -> None:
        self._file = state_dir / STATE_FILE_NAME
        self._chain_lifetime_s = chain_lifetime_s
        self._lock = threading.Lock()
        self._client_epochs: dict[str, int] = {}
        self._revoked_chains: dict[str, float] = {}
        self._newest_generation: dict[str, tuple[int, float]] = {}
        self._load()

    def _load(self) -> None:
        try:
            document = json.loads(self._file.read_text(encoding="utf-8"))
            epochs = {str(k): int(v) for k, v in document["client_epochs"].items()}
            revoked = {str(k): float(v) for k, v in document["revoked_chains"].items()}
            newest = {
                str(k): (int(v[0]), float(v[1]))
                for k, v in document["newest_generation"].items()
            }
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
            logger.warning(
                "the demo state in %s is unreadable; starting afresh", self._file
            )
            return
        self._client_epochs = epochs
        self._revoked_chains = revoked
        self._newest_generation = newest

    def _save(self, now: float) -> None:
        # Called with the lock held.
        oldest_live_start = now - self._chain_lifetime_s
        self._revoked_chains = {
            c: s for c, s in self._revoked_chains.items() if s >= oldest_live_start
        }
        self._newest_generation = {
            c: g
            for c, g in self._newest_generation.items()
            if g[1] >= oldest_live_start
        }
        document = {
            "version": 1,
            "client_epochs": self._client_epochs,
            "revoked_chains": self._revoked_chains,
            "newest_generation": self._newest_generation,
        }
        _write_private_file(self._file, json.dumps(document, indent=1, sort_keys=True))

    def epoch(self, client_id: str) -> int:
        with self._lock:
            return self._client_epochs.get(client_id, 0)

    def revoke_client(self, client_id: str, now: float) -> None:
        """Ends every chain of ``client_id`` started so far."""
        with self._lock:
            self._client_epochs[client_id] = self._client_epochs.get(client_id, 0) + 1
            self._save(now)

    def is_revoked(self, claims: RefreshClaims) -> bool:
        with self._lock:
            return (
                claims.chain_id in self._revoked_chains
                or claims.epoch < self._client_epochs.get(claims.client_id, 0)
            )

    def revoke_chain(self, claims: RefreshClaims, now: float) -> None:
        with self._lock:
            self._revoked_chains[claims.chain_id] = claims.chain_started_at
            self._save(now)

    def newest_generation(self, chain_id: str) -> int | None:
        with self._lock:
            entry = self._newest_generation.get(chain_id)
            return entry[0] if entry else None

    def record_generation(self, claims: RefreshClaims, now: float) -> None:
        """Notes ``claims`` as its rotating chain's newest token."""
        with self._lock:
            self._newest_generation[claims.chain_id] = (
                claims.generation,
                claims.chain_started_at,
            )
            self._save(now)
