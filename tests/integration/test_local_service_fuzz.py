"""Fuzzing the running local token service with hostile HTTP on real loopback
sockets: hypothesis-generated request lines, header names and values (control
characters, unicode, huge, repeated), bodies and raw bytes, sent whole, in
slow pieces, half-closed, dropped or reset, alone, pipelined behind a good
request, or many at once.

After every example a well-formed request on a new connection must get the
token, no answer may carry a token unless the API key was sent, nothing the
service logs may hold the key or a token, and the service may log nothing but
its rate-limited "refused a request" warnings: no error, no traceback.

``TSTRAY_FUZZ_EXAMPLES=5000`` runs a longer fuzz (default 200 per test).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tstray.server.service as service_module
from tests.helpers.ports import free_port
from tests.integration.local_service_support import (
    API_KEY,
    SECRETS,
    TOKEN,
    Clock,
    LoopThread,
    Session,
    get,
    request_bytes,
    running_service,
    snapshot,
)
from tstray.server import LocalTokenService
from tstray.server.api import BadKeyThrottle

FUZZ_EXAMPLES = int(os.environ.get("TSTRAY_FUZZ_EXAMPLES", "200"))
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    # The only function-scoped fixture (clean_log) runs once per test on
    # purpose; every example checks the log itself.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
PORT_MARK = "{port}"
READ_TIMEOUT_S = 10.0
_STATUS_LINE = re.compile(rb"HTTP/1\.1 [1-5][0-9][0-9] [^\r\n]*\r\n")


# -- the running service and what it logs


class Records(logging.Handler):
    """Keeps every record the service logs, at every level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def check_and_clear(self) -> None:
        """Fails on a secret in a message, an error, a traceback, or a warning
        other than a refused request."""
        records, self.records = self.records, []
        for record in records:
            text = record.getMessage()
            assert not any(secret in text for secret in SECRETS), text
            assert record.exc_info is None, f"traceback logged: {text}"
            assert record.levelno < logging.ERROR, f"error logged: {text}"
            if record.levelno >= logging.WARNING:
                assert text.startswith("refused "), f"unexpected warning: {text}"


@dataclass
class Fuzzed:
    service: LocalTokenService
    records: Records

    @property
    def port(self) -> int:
        return self.service.port

    def check(self) -> None:
        """The service still serves a good request, and logged nothing bad."""
        answer = get(self.port)
        assert answer.status == 200
        assert answer.json()["access_token"] == TOKEN
        self.records.check_and_clear()


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[Fuzzed]:
    # Every unkeyed /v1 request counts as a wrong key; the real throttle would
    # slow the fuzz to one example a second once ten have been sent. The
    # throttle itself is attacked in test_local_service_attacks.py.
    generous = functools.partial(BadKeyThrottle, limit=10**9)
    records = Records()
    logger = logging.getLogger("tstray.server")
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(records)
    gui_loop = LoopThread()
    nowhere = f"http://127.0.0.1:{free_port()}/v3"
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(service_module, "BadKeyThrottle", generous)
            with running_service(
                Session(current=snapshot()),
                gui_loop.loop,
                Clock(),
                head_timeout_s=2.0,
                idle_timeout_s=5.0,
                # Never TradeStation: a loopback port nothing listens on.
                upstreams={"live": nowhere, "sim": nowhere},
            ) as service:
                yield Fuzzed(service, records)
    finally:
        gui_loop.close()
        logger.removeHandler(records)
        logger.setLevel(old_level)
    records.check_and_clear()


@pytest.fixture(autouse=True)
def clean_log(fuzzed: Fuzzed) -> Iterator[None]:
    # Leftovers of another test module must not be blamed on this one.
    fuzzed.records.records.clear()
    yield
    fuzzed.records.check_and_clear()


# -- strategies


def _huge(character: str) -> st.SearchStrategy[str]:
    return st.integers(4_000, 40_000).map(lambda n: character * n)


