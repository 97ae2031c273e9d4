"""Reads ``config.toml`` into typed settings, with a TradeStation default for
every key.

A broken file never stops the app: each wrong value is reported as a
``ConfigProblem`` naming the file, the key and what was expected, and the
default is used in its place. The client secret is never read from this file;
it lives in the keyring (or ``TSTRAY_CLIENT_SECRET`` for automation).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# The loopback callback URLs TradeStation configures on a new API key.
TRADESTATION_CALLBACK_URLS = (
    "http://localhost",
    "http://localhost:80",
    "http://localhost:3000",
    "http://localhost:3001",
    "http://localhost:8080",
    "http://localhost:31022",
)

DEFAULT_SCOPES = (
    "openid",
    "profile",
    "offline_access",
    "MarketData",
    "ReadAccount",
    "Trade",
)

ENVIRONMENTS = ("live", "sim")


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
    # "live" or "sim": which API the user trades on. The sign-in is the same
    # for both; this picks the pass-through's default and the status label.
    environment: str = "live"


@dataclass(frozen=True)
class ServerSettings:
    """The local token service.

    Attributes:
        port: the loopback port it listens on.
        allowed_origins: web origins (``http://localhost:3000``) whose pages
            may call it, with CORS for them alone; any other ``Origin`` is
            refused.
    """

    port: int = 31023
    allowed_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiSettings:
    """Where the local service's pass-through (``/v1/api/live|sim/...``) sends
    requests, with the access token added."""

    live_url: str = "https://api.tradestation.com/v3"
    sim_url: str = "https://sim-api.tradestation.com/v3"


@dataclass(frozen=True)
class DemoSettings:
    """The built-in demo sign-in service (``tstray --demo``)."""

    access_lifetime_s: int = 120
    rotating: bool = False


@dataclass(frozen=True)
class NotificationSettings:
    """When tstray speaks up (``[notifications]``).

    Attributes:
        enabled: False keeps every notice in the log only.
        quiet_hours: local ``(start, end)`` as ``"HH:MM"`` during which only
            "sign-in needed" is shown; None for no quiet hours.
        sign_in_warning_s: how long before a rotating key's 24-hour limit to
            warn; 0 for never.
        market_open: local ``"HH:MM"`` to be signed in by on weekdays, or "".
        reminder_ahead_s: how long before ``market_open`` to remind.
    """

    enabled: bool = True
    quiet_hours: tuple[str, str] | None = None
    sign_in_warning_s: int = 3600
    market_open: str = ""
    reminder_ahead_s: int = 900


@dataclass(frozen=True)
class UiSettings:
    """The user interface (``[ui]``): ``language`` is "system", "en" or "ro"."""

    language: str = "system"


LANGUAGES = ("system", "en", "ro")


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
    api: ApiSettings = field(default_factory=ApiSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    ui: UiSettings = field(default_factory=UiSettings)

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
        self.asked: set[str] = set()

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
        self.asked.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        if not check(value):
            self._problem(key, expected, value)
            return default
        return value


def _unknown_names(
    file: Path, document: Mapping[str, Any], readers: Sequence[_Reader]
) -> list[ConfigProblem]:
    """A misspelt key would otherwise be ignored without a word."""
    known = {reader.section: reader for reader in readers}
    problems = []
    for section, table in document.items():
        reader = known.get(section)
        if reader is None:
            problems.append(
                ConfigProblem(file, section, "a known table", "an unknown one")
            )
            continue
        for key in sorted(set(table) - reader.asked):
            problems.append(
                ConfigProblem(file, f"{section}.{key}", "a known key", "an unknown one")
            )
    return problems


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_service_url(value: object) -> bool:
    # Tokens and codes travel to these URLs: TLS is required, except on this
    # machine (the demo service and tests run on loopback).
    return _is_http_url(value) and (
        str(value).startswith("https://") or _is_loopback_http_url(value)
    )


def _is_loopback_http_url(value: object) -> bool:
    # RFC 8252: a redirect to a loopback address never leaves the machine.
    return _is_http_url(value) and urlsplit(str(value)).hostname in (
        "localhost",
        "127.0.0.1",
        "::1",
    )


def _is_api_url(value: object) -> bool:
    # The access token rides on every request sent there, so it must be
    # encrypted unless it never leaves the machine.
    if not _is_http_url(value):
        return False
    parts = urlsplit(str(value))
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    no_extras = not (parts.query or parts.fragment or parts.username)
    return (parts.scheme == "https" or loopback) and no_extras


def _is_origin(value: object) -> bool:
    """``scheme://host[:port]`` exactly as a browser sends it in ``Origin``."""
    if not isinstance(value, str) or not _is_http_url(value):
        return False
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018  # raises ValueError on a bad port
    except ValueError:
        return False
    return (
        value == value.strip()
        and value == f"{parts.scheme}://{parts.netloc}"
        and value.lower() == value
        and not parts.username
        and not parts.password
    )


def _is_origin_list(value: object) -> bool:
    return isinstance(value, list) and all(_is_origin(item) for item in value)


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
    url = "an https URL (plain http only on localhost)"

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
        authorize_url=reader.get(
            "authorize_url", d.authorize_url, url, _is_service_url
        ),
        token_url=reader.get("token_url", d.token_url, url, _is_service_url),
        revoke_url=reader.get("revoke_url", d.revoke_url, url, _is_service_url),
        refresh_margin_s=reader.get(
            "refresh_margin_s",
            d.refresh_margin_s,
            "a whole number of seconds from 0 to 3600",
            _is_margin,
        ),
        pkce=reader.get("pkce", d.pkce, "true or false", lambda v: isinstance(v, bool)),
        environment=reader.get(
            "environment",
            d.environment,
            '"live" or "sim"',
            lambda v: v in ENVIRONMENTS,
        ),
    )


