"""Crash run: the real app against the rotating demo service, killed with
SIGKILL at random (seeded) moments and restarted, until the service has seen
``--refreshes`` successful refreshes.

The demo service is its own process and keeps running (and its state folder
persists) across the app's restarts, as TradeStation would. A client thread
polls ``/v1/token`` the whole time and checks every answer's token against
the wall clock. The run counts:

- forced sign-ins: the app came up unable to refresh (``sign_in_needed``
  after reuse detection, or no stored session), and for each whether it fell
  in the lost-reply window: the service had rotated the refresh token past
  the one in the keyring when the app was killed (the reply never stored);
- tokens served after their expiry (the token's own ``exp`` had passed when
  the request was sent).

Run by hand inside the test desktop (a keyring and an X screen):

    cd /work/main && PYTHONPATH=. tests/with-desktop.sh \\
        /tmp/venv/bin/python -m tests.reliability.crash_run --refreshes 200

It prints a table of figures; it never prints a token.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.reliability.support import (
    AppProcess,
    DemoProcess,
    TokenPoller,
    delete_tokens,
    demo_refresh_generation,
    seed_tokens,
    stored_tokens,
)

_POLL_S = 0.05


@dataclass
class CrashFigures:
    """What one crash run measured."""

    seed: int = 0
    access_lifetime_s: int = 0
    refreshes: int = 0
    kills: int = 0
    starts: int = 0
    lost_reply_kills: int = 0
    sign_ins_in_window: int = 0
    sign_ins_outside_window: int = 0
    token_answers: int = 0
    refused_answers: int = 0
    unanswered_requests: int = 0
    expired_served: int = 0
    expired_in_transit: int = 0
    late_expires_at: int = 0
    reuse_detected: int = 0
    duration_s: float = 0.0
    finished: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def forced_sign_ins(self) -> int:
        return self.sign_ins_in_window + self.sign_ins_outside_window

    def table(self) -> str:
        rows = [
            ("seed", self.seed),
            ("access token lifetime (s)", self.access_lifetime_s),
            ("successful refreshes (demo service)", self.refreshes),
            ("SIGKILLs", self.kills),
            ("app starts", self.starts),
            ("kills in the lost-reply window (reply lost)", self.lost_reply_kills),
            ("forced sign-ins", self.forced_sign_ins),
            ("  in the lost-reply window", self.sign_ins_in_window),
            ("  outside it (goal 0)", self.sign_ins_outside_window),
            ("reuse detected (demo service)", self.reuse_detected),
            ("/v1/token answers with a token", self.token_answers),
            ("/v1/token 503 (no valid token held)", self.refused_answers),
            ("/v1/token no answer (app down)", self.unanswered_requests),
            ("tokens served after expiry (goal 0)", self.expired_served),
            ("tokens expiring in transit", self.expired_in_transit),
            ("expires_at later than the token's exp", self.late_expires_at),
            ("run time (s)", f"{self.duration_s:.0f}"),
            ("finished within the time bound", "yes" if self.finished else "no"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [
            f"| {'figure'.ljust(width)} | value |",
            f"|{'-' * (width + 2)}|-------|",
        ]
        lines += [f"| {name.ljust(width)} | {value} |" for name, value in rows]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


class _Chain:
    """The one refresh-token chain the app holds, as the service sees it."""

    def __init__(self, demo: DemoProcess) -> None:
        self.demo = demo
        self.base = 0

    def sign_in(self) -> None:
        delete_tokens()
        tokens = self.demo.sign_in()
        self.base = self.demo.stats()["refreshes_ok"]
        seed_tokens(tokens)

    def lost_reply(self) -> bool:
        """True when the service rotated the chain past the stored token."""
        stored = stored_tokens()
        read = demo_refresh_generation(stored.refresh_token if stored else None)
        if read is None:
            return False
        newest = self.demo.stats()["refreshes_ok"] - self.base
        return newest > read[1]


def _status(app: AppProcess) -> str:
    try:
        return str(app.status()["state"])
    except (httpx.HTTPError, AssertionError):
        return ""


def _forced_sign_in(app: AppProcess, mark: int) -> bool:
    """True once the app showed it cannot go on without a sign-in."""
    if "no stored session" in app.log_text()[mark:]:
        return True
    return _status(app) == "sign_in_needed"


def crash_run(
    refreshes: int,
    seed: int,
    workdir: Path,
    *,
    access_lifetime_s: int = 2,
    max_seconds: float = 900.0,
    progress: bool = False,
) -> CrashFigures:
    """Runs the crash run; returns its figures (see the module docstring)."""
    rng = random.Random(seed)
    figures = CrashFigures(seed=seed, access_lifetime_s=access_lifetime_s)
    started_s = time.monotonic()
    demo = DemoProcess(
        workdir / "demo", access_lifetime_s=access_lifetime_s, rotating=True
    )
    demo.start()
    app = AppProcess(workdir / "app", demo.url, refresh_margin_s=1)
    chain = _Chain(demo)
    lost_reply_pending = False
    try:
        chain.sign_in()
        base = demo.stats()["refreshes_ok"]
        with TokenPoller(app, interval_s=_POLL_S) as poller:
            while demo.stats()["refreshes_ok"] - base < refreshes:
                if time.monotonic() - started_s > max_seconds:
                    figures.notes.append(f"stopped at the {max_seconds:.0f} s bound")
                    break
                mark = len(app.log_text())
                app.start()
                figures.starts += 1

                # Run for a random stretch (up to 2.5 token lives), then kill.
                kill_at = time.monotonic() + rng.uniform(0.0, 2.5 * access_lifetime_s)
                forced = False
                while time.monotonic() < kill_at:
                    if _forced_sign_in(app, mark):
                        forced = True
                        break
                    time.sleep(_POLL_S)
                app.kill()
                figures.kills += 1

                if forced:
                    if lost_reply_pending:
                        figures.sign_ins_in_window += 1
                    else:
                        figures.sign_ins_outside_window += 1
                        figures.notes.append(
                            f"sign-in outside the window after start {figures.starts}"
                        )
                    chain.sign_in()
                    lost_reply_pending = False
                else:
                    # Counted once: a later kill before the app noticed it
                    # still finds the same stale token in the keyring.
                    was_pending = lost_reply_pending
                    lost_reply_pending = chain.lost_reply()
                    figures.lost_reply_kills += lost_reply_pending and not was_pending
                if progress:
                    done = demo.stats()["refreshes_ok"] - base
                    print(f"\r{done}/{refreshes} refreshes", end="", file=sys.stderr)
            seen = poller.snapshot()
        figures.finished = demo.stats()["refreshes_ok"] - base >= refreshes
        figures.refreshes = demo.stats()["refreshes_ok"] - base
        figures.reuse_detected = demo.stats()["reuse_detected"]
    finally:
        app.kill()
        delete_tokens()
        demo.stop()

    figures.token_answers = seen.answers
    figures.refused_answers = seen.refused
    figures.unanswered_requests = seen.failed
    figures.expired_served = seen.expired_served
    figures.expired_in_transit = seen.expired_in_transit
    figures.late_expires_at = seen.late_expires_at
    figures.duration_s = time.monotonic() - started_s
    if progress:
        print(file=sys.stderr)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refreshes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--access-lifetime", type=int, default=2, metavar="S")
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tstray-crash-run-") as workdir:
        figures = crash_run(
            args.refreshes,
            args.seed,
            Path(workdir),
            access_lifetime_s=args.access_lifetime,
            max_seconds=args.max_seconds,
            progress=True,
        )
    print(figures.table())
    ok = figures.expired_served == 0 and figures.sign_ins_outside_window == 0
    return 0 if ok and figures.finished else 1


if __name__ == "__main__":
    sys.exit(main())
