"""The keyring helper's side of its protocol: which requests it takes, and
the one answer line it gives to one it cannot take."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tstray.oauth.tokens import TokenSet
from tstray.storage.codec import encode_tokens
from tstray.storage.helper import (
    MAX_REQUEST_BYTES,
    BadRequestError,
    read_request,
)

REPO = Path(__file__).resolve().parents[2]
TOKENS = encode_tokens(
    TokenSet(
        "access-token-request-Ke4Pn7Vs1Qx8Ld2M",
        "refresh-token-request-Tb9Hw3Jc6Zr0Fy5A",
        datetime(2030, 1, 1, tzinfo=UTC),
    )
)


def raw(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_a_whole_request_is_taken_with_its_time_limit() -> None:
    request = read_request(
        raw(service="tstray", op="save_tokens", tokens=TOKENS, timeout_s=3)
    )
    assert request["timeout_s"] == 3.0

    request = read_request(raw(service="tstray", op="load_tokens"))
    assert request["timeout_s"] == 10.0


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"not json", "not JSON"),
        (b"[1]", "not a JSON object"),
        (raw(service="tstray", op="drop_everything"), "unknown op"),
        (raw(service="tstray", op=["load_tokens"]), "unknown op"),
        (raw(service="tstray", op={"load_tokens": 1}), "unknown op"),
        (raw(service="tst\x00ray", op="load_tokens"), "NUL"),
        (raw(service="tstray", op="load_client_secret", client_id="k\ud800"), "lone"),
        (raw(op="load_tokens"), "service"),
        (raw(service="", op="load_tokens"), "service"),
        (raw(service="tstray", op="save_tokens"), "tokens"),
        (raw(service="tstray", op="save_tokens", tokens="{}"), "stored format"),
        (raw(service="tstray", op="load_client_secret"), "client_id"),
        (raw(service="tstray", op="save_client_secret", client_id="k"), "secret"),
        (raw(service="tstray", op="load_tokens", timeout_s="10"), "not a number"),
        (raw(service="tstray", op="load_tokens", timeout_s=True), "not a number"),
        (raw(service="tstray", op="load_tokens", timeout_s=0), "out of range"),
        (raw(service="tstray", op="load_tokens", timeout_s=601), "out of range"),
        (b"[" * (MAX_REQUEST_BYTES + 1), "too large"),
        (b"[" * 100_000, "not JSON"),
    ],
)
def test_requests_it_cannot_take(data: bytes, words: str) -> None:
    with pytest.raises(BadRequestError, match=words):
        read_request(data)


def test_a_bad_request_gets_one_answer_line_and_exit_2() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "tstray.storage.helper"],
        input=b'{"op": "load_tokens"}',
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 2
    lines = finished.stdout.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {
        "ok": False,
        "error": "bad_request",
        "reason": "service is missing or not text",
    }
