"""The redactor: secrets never reach a log handler."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tstray.logs import REDACTED, Redactor, redactor, setup_logging

QUIETENED_LOGGERS = ("httpx", "httpcore", "asyncio", "qasync")
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIiwiZXhwIjoxfQ.c2lnbmF0dXJlLXZhbHVl"


def test_shapes_of_secrets_are_masked() -> None:
    r = Redactor()
    cases = {
        f"token {JWT} here": "token [redacted] here",
        "GET /cb?code=AbC-123&state=xyz": "GET /cb?code=[redacted]&state=[redacted]",
        "refresh_token=opaque-value&client_id=abc": "refresh_token=[redacted]&client_id=abc",
        '{"access_token": "x", "expires_in": 1200}': '{"access_token": "[redacted]", "expires_in": 1200}',
        '{"client_secret":"s3cret"}': '{"client_secret": "[redacted]"}',
        "Authorization: Bearer k3y-Value": "Authorization: Bearer [redacted]",
    }
    for text, expected in cases.items():
        assert r.redact(text) == expected


def test_known_secrets_are_masked_wherever_they_appear() -> None:
    r = Redactor()
    r.add_secret("opaque-refresh-token-123")
    assert (
        r.redact("failed with opaque-refresh-token-123!") == f"failed with {REDACTED}!"
    )
    # Short strings are not treated as secrets: they would mask ordinary words.
    r.add_secret("abc")
    assert r.redact("abc") == "abc"


def test_ordinary_lines_pass_unchanged() -> None:
    line = "token refreshed in 212 ms; expires in 1199 s; state valid -> refreshing"
    assert Redactor().redact(line) == line


@pytest.fixture
def app_logging(tmp_path: Path) -> Iterator[Path]:
    log_file = tmp_path / "logs" / "tstray.log"
    root = logging.getLogger()
    level = root.level
    # setup_logging quietens these; later tests (in the same process) read
    # httpcore's debug lines to check them for secrets.
    quietened = {name: logging.getLogger(name).level for name in QUIETENED_LOGGERS}
    setup_logging(log_file)
    yield log_file
    for handler in [h for h in root.handlers if getattr(h, "_tstray", False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    for name, old_level in quietened.items():
        logging.getLogger(name).setLevel(old_level)


def test_handlers_write_redacted_lines_and_tracebacks(app_logging: Path) -> None:
    log_file = app_logging
    redactor.add_secret("the-local-api-key-value")
    logger = logging.getLogger("tstray.test")
    try:
        raise ValueError(f"bad answer with {JWT}")
    except ValueError:
        logger.exception("refresh failed for key the-local-api-key-value")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text(encoding="utf-8")
    assert "refresh failed" in text and "ValueError" in text
    assert JWT not in text and "the-local-api-key-value" not in text
    assert logging.getLogger("httpx").level == logging.WARNING
