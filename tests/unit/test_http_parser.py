"""The strict HTTP/1.1 request-head parser of the local token service."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tstray.server.http import HttpError, parse_head


def head(*lines: str) -> bytes:
    return "\r\n".join(lines).encode("latin-1")


def test_parses_a_plain_get() -> None:
    request = parse_head(
        head(
            "GET /v1/token?min_ttl=60 HTTP/1.1",
            "Host: 127.0.0.1:31023",
            "Authorization:  Bearer abc \t",
            "Accept: */*",
        )
    )

    assert request.method == "GET"
    assert request.path == "/v1/token"
    assert request.query == "min_ttl=60"
    assert request.headers == {
        "host": "127.0.0.1:31023",
        "authorization": "Bearer abc",
        "accept": "*/*",
    }
    assert not request.http_10
    assert request.keep_alive


def test_field_names_are_case_insensitive() -> None:
    request = parse_head(head("GET / HTTP/1.1", "HOST: a", "X-Thing: b"))

    assert request.headers == {"host": "a", "x-thing": "b"}


def test_repeated_ordinary_fields_are_joined() -> None:
    request = parse_head(head("GET / HTTP/1.1", "Host: a", "Accept: x", "Accept: y"))

    assert request.headers["accept"] == "x, y"


@pytest.mark.parametrize(
    "name", ["Host", "Content-Length", "Transfer-Encoding", "Authorization", "Origin"]
)
def test_repeated_single_fields_are_refused(name: str) -> None:
    with pytest.raises(HttpError) as raised:
        parse_head(head("GET / HTTP/1.1", "Host: a", f"{name}: 0", f"{name}: 0"))

    assert raised.value.status in (400, 501)


def test_empty_value_is_allowed() -> None:
    request = parse_head(head("GET / HTTP/1.1", "Host: a", "X-Empty:"))

    assert request.headers["x-empty"] == ""


@pytest.mark.parametrize(
    ("version", "connection", "keep_alive"),
    [
        ("HTTP/1.1", None, True),
        ("HTTP/1.1", "close", False),
        ("HTTP/1.1", "Keep-Alive, Close", False),
        ("HTTP/1.0", None, False),
        ("HTTP/1.0", "keep-alive", True),
        ("HTTP/1.0", "Keep-Alive", True),
    ],
)
def test_keep_alive_follows_version_and_connection(
    version: str, connection: str | None, keep_alive: bool
) -> None:
    lines = [f"GET / {version}", "Host: a"]
    if connection is not None:
        lines.append(f"Connection: {connection}")

    request = parse_head(head(*lines))

    assert request.keep_alive is keep_alive
    assert request.http_10 is (version == "HTTP/1.0")


def test_http_10_may_leave_host_out() -> None:
    assert parse_head(head("GET / HTTP/1.0")).headers == {}


def test_http_11_needs_host() -> None:
    with pytest.raises(HttpError) as raised:
        parse_head(head("GET / HTTP/1.1", "Accept: */*"))

    assert (raised.value.status, raised.value.code) == (400, "missing_host")


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        (["Content-Length: 0"], None),
        (["Content-Length: 1"], 413),
        (["Content-Length: 99999999999999999999"], 413),
        (["Content-Length: -1"], 400),
        (["Content-Length: 1e3"], 400),
        (["Content-Length: \u0661"], 400),  # an Arabic-Indic one: a digit, not ASCII
        (["Transfer-Encoding: chunked"], 501),
        (["Transfer-Encoding: chunked", "Content-Length: 0"], 501),
    ],
)
def test_bodies_are_refused(fields: list[str], status: int | None) -> None:
    raw = "\r\n".join(["GET / HTTP/1.1", "Host: a", *fields]).encode("utf-8")
    if status is None:
        parse_head(raw)
        return

    with pytest.raises(HttpError) as raised:
        parse_head(raw)

    assert raised.value.status == status


@pytest.mark.parametrize(
    "request_line",
    [
        "GET /",
        "GET / HTTP/1.1 extra",
        "GET  / HTTP/1.1",
        "get / HTTP/1.1",
        "GET http://evil.example/ HTTP/1.1",
        "CONNECT evil.example:443 HTTP/1.1",
        "OPTIONS * HTTP/1.1",
        "GET /a b HTTP/1.1",
        "GET /\x7f HTTP/1.1",
        "GET /\xe9 HTTP/1.1",
        "GET / http/1.1",
        "",
    ],
)
def test_malformed_request_lines_are_400(request_line: str) -> None:
    with pytest.raises(HttpError) as raised:
        parse_head(head(request_line, "Host: a"))

    assert raised.value.status == 400


@pytest.mark.parametrize("version", ["HTTP/2.0", "HTTP/0.9", "HTTP/3", "HTTP/1.2"])
def test_other_versions_are_505(version: str) -> None:
    with pytest.raises(HttpError) as raised:
        parse_head(head(f"GET / {version}", "Host: a"))

    assert raised.value.status == 505


@pytest.mark.parametrize(
    "field",
    [
        "Host : a",  # space before the colon (RFC 9112 section 5.1)
        " folded",  # obsolete line folding
        "\tfolded",
        "No-Colon",
        ": no name",
        "Bad Name: a",
        "X-Nul: a\x00b",
        "X-Cr: a\rb",
        "X-Lf: a\nb",
        "X-Del: a\x7fb",
        "Na\xefme: a",
    ],
)
def test_malformed_fields_are_400(field: str) -> None:
    with pytest.raises(HttpError) as raised:
        parse_head(head("GET / HTTP/1.1", "Host: a", field))

    assert raised.value.status == 400


def test_obs_text_and_tabs_in_values_are_kept() -> None:
    request = parse_head(head("GET / HTTP/1.1", "Host: a", "X-Text: caf\xe9\tau lait"))

    assert request.headers["x-text"] == "caf\xe9\tau lait"


def test_too_many_fields_are_431() -> None:
    fields = [f"X-{number}: a" for number in range(101)]

    with pytest.raises(HttpError) as raised:
        parse_head(head("GET / HTTP/1.1", "Host: a", *fields))

    assert raised.value.status == 431


@given(st.binary(max_size=512))
def test_any_bytes_give_a_request_or_an_http_error(raw: bytes) -> None:
    try:
        request = parse_head(raw)
    except HttpError as error:
        assert error.status in (400, 413, 431, 501, 505)
        return
    assert request.method.isupper()
    assert request.path.startswith("/")
