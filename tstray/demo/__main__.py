"""Runs the demo sign-in service in the foreground:
``python -m tstray.demo --port 0 --state-dir DIR``.

It prints one line, ``tstray demo sign-in service on http://127.0.0.1:PORT``,
so a parent process (a test, or a person) learns the port, then serves until
SIGTERM or SIGINT. It prints nothing else on stdout and never a token.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from tstray.demo.grants import DemoOptions
from tstray.demo.service import DemoSignInService


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = DemoOptions()
    parser = argparse.ArgumentParser(
        prog="python -m tstray.demo",
        description="A local stand-in for TradeStation's sign-in service (demo only).",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where the demo key and state live (default: a temporary folder)",
    )
    parser.add_argument("--rotating", action="store_true", help="rotate refresh tokens")
    parser.add_argument(
        "--no-reuse-detection",
        action="store_true",
        help="with --rotating: refuse a reused refresh token, keep its chain",
    )
    parser.add_argument(
        "--access-lifetime", type=int, default=defaults.access_lifetime_s, metavar="S"
    )
    parser.add_argument(
        "--refresh-lifetime", type=int, default=defaults.refresh_lifetime_s, metavar="S"
    )
    parser.add_argument(
        "--chain-lifetime", type=int, default=defaults.chain_lifetime_s, metavar="S"
    )
    parser.add_argument("--require-pkce", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="log requests on stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    options = DemoOptions(
        access_lifetime_s=args.access_lifetime,
        rotating=args.rotating,
        reuse_detection=not args.no_reuse_detection,
        refresh_lifetime_s=args.refresh_lifetime,
        chain_lifetime_s=args.chain_lifetime,
        require_pkce=args.require_pkce,
    )

    stop_requested = threading.Event()

    def on_signal(signal_number: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    with tempfile.TemporaryDirectory(prefix="tstray-demo-") as temp_dir:
        state_dir = args.state_dir or Path(temp_dir)
        service = DemoSignInService(state_dir, options, port=args.port)
        service.start()
        try:
            print(f"tstray demo sign-in service on {service.base_url}", flush=True)
            # A timed wait keeps the main thread able to run signal handlers.
            while not stop_requested.wait(0.5):
                pass
        finally:
            service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
