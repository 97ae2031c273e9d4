"""Sleep run: the real app is stopped (SIGSTOP) past its token's expiry, as a
laptop lid closing would freeze it, then resumed (SIGCONT), while a client
thread polls ``/v1/token`` the whole time.

For each cycle it measures the time from the resume to the first answer with
a valid token, and counts tokens served after their expiry (goal 0). The
demo sign-in service runs as its own process.

Run by hand inside the test desktop (a keyring and an X screen):

    cd /work/main && PYTHONPATH=. tests/with-desktop.sh \\
        /tmp/venv/bin/python -m tests.reliability.sleep_run --cycles 10

It prints a table of figures; it never prints a token.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability.support import (
    AppProcess,
    DemoProcess,
    TokenPoller,
    delete_tokens,
    seed_tokens,
    wait_until,
)

# Only a wait bound: a resumed app that serves no valid token by then fails.
RECOVERY_TIMEOUT_S = 20.0


@dataclass
class SleepFigures:
    """What one sleep run measured."""

    access_lifetime_s: int = 0
    stopped_s: float = 0.0
    recoveries_s: list[float] = field(default_factory=list)
    expired_served: int = 0
    expired_in_transit: int = 0
    late_expires_at: int = 0
    refused_answers: int = 0
    token_answers: int = 0

    def table(self) -> str:
        recoveries = self.recoveries_s or [float("nan")]
        median = f"{statistics.median(recoveries):.2f}"
        rows = [
            ("access token lifetime (s)", self.access_lifetime_s),
            ("stopped for (s)", f"{self.stopped_s:g}"),
            ("sleep cycles", len(self.recoveries_s)),
            ("valid token again after resume, median (s)", median),
            ("valid token again after resume, max (s)", f"{max(recoveries):.2f}"),
            ("/v1/token answers with a token", self.token_answers),
            ("/v1/token 503 (no valid token held)", self.refused_answers),
            ("tokens served after expiry (goal 0)", self.expired_served),
            ("tokens expiring in transit", self.expired_in_transit),
            ("expires_at later than the token's exp", self.late_expires_at),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [
            f"| {'figure'.ljust(width)} | value |",
            f"|{'-' * (width + 2)}|-------|",
        ]
        lines += [f"| {name.ljust(width)} | {value} |" for name, value in rows]
        return "\n".join(lines)


def sleep_run(
    cycles: int, workdir: Path, *, access_lifetime_s: int = 4, stopped_s: float = 6.0
) -> SleepFigures:
    """Runs ``cycles`` stop/resume cycles; returns the figures."""
    figures = SleepFigures(access_lifetime_s=access_lifetime_s, stopped_s=stopped_s)
    demo = DemoProcess(workdir / "demo", access_lifetime_s=access_lifetime_s)
    demo.start()
    app = AppProcess(workdir / "app", demo.url, refresh_margin_s=1)
    try:
        delete_tokens()
        seed_tokens(demo.sign_in())
        app.start()
        app.wait_for_state("valid")
        with TokenPoller(app) as poller:
            for _ in range(cycles):
                app.wait_for_state("valid")
                app.pause()
                # The stimulus, not a wait: frozen past the token's expiry,
                # whatever its age at the stop.
                time.sleep(stopped_s)
                resumed_s = time.time()
                app.resume()
                valid_at: float = wait_until(
                    lambda: poller.valid_since(resumed_s),  # noqa: B023 - used at once
                    RECOVERY_TIMEOUT_S,
                    "a valid token after the resume",
                )
                figures.recoveries_s.append(valid_at - resumed_s)
                # Keep asking for a while after the resume too.
                wait_until(
                    lambda: poller.valid_count_since(resumed_s) >= 10,  # noqa: B023
                    RECOVERY_TIMEOUT_S,
                    "more answers after the resume",
                )
            seen = poller.snapshot()
    finally:
        app.kill()
        delete_tokens()
        demo.stop()

    figures.expired_served = seen.expired_served
    figures.expired_in_transit = seen.expired_in_transit
    figures.late_expires_at = seen.late_expires_at
    figures.refused_answers = seen.refused
    figures.token_answers = seen.answers
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--access-lifetime", type=int, default=4, metavar="S")
    parser.add_argument("--stopped", type=float, default=6.0, metavar="S")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tstray-sleep-run-") as workdir:
        figures = sleep_run(
            args.cycles,
            Path(workdir),
            access_lifetime_s=args.access_lifetime,
            stopped_s=args.stopped,
        )
    print(figures.table())
    return 0 if figures.expired_served == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
