"""Reads ``config.toml`` into typed settings, with a TradeStation default for
every key.

A broken file never stops the app: each wrong value is reported as a
``ConfigProblem`` naming the file, the key and what was expected, and the
default is used in its place. The client secret is never read from this file;
it lives in the keyring (or ``TSTRAY_CLIENT_SECRET`` for automation).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_SCOPES = (
    "openid",
    "profile",
    "offline_access",
    "MarketData",
    "ReadAccount",
    "Trade",
)


@dataclass(frozen=True)
class TradeStationSettings:
    """How to reach TradeStation's sign-in service, and which key to use."""

    client_id: str = ""
    redirect_uri: str = "http://localhost:31022"
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    audience: str = "https://api.tradestation.com"
    authorize_url: str = "https://signin.tradestation.com/authorize"
    token_url: str = "https://signin.tradestation.com/oauth/token"  # noqa: S105  # a URL, not a password
    revoke_url: str = "https://signin.tradestation.com/oauth/revoke"
    refresh_margin_s: int = 300
    pkce: bool = True


@dataclass(frozen=True)
class ServerSettings:
    """The local token service."""

    port: int = 31023


@dataclass(frozen=True)
class DemoSettings:
    """The built-in demo sign-in service (``tstray --demo``)."""

    access_lifetime_s: int = 120
    rotating: bool = False


@dataclass(frozen=True)
class ConfigProblem:
    """One wrong value in the config file, in words a user can act on."""

    file: Path
    key: str
    expected: str
    found: str

    def __str__(self) -> str:
        return (
            f"{self.file}: [{self.key}] should be {self.expected}, found {self.found};"
            " using the default"
        )


@dataclass(frozen=True)
class Config:
    """Everything read from the config file, defaults filled in."""

    tradestation: TradeStationSettings = field(default_factory=TradeStationSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    demo: DemoSettings = field(default_factory=DemoSettings)
    file: Path | None = None
    problems: tuple[ConfigProblem, ...] = ()

    @property
    def has_client_id(self) -> bool:
        return bool(self.tradestation.client_id)


class _Reader:
    """Pulls typed values out of one TOML table, noting every problem."""

    def __init__(self, file: Path, section: str, table: Mapping[str, Any]) -> None:
        self.file = file
        self.section = section
        self.table = table
        self.problems: list[ConfigProblem] = []

    def _problem(self, key: str, expected: str, found: object) -> None:
        self.problems.append(
            ConfigProblem(self.file, f"{self.section}.{key}", expected, repr(found))
        )

    def get(
        self,
        key: str,
        default: Any,
        expected: str,
        check: Callable[[Any], bool],
    ) -> Any:
        if key not in self.table:
            return default
        value = self.table[key]
        if not check(value):
            self._problem(key, expected, value)
            return default
        return value


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_loopback_http_url(value: object) -> bool:
    # RFC 8252: a redirect to a loopback address never leaves the machine.
    return _is_http_url(value) and urlsplit(str(value)).hostname in (
        "localhost",
        "127.0.0.1",
        "::1",
    )


def _is_scope_list(value: object) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(s, str) and s and " " not in s for s in value)
    )


def _is_port(value: object) -> bool:
    return (
        isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
    )


def _is_margin(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3600


def _read_tradestation(reader: _Reader) -> TradeStationSettings:
    d = TradeStationSettings()
    url = "an http(s) URL"

    def is_str(v: object) -> bool:
        return isinstance(v, str)

    scopes = reader.get(
        "scopes", list(d.scopes), "a list of scope names", _is_scope_list
    )
    return TradeStationSettings(
        client_id=reader.get("client_id", d.client_id, "a string", is_str).strip(),
        redirect_uri=reader.get(
            "redirect_uri",
            d.redirect_uri,
            "a loopback URL such as http://localhost:31022",
            _is_loopback_http_url,
        ),
        scopes=tuple(scopes),
        audience=reader.get("audience", d.audience, "a string", is_str),
        authorize_url=reader.get("authorize_url", d.authorize_url, url, _is_http_url),
        token_url=reader.get("token_url", d.token_url, url, _is_http_url),
        revoke_url=reader.get("revoke_url", d.revoke_url, url, _is_http_url),
        refresh_margin_s=reader.get(
            "refresh_margin_s",
            d.refresh_margin_s,
            "a whole number of seconds from 0 to 3600",
            _is_margin,
        ),
        pkce=reader.get("pkce", d.pkce, "true or false", lambda v: isinstance(v, bool)),
    )


def _read_server(reader: _Reader) -> ServerSettings:
    d = ServerSettings()
    return ServerSettings(
        port=reader.get("port", d.port, "a port number from 1 to 65535", _is_port),
    )


def _read_demo(reader: _Reader) -> DemoSettings:
    d = DemoSettings()

    def is_lifetime(value: object) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and 10 <= value <= 3600
        )

    return DemoSettings(
        access_lifetime_s=reader.get(
            "access_lifetime_s",
            d.access_lifetime_s,
            "a whole number of seconds from 10 to 3600",
            is_lifetime,
        ),
        rotating=reader.get(
            "rotating", d.rotating, "true or false", lambda v: isinstance(v, bool)
        ),
    )


def _table(
    document: Mapping[str, Any], name: str, file: Path, problems: list[ConfigProblem]
) -> Mapping[str, Any]:
    value = document.get(name, {})
    if isinstance(value, dict):
        return value
    problems.append(ConfigProblem(file, name, "a table", repr(value)))
    return {}


def load_config(file: Path) -> Config:
    """Reads ``file``; a missing file gives the defaults, a broken one the
    defaults plus the problems found."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config(file=file)
    except OSError as exc:
        problem = ConfigProblem(file, "(file)", "a readable file", exc.strerror or "")
        return Config(file=file, problems=(problem,))

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = ConfigProblem(file, "(file)", "valid TOML", str(exc))
        return Config(file=file, problems=(problem,))

    problems: list[ConfigProblem] = []
    ts_reader = _Reader(
        file, "tradestation", _table(document, "tradestation", file, problems)
    )
    server_reader = _Reader(file, "server", _table(document, "server", file, problems))
    demo_reader = _Reader(file, "demo", _table(document, "demo", file, problems))
    tradestation = _read_tradestation(ts_reader)
    server = _read_server(server_reader)
    demo = _read_demo(demo_reader)
    problems += ts_reader.problems + server_reader.problems + demo_reader.problems
    return Config(tradestation, server, demo, file, tuple(problems))


def with_client_id(config: Config, client_id: str) -> Config:
    """Returns ``config`` with another API key (used by the first-run dialog)."""
    return replace(
        config, tradestation=replace(config.tradestation, client_id=client_id)
    )
