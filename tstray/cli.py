"""The ``tstray`` command: starts the tray app, or asks the running one for a
token, its status or a sign-in.

``token``, ``status`` and ``api-key`` import no Qt, so a script can call them
often and cheaply. ``token`` prints the access token and nothing else on
stdout; every other message goes to stderr, and never contains a secret.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tstray import __version__
from tstray.config import Config, load_config
from tstray.paths import AppPaths, app_paths

if TYPE_CHECKING:
    # Imported by the commands that ask a running tstray; starting the app
    # itself (the tray) needs no HTTP client.
    from tstray.client import TokenUnavailableError

EXIT_OK = 0
EXIT_NO_TOKEN = 1
EXIT_USAGE = 2
# How long the token command waits for a running tstray (a refresh may be due).
TOKEN_TIMEOUT_S = 20.0
STATUS_LINES = (
    "state",
    "account",
    "expires_at",
    "expires_in",
    "last_refresh_at",
    "next_refresh_at",
    "last_error",
)


@dataclass(frozen=True)
class Profile:
    """Which tstray a command speaks to: the real one or the demo."""

    name: str
    paths: AppPaths
    config: Config

    @property
    def demo(self) -> bool:
        return self.name == "demo"


def resolve_profile(demo: bool, config_path: str | None) -> Profile:
    name = "demo" if demo else "default"
    explicit = config_path or os.environ.get("TSTRAY_CONFIG")
    paths = app_paths(name, Path(explicit).expanduser() if explicit else None)
    return Profile(name, paths, load_config(paths.config_file))


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS,
        help="use the built-in demo sign-in service and its own tokens",
    )
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="config file (default: the platform's config folder; or TSTRAY_CONFIG)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="tstray",
        description="Keeps a TradeStation API session alive from the system tray and "
        "hands fresh access tokens to local programs.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"tstray {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    # The sign-in window's child process, for frozen builds (no "-m" there).
    parser.add_argument("--sign-in-window", action="store_true", help=argparse.SUPPRESS)
    # The keyring helper's process, likewise (tstray.storage.helper).
    parser.add_argument("--keyring-helper", action="store_true", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    token = commands.add_parser(
        "token",
        parents=[common],
        help="print a valid access token (and nothing else)",
        description="Prints a valid access token from the running tstray. "
        "Exits 1 with a message on stderr when there is none.",
    )
    token.add_argument(
        "--min-ttl",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="refresh first if the token would expire sooner",
    )

    status = commands.add_parser(
        "status", parents=[common], help="show the session's state"
    )
    status.add_argument("--json", action="store_true", help="print the raw JSON")

    commands.add_parser(
        "login",
        parents=[common],
        help="open the sign-in window (starting tstray if needed)",
    )

    api_key = commands.add_parser(
        "api-key",
        parents=[common],
        help="print the local API key that programs send as a Bearer token",
    )
    api_key.add_argument(
        "--rotate", action="store_true", help="replace the key with a new one"
    )
    return parser


def _explain(error: TokenUnavailableError, profile: Profile) -> str:
    message = str(error)
    if error.code == "unauthorized" and not profile.demo:
        message += " (if the running tstray is the demo, add --demo)"
    return f"tstray: {message}"


def command_token(profile: Profile, min_ttl_s: float) -> int:
    from tstray.client import TokenUnavailableError, get_token

    try:
        token = get_token(
            min_ttl_s,
            profile=profile.name,
            config_path=profile.paths.config_file,
            timeout_s=TOKEN_TIMEOUT_S,
        )
    except ValueError as exc:
        print(f"tstray: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TokenUnavailableError as exc:
        print(_explain(exc, profile), file=sys.stderr)
        return EXIT_NO_TOKEN
    print(token)
    return EXIT_OK


def command_status(profile: Profile, as_json: bool) -> int:
    from tstray.client import TokenUnavailableError, get_status

    try:
        status, body = get_status(
            profile=profile.name,
            config_path=profile.paths.config_file,
            timeout_s=TOKEN_TIMEOUT_S,
        )
    except TokenUnavailableError as exc:
        print(_explain(exc, profile), file=sys.stderr)
        return EXIT_NO_TOKEN
    if status != 200:
        error = TokenUnavailableError(
            str(body.get("message") or f"tstray answered {status}"),
            code=str(body.get("error") or ""),
        )
        print(_explain(error, profile), file=sys.stderr)
        return EXIT_NO_TOKEN
    if as_json:
        print(json.dumps(body, indent=2, sort_keys=True))
        return EXIT_OK
    for key in STATUS_LINES:
        value = body.get(key)
        if value not in (None, ""):
            print(f"{key.replace('_', ' ')}: {value}")
    return EXIT_OK


def command_api_key(profile: Profile, rotate: bool) -> int:
    from tstray.server.api_key import load_or_create_api_key, rotate_api_key

    key_file = profile.paths.api_key_file
    if not rotate:
        print(load_or_create_api_key(key_file))
        return EXIT_OK

    key = rotate_api_key(key_file)
    if _tell_running_app(profile, "reload-api-key"):
        print("tstray: new key in use; the old one no longer works", file=sys.stderr)
    else:
        print("tstray: new key written (tstray is not running)", file=sys.stderr)
    print(key)
    return EXIT_OK


def _tell_running_app(profile: Profile, command: str) -> bool:
    """Hands ``command`` to a running tstray of this profile, if there is one."""
    from PySide6.QtCore import QCoreApplication

    from tstray.single_instance import hand_over

    _app = QCoreApplication.instance() or QCoreApplication([])
    return hand_over(profile.paths.runtime_dir / "instance.lock", command)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # "tstray status | head -1": the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)

    if args.sign_in_window:
        from tstray.signin.window_process import main as window_main

        return window_main([])
    if args.keyring_helper:
        from tstray.storage.helper import run_and_exit

        run_and_exit()

    profile = resolve_profile(
        getattr(args, "demo", False), getattr(args, "config", None)
    )
    if args.command == "token":
        return command_token(profile, args.min_ttl)
    if args.command == "status":
        return command_status(profile, args.json)
    if args.command == "api-key":
        return command_api_key(profile, args.rotate)

    from tstray.app import run_app

    return run_app(
        profile, sign_in_at_start=args.command == "login", verbose=args.verbose
    )
