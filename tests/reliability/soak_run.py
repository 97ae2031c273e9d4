"""Soak run: the real app against the demo sign-in service with very short
token lifetimes, so that a few minutes hold as many refresh cycles as days of
normal use, while its memory and open descriptors are sampled.

Run by hand inside the test desktop (it is not part of the default suite;
tests/integration/test_soak_short.py is its short version):

    cd /work/main && PYTHONPATH=. tests/with-desktop.sh \\
        /tmp/venv/bin/python tests/reliability/soak_run.py --minutes 10

What it does: starts ``python -m tstray.demo`` with ``--access-lifetime``
seconds per token, signs in over HTTP and seeds the keyring, starts the real
``python -m tstray``, and lets a client ask for a token twice a second the
whole time. Every ``--sample-s`` seconds it records the resident memory
(VmRSS summed over the app and its child processes, from /proc), the app's
open file descriptors, and the refresh count. It prints the first sample
after warm-up, the last, the largest, and the slope of a least-squares line
through the samples after warm-up, per hour of run and per 100 refreshes.

What it is equivalent to, honestly: each refresh is one full cycle (HTTP
request, token parsing, keyring write, snapshot, notices), so N refreshes
stand for N cycles of real use, where a 20-minute TradeStation token with the
default 5-minute margin is refreshed every 15 minutes (4 an hour, 96 a day).
It is not equivalent in wall-clock effects: timers that fire once an hour,
log rotation by size, and slow heap fragmentation get only minutes here.

It prints no token: only counts, sizes and times.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make "tests" and "tstray" importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.reliability.support import (
    AppProcess,
    DemoProcess,
    TokenPoller,
    delete_tokens,
    log_tail,
    seed_tokens,
)

PAGE_KB = 1  # VmRSS in /proc/PID/status is already in kB
REAL_REFRESHES_PER_HOUR = 4.0


@dataclass(frozen=True)
class Sample:
    """One look at the app: seconds since start, memory, descriptors."""

    elapsed_s: float
    rss_kb: int
    open_fds: int
    refreshes: int
    processes: int


@dataclass
class SoakResult:
    """What a soak run saw."""

    samples: list[Sample] = field(default_factory=list)
    warm_up_s: float = 0.0
    crashed: bool = False
    exit_code: int | None = None
    refreshes: int = 0
    token_answers: int = 0
    expired_served: int = 0
    refused: int = 0
    crash_details: str = ""

    def after_warm_up(self) -> list[Sample]:
        later = [s for s in self.samples if s.elapsed_s >= self.warm_up_s]
        return later or self.samples


# -- /proc -------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (the sign-in window, if one runs)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces; the fields after it do not.
        fields = stat.rsplit(")", 1)[1].split()
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * PAGE_KB
    except OSError:
        pass
    return 0


def _open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def sample(pid: int, started: float, refreshes: int) -> Sample:
    tree = [pid, *_children(pid)]
    return Sample(
        elapsed_s=time.monotonic() - started,
        rss_kb=sum(_rss_kb(p) for p in tree),
        open_fds=_open_fds(pid),
        refreshes=refreshes,
        processes=len(tree),
    )


def slope(points: list[tuple[float, float]]) -> float:
    """The least-squares slope of y over x (0 for fewer than two points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


# -- the run -------------------------------------------------------------------------


def run_soak(
    workdir: Path,
    *,
    duration_s: float,
    access_lifetime_s: int = 2,
    sample_s: float = 5.0,
    warm_up_s: float = 30.0,
    rotating: bool = False,
    progress: bool = False,
) -> SoakResult:
    """Runs the app for ``duration_s`` and returns what was sampled.

    Uses the real profile's keyring service ("tstray") and deletes its
    tokens before and after, like the other reliability runs.
    """
    demo = DemoProcess(
        workdir / "demo", access_lifetime_s=access_lifetime_s, rotating=rotating
    )
    demo.start()
    app = AppProcess(workdir / "app", demo.url, refresh_margin_s=1)
    result = SoakResult(warm_up_s=warm_up_s)
    try:
        delete_tokens()
        seed_tokens(demo.sign_in())
        app.start()
        assert app.process is not None
        pid = app.process.pid
        started = time.monotonic()
        with TokenPoller(app, interval_s=0.5) as poller:
            while (elapsed := time.monotonic() - started) < duration_s:
                if app.process.poll() is not None:
                    result.crashed = True
                    result.exit_code = app.process.returncode
                    result.crash_details = _last_words(app)
                    break
                point = sample(pid, started, demo.stats()["refreshes_ok"])
                result.samples.append(point)
                if progress:
                    print(
                        f"{elapsed:7.0f} s  rss {point.rss_kb / 1024:6.1f} MB"
                        f"  fds {point.open_fds:3d}  refreshes {point.refreshes}",
                        file=sys.stderr,
                        flush=True,
                    )
                time.sleep(sample_s)
        answers = poller.snapshot()
        result.token_answers = answers.answers
        result.expired_served = answers.expired_served
        result.refused = answers.refused
        result.refreshes = demo.stats()["refreshes_ok"]
        if not result.crashed:
            result.exit_code = app.stop()
    finally:
        app.kill()
        demo.stop()
        delete_tokens()
    return result


def _last_words(app: AppProcess) -> str:
    """The end of the app's log and of its stderr (both free of secrets:
    the app redacts them)."""
    stderr = app.home / "stderr.log"
    output = stderr.read_text(errors="replace") if stderr.exists() else ""
    return "\n".join(
        ["-- log:", log_tail(app, 30), "-- stderr:", *output.splitlines()[-30:]]
    )


def report(result: SoakResult, access_lifetime_s: int) -> str:
    """The figures, as lines of text."""
    later = result.after_warm_up()
    first, last = later[0], later[-1]
    hours = [(s.elapsed_s / 3600, float(s.rss_kb)) for s in later]
    per_refresh = [(float(s.refreshes), float(s.rss_kb)) for s in later]
    fd_hours = [(s.elapsed_s / 3600, float(s.open_fds)) for s in later]
    simulated_h = result.refreshes / REAL_REFRESHES_PER_HOUR
    lines = [
        f"run: {result.samples[-1].elapsed_s / 60:.1f} min, tokens of "
        f"{access_lifetime_s} s, {result.refreshes} refreshes "
        f"(= {simulated_h:.0f} h of refresh cycles at 4 an hour), "
        f"{len(result.samples)} samples, warm-up {result.warm_up_s:.0f} s",
        f"crashed: {'yes' if result.crashed else 'no'}; exit code {result.exit_code}",
        f"token answers: {result.token_answers} served, "
        f"{result.refused} refused, {result.expired_served} expired served",
        f"RSS (app tree): start {first.rss_kb / 1024:.1f} MB, end "
        f"{last.rss_kb / 1024:.1f} MB, max "
        f"{max(s.rss_kb for s in later) / 1024:.1f} MB; slope "
        f"{slope(hours) / 1024:+.1f} MB per hour of run, "
        f"{slope(per_refresh) * 100:+.1f} kB per 100 refreshes",
        f"RSS slope over the last half of the run: "
        f"{slope(per_refresh[len(per_refresh) // 2 :]) * 100:+.1f} kB per 100 "
        "refreshes",
        f"open fds (app): start {first.open_fds}, end {last.open_fds}, max "
        f"{max(s.open_fds for s in later)}; slope {slope(fd_hours):+.1f} per hour",
    ]
    if result.crash_details:
        lines.append(result.crash_details)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--access-lifetime", type=int, default=2, metavar="S")
    parser.add_argument("--sample-s", type=float, default=5.0)
    parser.add_argument("--warm-up-s", type=float, default=30.0)
    parser.add_argument("--rotating", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tstray-soak-") as workdir:
        result = run_soak(
            Path(workdir),
            duration_s=args.minutes * 60,
            access_lifetime_s=args.access_lifetime,
            sample_s=args.sample_s,
            warm_up_s=args.warm_up_s,
            rotating=args.rotating,
            progress=True,
        )
    print(report(result, args.access_lifetime))
    return 1 if result.crashed else 0


if __name__ == "__main__":
    sys.exit(main())
