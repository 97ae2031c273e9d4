"""Log handlers for the app: a rotating file in the platform's log folder plus
stderr, both behind a redacting formatter.

Modules log through ``logging.getLogger(__name__)`` and never configure
handlers; only ``setup_logging`` (called by ``app``/``cli``) does. The
redactor is the last line of defence: modules already avoid logging secrets,
and this makes sure that a token, code, secret or API key that slips into a
message, an exception or a Qt warning is replaced by ``[redacted]`` before it
reaches any handler.
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import re
import sys
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

REDACTED = "[redacted]"

_PATTERNS = (
    # JWTs (access and id tokens): three base64url parts, the first "eyJ".
    re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    # Secrets in query strings or form bodies.
    re.compile(
        r"(?i)(?<![A-Za-z_])((?:access_|refresh_|id_)?token|code|code_verifier|state"
        r"|client_secret|api_key|key|password)=[^&\s\"']+"
    ),
    # Secrets in JSON.
    re.compile(
        r"(?i)\"((?:access_|refresh_|id_)?token|code|code_verifier|client_secret"
        r"|api_key|password)\"\s*:\s*\"[^\"]*\""
    ),
    # Authorization headers.
    re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+"),
)


def _mask(match: re.Match[str]) -> str:
    if match.lastindex:
        name = match.group(1)
        text = match.group(0)
        if text.startswith('"'):
            return f'"{name}": "{REDACTED}"'
        if "=" in text:
            return f"{name}={REDACTED}"
        return f"{name} {REDACTED}"
    return REDACTED


class Redactor:
    """Replaces secrets in text: known secret values registered at run time
    (the API key, the client secret, the current tokens) and anything shaped
    like a token, code or credential."""

    def __init__(self, max_known: int = 32) -> None:
        self._known: deque[str] = deque(maxlen=max_known)
        self._lock = threading.Lock()

    def add_secret(self, value: str | None) -> None:
        # Very short values would redact ordinary words; real secrets are long.
        if value and len(value) >= 8:
            with self._lock:
                if value not in self._known:
                    self._known.append(value)

    def add_secrets(self, values: Iterable[str | None]) -> None:
        for value in values:
            self.add_secret(value)

    def redact(self, text: str) -> str:
        with self._lock:
            known = list(self._known)
        for value in known:
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(_mask, text)
        return text


redactor = Redactor()


class RedactingFormatter(logging.Formatter):
    """Formats a record (message, exception and stack included), then redacts
    the whole text."""

    def format(self, record: logging.LogRecord) -> str:
        return redactor.redact(super().format(record))


LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(log_file: Path | None, level: int = logging.INFO) -> None:
    """Installs the app's handlers on the root logger (once per process)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_tstray", False):
            root.removeHandler(handler)
            handler.close()

    formatter = RedactingFormatter(LOG_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        # Logs hold no secrets, but they do name the account: user-only.
        log_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        log_file.parent.chmod(0o700)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._tstray = True  # type: ignore[attr-defined]  # marks our own handlers
        root.addHandler(handler)
    root.setLevel(level)

    # httpx logs every request URL at INFO; our own modules say what matters.
    for noisy in ("httpx", "httpcore", "asyncio", "qasync"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _log_uncaught(
    exc_type: type[BaseException],
    exc: BaseException,
    traceback: TracebackType | None,
) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, traceback)
        return
    logging.getLogger("tstray").critical(
        "uncaught exception", exc_info=(exc_type, exc, traceback)
    )


def _log_asyncio_error(
    loop: asyncio.AbstractEventLoop, context: dict[str, Any]
) -> None:
    exc = context.get("exception")
    logging.getLogger("tstray").error(
        "unhandled error in the event loop: %s",
        context.get("message", "no message"),
        exc_info=exc if isinstance(exc, BaseException) else None,
    )


def install_exception_hooks(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Routes uncaught exceptions (thread, main, event loop) into the log,
    where they are redacted like everything else."""
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(
        args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback
    )
    if loop is not None:
        loop.set_exception_handler(_log_asyncio_error)
