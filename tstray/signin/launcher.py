"""Starts the sign-in window in its own process and awaits its answer.

QtWebEngine is a whole Chromium; running it in a child process means every
byte of it goes back to the system when the window closes. This module runs
in the tray process, so it never imports QtWebEngine. It talks to the child
through ``QProcess``, which works on the qasync loop, and never logs the
child's stdout: that carries the redirect URL with the authorization code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QLocale, QProcess, QProcessEnvironment

from tstray.oauth.authorize import clean_for_display, is_redirect_target
from tstray.own_command import own_command
from tstray.ui.texts import tr

logger = logging.getLogger(__name__)

DEFAULT_TITLE = "Sign in to TradeStation"

# What the child writes about its own failure goes into messages; bound it.
_MESSAGE_MAX_CHARS = 200

# How long the child gets to close its window (and save its cookies) when
# asked, before it is killed.
_TERMINATE_GRACE_S = 3.0


class SignInWindowError(Exception):
    """The sign-in window's process failed or answered something unreadable.

    Attributes:
        reason: a short sentence for logs and the user; never the child's
            output, which may carry the code.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def default_command() -> list[str]:
    """Returns the command that starts the sign-in window's process."""
    return own_command("tstray.signin.window_process", "--sign-in-window")


def root_refusal(environment: Mapping[str, str]) -> str:
    """Why the window cannot start for a root user, or "" when it can.

    Chromium refuses to run as root with its sandbox on, and only dies with
    a line on stderr; saying so first is kinder. The sandbox is turned off
    only in test set-ups, through Qt's documented variables.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return ""
    if environment.get("QTWEBENGINE_DISABLE_SANDBOX"):
        return ""
    if "--no-sandbox" in environment.get("QTWEBENGINE_CHROMIUM_FLAGS", ""):
        return ""
    return tr(
        "The sign-in window cannot run as root: its browser engine refuses to"
        " start there. Run tstray as your normal user, or use “Sign in with"
        " my browser…”."
    )


async def run_sign_in_window(
    sign_in_url: str,
    redirect_uri: str,
    profile_dir: Path,
    profile_name: str,
    title: str = DEFAULT_TITLE,
    *,
    command: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Shows the sign-in window until it reaches the redirect or is closed.

    Cancelling the awaiting task closes the window: the child is asked to
    stop, killed after a grace period, and awaited.

    Args:
        sign_in_url: the authorize URL to open.
        redirect_uri: the registered callback; the window stops there.
        profile_dir: where the window keeps its cookies between sign-ins.
        profile_name: the web profile's storage name.
        title: the window title.
        command: the program and arguments of the child; by default
            :func:`default_command`.
        env: the child's whole environment; by default this process's.

    Returns:
        The full redirect URL, or ``None`` when the user closed the window.

    Raises:
        SignInWindowError: the child did not start, crashed, or did not
            answer with one result line.
    """
    if command is None:
        refusal = root_refusal(env if env is not None else os.environ)
        if refusal:
            raise SignInWindowError(refusal)

    program, *arguments = list(command) if command is not None else default_command()
    request = {
        "sign_in_url": sign_in_url,
        "redirect_uri": redirect_uri,
        "profile_dir": str(profile_dir),
        # The language the tray chose (QLocale's default follows it).
        "language": QLocale().name().split("_")[0],
        "profile_name": profile_name,
        "title": title,
    }

    process = QProcess()
    process.setProgram(program)
    process.setArguments(arguments)
    if env is not None:
        environment = QProcessEnvironment()
        for name, value in env.items():
            environment.insert(name, value)
        process.setProcessEnvironment(environment)

    exited = asyncio.Event()
    start_failed = False
    stderr_tail = bytearray()

    def on_process_error_occurred(error: QProcess.ProcessError) -> None:
        nonlocal start_failed
        # Only a failed start has no ``finished`` signal to follow.
        if error == QProcess.ProcessError.FailedToStart:
            start_failed = True
            exited.set()

    def on_process_ready_read_standard_error() -> None:
        stderr_tail.extend(process.readAllStandardError().data())
        *lines, rest = stderr_tail.split(b"\n")
        stderr_tail[:] = rest
        for line in lines:
            logger.debug("sign-in window: %s", line.decode("utf-8", "replace").rstrip())

    process.errorOccurred.connect(on_process_error_occurred)
    process.finished.connect(lambda _code, _status: exited.set())
    process.readyReadStandardError.connect(on_process_ready_read_standard_error)

    logger.info("Starting the sign-in window process")
    process.start()
    process.write(QByteArray(json.dumps(request).encode("utf-8")))
    process.closeWriteChannel()

    try:
        try:
            await exited.wait()
        except asyncio.CancelledError:
            await _stop(process, exited)
            raise
        finally:
            on_process_ready_read_standard_error()

        if start_failed:
            raise SignInWindowError(
                f"The sign-in window could not start: {process.errorString()}"
            )
        return _read_result(process, redirect_uri)
    finally:
        # Deleted here, on the GUI thread, by Qt: left to Python, the process
        # object (in a cycle with the slots above) could be freed by the
        # cycle collector on another thread, where a QObject must not die.
        process.deleteLater()


async def _stop(process: QProcess, exited: asyncio.Event) -> None:
    """Asks the child to close its window, kills it if it does not, awaits it."""
    if process.state() == QProcess.ProcessState.NotRunning:
        return

    logger.info("Closing the sign-in window process (pid %s)", process.processId())
    process.terminate()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(exited.wait(), _TERMINATE_GRACE_S)
    if not exited.is_set():
        logger.warning("The sign-in window process did not stop; killing it")
        process.kill()
        await exited.wait()


def _read_result(process: QProcess, redirect_uri: str) -> str | None:
    """Turns the child's exit and its one stdout line into the outcome."""
    output = bytes(process.readAllStandardOutput().data())
    crashed = process.exitStatus() == QProcess.ExitStatus.CrashExit
    exit_code = process.exitCode()

    result = _parse_result_line(output)
    if result is None:
        how = "crashed" if crashed else f"exited with code {exit_code}"
        raise SignInWindowError(f"The sign-in window {how} without a readable answer")
    kind = result.get("result")
    if kind == "error":
        message = result.get("message")
        detail = (
            clean_for_display(message, _MESSAGE_MAX_CHARS)
            if isinstance(message, str)
            else "no reason given"
        )
        raise SignInWindowError(f"The sign-in window failed: {detail}")

    if crashed or exit_code != 0:
        # The answer is written before the window's teardown; Chromium
        # crashing on its way out does not change it.
        logger.warning(
            "The sign-in window process ended badly (crashed: %s, exit code %s)",
            crashed,
            exit_code,
        )
    if kind == "cancelled":
        logger.info("The sign-in window was closed without signing in")
        return None

    url = result.get("url")
    if kind != "redirect" or not isinstance(url, str):
        raise SignInWindowError("The sign-in window answered something unreadable")
    if not is_redirect_target(url, redirect_uri):
        raise SignInWindowError(
            "The sign-in window answered with a URL that is not the redirect"
        )
    logger.info("The sign-in window reached the redirect")
    return url


def _parse_result_line(output: bytes) -> dict[str, object] | None:
    lines = [line for line in output.splitlines() if line.strip()]
    if len(lines) != 1:
        return None
    try:
        result = json.loads(lines[0].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return result if isinstance(result, dict) else None