# Unicode beyond Latin-1, control characters, NUL, DEL, lone CR/LF: all of it.
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=60)
METHODS = (
    st.sampled_from(
        [
            *("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE"),
            *("PRI", "get", "G ET", "GET\x00", "\x16\x03\x01", "GET" * 7),
        ]
    )
    | ANY_TEXT
)
TARGETS = (
    st.sampled_from(
        [
            "/v1/token",
            "/v1/status",
            "/healthz",
            "/",
            "*",
            "/v1/token?min_ttl=30",
            "/v1/token?min_ttl=9999",
            "/v1/token?min_ttl=-1",
            "/v1/token?min_ttl=1&min_ttl=2",
            "/v1/token?min_ttl=1e3",
            f"/v1/token?api_key={API_KEY}",
            f"/v1/token?x={API_KEY}",
            "http://127.0.0.1/v1/token",
            "/v1/token#fragment",
            "/v1/%74oken",
            "/v1/token/../token",
            "//v1/token",
            "/v1/token\x00",
            "/v1/\u00e9\u4e2d",
        ]
    )
    | ANY_TEXT.map(lambda text: "/" + text)
    | _huge("/")
).filter(
    # Streams and the pass-through stay open or go upstream by design; their
    # own tests cover them.
    lambda target: not target.startswith(("/v1/events", "/v1/api/"))
)
VERSIONS = st.sampled_from(
    [
        *("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "http/1.1"),
        *("HTTP/1.1 ", "HTTP/1.10", "HTTP/11", ""),
    ]
) | st.text(st.characters(codec="utf-8"), max_size=12)
HEADER_NAMES = st.sampled_from(
    [
        *("Host", "host", "HOST", "Authorization", "Content-Length", "Connection"),
        *("Transfer-Encoding", "Origin", "X-Forwarded-For", "Forwarded", "Via"),
        *("Sec-Fetch-Site", "Expect", "Upgrade", "Cookie", " Host", "Host ", "X-\x7f"),
    ]
) | st.text(st.characters(codec="utf-8"), max_size=30)
HEADER_VALUES = (
    st.sampled_from(
        [
            f"127.0.0.1:{PORT_MARK}",
            f"localhost:{PORT_MARK}",
            f"[::1]:{PORT_MARK}",
            "127.0.0.1",
            f"evil.example:{PORT_MARK}",
            f"Bearer {API_KEY}",
            f"bearer  {API_KEY} ",
            f"Bearer {API_KEY}\x00",
            "Bearer wrong-key",
            "Basic dXNlcjpwYXNz",
            "0",
            "5",
            "-1",
            "1, 1",
            "99999999999999999999999",
            "chunked",
            "gzip, chunked",
            "close",
            "keep-alive",
            "Upgrade",
            "100-continue",
            "null",
            "same-origin",
        ]
    )
    | ANY_TEXT
    | _huge("a")
    | _huge("\t")
)
HEADERS = st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=12)
LINE_ENDS = st.sampled_from(["\r\n"] * 6 + ["\n", "\r", "\r\r\n", "\n\r"])
SEPARATORS = st.sampled_from([": ", ":", " : ", ":\t", "", "::", ": \r\n "])


# Header names the parser accepts, so that the values behind them get tested.
FIELD_NAMES = HEADER_NAMES.filter(bool) | st.text(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    min_size=1,
    max_size=30,
)
VISIBLE_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=80
)


@st.composite
def near_requests(draw: st.DrawFn) -> str:
    """A well-formed request with odd parts: the parser passes most of them,
    so the gate, the routes and the connection's state machine are reached."""
    method = draw(st.sampled_from(["GET", "GET", "HEAD", "POST", "OPTIONS"]))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0"]))
    fields: list[tuple[str, str]] = []
    if draw(st.integers(0, 4)):
        fields.append(("Host", draw(HEADER_VALUES.filter(lambda v: "\n" not in v))))
        if draw(st.integers(0, 2)):
            fields[-1] = ("Host", f"127.0.0.1:{PORT_MARK}")
    if draw(st.booleans()):
        fields.append(("Authorization", f"Bearer {API_KEY}"))
    values = VISIBLE_TEXT | HEADER_VALUES
    fields += draw(st.lists(st.tuples(FIELD_NAMES, values), max_size=6))
    fields = draw(st.permutations(fields))
    lines = [f"{method} {draw(TARGETS)} {version}"]
    lines += [f"{name}: {value}" for name, value in fields]
    return "\r\n".join(lines) + "\r\n\r\n"


@st.composite
def wild_requests(draw: st.DrawFn) -> str:
    """Anything from nearly right to plainly wrong, part by part."""
    end = draw(LINE_ENDS)
    lines = [f"{draw(METHODS)} {draw(TARGETS)} {draw(VERSIONS)}"]
    for name, value in draw(HEADERS):
        lines.append(f"{name}{draw(SEPARATORS)}{value}")
    if draw(st.booleans()):
        # Repeat a header, the way smuggling and Host confusion begin.
        name = draw(st.sampled_from(["Host", "Authorization", "Content-Length"]))
        lines += [f"{name}: {draw(HEADER_VALUES)}" for _ in range(2)]
    return end.join(lines) + draw(st.sampled_from(["\r\n\r\n", end * 2, "", "\r\n"]))


