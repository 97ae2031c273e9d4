"""The sign-in window's own process: one window, one answer on stdout.

Run as ``python -m tstray.signin.window_process`` (or ``tstray
--sign-in-window`` when frozen) by ``tstray.signin.launcher``. It reads one
JSON request from stdin (not the command line, which anyone can read with
``ps``), shows the window and writes exactly one JSON line to stdout::

    {"result": "redirect", "url": "..."}     exit 0: the sign-in reached the redirect
    {"result": "cancelled"}                  exit 0: the user closed the window
    {"result": "error", "message": "..."}    exit 2: bad request; 1: the window failed

Stdout carries the authorization code, so it holds that line and nothing
else: everything Qt, Chromium and its helper processes print goes to stderr.
This process never logs the redirect URL.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSocketNotifier
from PySide6.QtWidgets import QApplication

from tstray.i18n import install_translation
from tstray.signin.window import SignInWindow

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_WINDOW_FAILED = 1
EXIT_BAD_REQUEST = 2

# The request is five short strings; anything larger is not one.
_MAX_REQUEST_BYTES = 64 * 1024

_STDIN_FD, _STDOUT_FD, _STDERR_FD = 0, 1, 2

_REQUIRED_FIELDS = ("sign_in_url", "redirect_uri", "profile_dir", "profile_name")
_OPTIONAL_FIELDS = ("title", "language")
_DEFAULT_TITLE = "Sign in to TradeStation"


class BadRequestError(Exception):
    """The request on stdin is not one this process can serve."""


@dataclass(frozen=True)
class SignInRequest:
    """What the parent asks the window to show.

    ``sign_in_url`` carries the OAuth state, so ``repr`` leaves it out.
    """

    sign_in_url: str
    redirect_uri: str
    profile_dir: Path
    profile_name: str
    title: str = _DEFAULT_TITLE
    language: str = "system"

    def __repr__(self) -> str:
        return (
            f"SignInRequest(redirect_uri={self.redirect_uri!r}, "
            f"profile_dir={str(self.profile_dir)!r}, "
            f"profile_name={self.profile_name!r})"
        )


def parse_request(raw: bytes) -> SignInRequest:
    """Reads the JSON request the launcher writes to stdin.

    Raises:
        BadRequestError: the bytes are not one JSON object with the expected
            string fields. The message names fields, never their values.
    """
    if len(raw) > _MAX_REQUEST_BYTES:
        raise BadRequestError("the request is larger than 64 KiB")
    try:
        request = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequestError("the request is not UTF-8 JSON") from exc
    if not isinstance(request, dict):
        raise BadRequestError("the request is not a JSON object")

    unknown = sorted(set(request) - set(_REQUIRED_FIELDS) - set(_OPTIONAL_FIELDS))
    if unknown:
        raise BadRequestError(f"unknown fields: {', '.join(unknown)}")
    for name in (*_REQUIRED_FIELDS, *_OPTIONAL_FIELDS):
        value = request.get(name)
        if name in _REQUIRED_FIELDS and value is None:
            raise BadRequestError(f"missing field: {name}")
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise BadRequestError(f"{name} must be a non-empty string")

    for name in ("sign_in_url", "redirect_uri"):
        if not request[name].lower().startswith(("https://", "http://")):
            raise BadRequestError(f"{name} must be an http or https URL")

    return SignInRequest(
        sign_in_url=request["sign_in_url"],
        redirect_uri=request["redirect_uri"],
        profile_dir=Path(request["profile_dir"]),
        profile_name=request["profile_name"],
        title=request.get("title") or _DEFAULT_TITLE,
        language=request.get("language") or "system",
    )


def main(argv: list[str] | None = None) -> int:
    """Shows one sign-in window and writes its outcome to stdout.

    Args:
        argv: the arguments after the program name. None are used: the
            request comes on stdin.

    Returns:
        The process exit code.
    """
    del argv
    result_stream = _reserve_stdout_for_result()
    # This process's own log goes to stderr, where the launcher forwards it
    # into the tray's log.
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )

    try:
        request = parse_request(_read_request_bytes())
    except BadRequestError as exc:
        logger.error("Bad sign-in window request: %s", exc)
        _write_result(result_stream, {"result": "error", "message": str(exc)})
        return EXIT_BAD_REQUEST

    try:
        result = _show_window(request)
    except Exception as exc:
        # One line on stdout is the contract, whatever went wrong.
        logger.exception("The sign-in window failed")
        message = f"the sign-in window failed: {type(exc).__name__}"
        _write_result(result_stream, {"result": "error", "message": message})
        return EXIT_WINDOW_FAILED

    _write_result(result_stream, result)
    return EXIT_OK


def _show_window(request: SignInRequest) -> dict[str, str]:
    app = QApplication([sys.argv[0] if sys.argv else "tstray"])
    app.setApplicationName("tstray")
    # The window speaks the tray's language (its address line's words).
    install_translation(request.language)
    # The window ends the process through its signals, not by being last.
    app.setQuitOnLastWindowClosed(False)

    result: dict[str, str] = {"result": "cancelled"}

    def on_window_redirect_reached(url: str) -> None:
        result.update(result="redirect", url=url)
        app.quit()

    window = SignInWindow(
        request.sign_in_url,
        request.redirect_uri,
        request.profile_dir,
        request.profile_name,
        request.title,
    )
    window.redirect_reached.connect(on_window_redirect_reached)
    window.closed.connect(app.quit)
    stop_watching_signals = _close_on_terminate(window.close, parent=window)

    window.show()
    window.raise_()
    window.activateWindow()
    app.exec()

    # Deleting the window deletes its web profile, which writes the cookies
    # to disk; that must happen while the application still exists.
    stop_watching_signals()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return result


def _close_on_terminate(
    close: Callable[[], Any], parent: QObject
) -> Callable[[], None]:
    """Closes the window on SIGTERM or SIGINT, so the profile is saved.

    Python runs signal handlers only between bytecodes, which never happens
    while Qt waits in C++; the wake-up socket turns the signal into a Qt
    event. On Windows, ``QProcess.terminate`` already sends the window a
    close message.

    Returns:
        A function that stops watching and puts the default handlers back.
    """
    if sys.platform == "win32":
        return lambda: None

    wakeup_read, wakeup_write = socket.socketpair()
    wakeup_read.setblocking(False)
    wakeup_write.setblocking(False)
    signal.set_wakeup_fd(wakeup_write.fileno())
    previous_handlers = {
        signal_number: signal.signal(signal_number, lambda _number, _frame: None)
        for signal_number in (signal.SIGTERM, signal.SIGINT)
    }

    notifier = QSocketNotifier(wakeup_read.fileno(), QSocketNotifier.Type.Read, parent)

    def on_wakeup_activated() -> None:
        wakeup_read.recv(64)
        logger.info("Asked to stop: closing the sign-in window")
        close()

    notifier.activated.connect(on_wakeup_activated)

    def stop_watching() -> None:
        notifier.setEnabled(False)
        signal.set_wakeup_fd(-1)
        for signal_number, handler in previous_handlers.items():
            signal.signal(signal_number, handler)
        wakeup_read.close()
        wakeup_write.close()

    return stop_watching


def _reserve_stdout_for_result() -> IO[str]:
    """Keeps the real stdout for the result line and points fd 1 at stderr.

    Chromium's helper processes inherit fd 1 and may write to it; after this
    anything they (or a stray ``print``) write lands on stderr.
    """
    if sys.stdout is not None:
        sys.stdout.flush()
    result_fd = os.dup(_STDOUT_FD)
    try:
        os.dup2(_STDERR_FD, _STDOUT_FD)
    except OSError:
        # No stderr at all (a windowed build started without one): the
        # chatter then goes nowhere rather than into the result.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, _STDOUT_FD)
        os.close(devnull)
    return os.fdopen(result_fd, "w", encoding="utf-8")


def _read_request_bytes() -> bytes:
    with os.fdopen(_STDIN_FD, "rb", closefd=False) as stdin:
        return stdin.read(_MAX_REQUEST_BYTES + 1)


def _write_result(stream: IO[str], result: dict[str, str]) -> None:
    stream.write(json.dumps(result) + "\n")
    stream.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