def _read_server(reader: _Reader) -> ServerSettings:
    d = ServerSettings()
    origins = reader.get(
        "allowed_origins",
        list(d.allowed_origins),
        'a list of origins such as ["http://localhost:3000"] (lower case, no path)',
        _is_origin_list,
    )
    return ServerSettings(
        port=reader.get("port", d.port, "a port number from 1 to 65535", _is_port),
        allowed_origins=tuple(dict.fromkeys(origins)),
    )


def _read_api(reader: _Reader) -> ApiSettings:
    d = ApiSettings()
    url = "an https URL (http only on loopback) without a query or user"
    return ApiSettings(
        live_url=reader.get("live_url", d.live_url, url, _is_api_url).rstrip("/"),
        sim_url=reader.get("sim_url", d.sim_url, url, _is_api_url).rstrip("/"),
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


def _is_clock_time(value: object) -> bool:
    """``"HH:MM"``, 24-hour."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return False
    hours, minutes = value[:2], value[3:]
    return (
        hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60
    )


def _is_seconds(low: int, high: int) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and low <= value <= high
        )

    return check


def _read_notifications(reader: _Reader) -> NotificationSettings:
    d = NotificationSettings()

    def is_span(value: object) -> bool:
        if value == "":
            return True
        if not isinstance(value, str):
            return False
        start, _, end = value.partition("-")
        return _is_clock_time(start) and _is_clock_time(end) and start != end

    span = reader.get("quiet_hours", "", 'a span such as "22:00-07:00", or ""', is_span)
    market_open = reader.get(
        "market_open",
        d.market_open,
        'a time such as "09:30", or ""',
        lambda v: v == "" or _is_clock_time(v),
    )
    return NotificationSettings(
        enabled=reader.get(
            "enabled", d.enabled, "true or false", lambda v: isinstance(v, bool)
        ),
        quiet_hours=tuple(span.split("-")) if span else None,
        sign_in_warning_s=reader.get(
            "sign_in_warning_s",
            d.sign_in_warning_s,
            "a whole number of seconds from 0 to 43200",
            _is_seconds(0, 43200),
        ),
        market_open=market_open,
        reminder_ahead_s=reader.get(
            "reminder_ahead_s",
            d.reminder_ahead_s,
            "a whole number of seconds from 60 to 14400",
            _is_seconds(60, 14400),
        ),
    )


def _read_ui(reader: _Reader) -> UiSettings:
    language = reader.get(
        "language",
        UiSettings.language,
        '"system", "en" or "ro"',
        lambda v: v in LANGUAGES,
    )
    return UiSettings(language=language)


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
    except UnicodeDecodeError as exc:
        problem = ConfigProblem(
            file, "(file)", "text in UTF-8", f"a byte it cannot read at {exc.start}"
        )
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
    api_reader = _Reader(file, "api", _table(document, "api", file, problems))
    tradestation = _read_tradestation(ts_reader)
    server = _read_server(server_reader)
    demo = _read_demo(demo_reader)
    api = _read_api(api_reader)
    problems += ts_reader.problems + server_reader.problems + demo_reader.problems
    problems += api_reader.problems
    notices_reader = _Reader(
        file, "notifications", _table(document, "notifications", file, problems)
    )
    ui_reader = _Reader(file, "ui", _table(document, "ui", file, problems))
    notifications = _read_notifications(notices_reader)
    ui = _read_ui(ui_reader)
    problems += notices_reader.problems + ui_reader.problems
    readers = (
        ts_reader,
        server_reader,
        demo_reader,
        api_reader,
        notices_reader,
        ui_reader,
    )
    problems += _unknown_names(file, document, readers)
    return Config(
        tradestation, server, demo, file, tuple(problems), api, notifications, ui
    )


def with_client_id(config: Config, client_id: str) -> Config:
    """Returns ``config`` with another API key (used by the first-run dialog)."""
    return replace(
        config, tradestation=replace(config.tradestation, client_id=client_id)
    )