@st.composite
def hostile_requests(draw: st.DrawFn) -> bytes:
    """Raw bytes, a wild request or a nearly right one, maybe with a body."""
    kind = draw(st.sampled_from(["binary", "wild", "near", "near"]))
    if kind == "binary":
        return draw(st.binary(max_size=3000))
    head = draw(near_requests() if kind == "near" else wild_requests())
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "latin-1", "utf-16"]))
    raw = head.encode(encoding, errors="replace")
    return raw + draw(st.binary(max_size=2000) | st.just(b""))


def with_port(raw: bytes, port: int) -> bytes:
    return raw.replace(PORT_MARK.encode(), str(port).encode())


# -- sending and reading


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def send_quietly(sock: socket.socket, data: bytes) -> None:
    # The service may answer and close before a hostile request is all sent.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def read_to_end(sock: socket.socket) -> bytes:
    """Everything the service sends until it closes; a reset ends it too."""
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def reset(sock: socket.socket) -> None:
    """Closes with a TCP reset instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def assert_answers_well_formed(sent: bytes, received: bytes) -> None:
    if received:
        assert _STATUS_LINE.match(received), received[:200]
    # A token leaves only for a request that carried the key.
    if b"access_token" in received:
        assert API_KEY.encode() in sent


# -- the fuzz


@FUZZ_SETTINGS
@given(
    raw=hostile_requests(),
    how=st.sampled_from(["half_close", "slow", "close", "reset", "keep_open"]),
    cuts=st.lists(st.integers(1, 4000), max_size=6),
    pauses_ms=st.lists(st.integers(0, 3), min_size=6, max_size=6),
)
def test_hostile_requests_leave_the_service_serving(
    fuzzed: Fuzzed, raw: bytes, how: str, cuts: list[int], pauses_ms: list[int]
) -> None:
    sent = with_port(raw, fuzzed.port)
    sock = connect(fuzzed.port)
    try:
        if how == "slow":
            # A slow sender: pieces with short pauses, then a half-close.
            start = 0
            for cut, pause_ms in zip(sorted(cuts), pauses_ms, strict=False):
                send_quietly(sock, sent[start:cut])
                start = max(start, cut)
                time.sleep(pause_ms / 1000)
            send_quietly(sock, sent[start:])
        else:
            send_quietly(sock, sent)

        if how in ("half_close", "slow"):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
            assert_answers_well_formed(sent, read_to_end(sock))
        elif how == "reset":
            reset(sock)
        elif how == "keep_open":
            # The service serves others while this connection sits there.
            fuzzed.check()
    finally:
        sock.close()
    fuzzed.check()


@FUZZ_SETTINGS
@given(raw=hostile_requests())
def test_a_good_request_ahead_of_garbage_is_answered_first(
    fuzzed: Fuzzed, raw: bytes
) -> None:
    good = request_bytes(fuzzed.port)
    sent = good + with_port(raw, fuzzed.port)
    with connect(fuzzed.port) as sock:
        send_quietly(sock, sent)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        received = read_to_end(sock)

    assert received.startswith(b"HTTP/1.1 200 OK\r\n"), received[:200]
    assert TOKEN.encode() in received.split(b"\r\n\r\n", 2)[1][:2000]
    assert_answers_well_formed(sent, received)
    fuzzed.check()


@FUZZ_SETTINGS
@given(
    raws=st.lists(hostile_requests(), min_size=2, max_size=12),
    fractions=st.lists(st.floats(0, 1), min_size=12, max_size=12),
    endings=st.lists(st.sampled_from(["close", "reset", "half_close"]), min_size=12),
)
def test_many_hostile_connections_at_once_leave_the_service_serving(
    fuzzed: Fuzzed, raws: list[bytes], fractions: list[float], endings: list[str]
) -> None:
    socks = [connect(fuzzed.port) for _ in raws]
    try:
        # Each sends part of its request, all at once; then a good client.
        for sock, raw, fraction in zip(socks, raws, fractions, strict=False):
            sent = with_port(raw, fuzzed.port)
            send_quietly(sock, sent[: int(len(sent) * fraction)])
        fuzzed.check()

        for sock, ending in zip(socks, endings, strict=False):
            if ending == "reset":
                reset(sock)
            elif ending == "half_close":
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_WR)
    finally:
        for sock in socks:
            sock.close()
    fuzzed.check()
