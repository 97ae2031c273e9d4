"""Measures the local token service under load, side by side with FastAPI and
nginx, and prints one table (issue 4, "Speed, measured, not asserted").

In one run on this machine it puts ``wrk`` (64 keep-alive connections, the
same duration each, after a warm-up) on:

a. tstray's real ``LocalTokenService`` serving ``/v1/token`` with the key
   check, fed by a real ``Session`` signed in at the demo sign-in service,
   with a qasync GUI loop on a ``QApplication`` in this process, started the
   way ``tstray.app`` starts it;
b. a minimal FastAPI + uvicorn endpoint (``fastapi_app.py``, own process)
   returning the same JSON behind the same key check;
c. nginx serving the same JSON from a file (the practical ceiling);

and records (d) the GUI thread's event-loop lag (a 10 ms ``QTimer``) while
(a)'s load runs, and (e) how many upstream refreshes a burst of 1,000
``/v1/token?min_ttl=60`` requests causes when it arrives one second before the
token expires (it should be exactly one). The clocks of the demo service, the
session and the token service are shifted together to reach that moment
without waiting 20 minutes.

Run: ``PYTHONPATH=. python tests/bench/bench_local_api.py`` (``--help`` for
options). It talks to 127.0.0.1 only, uses a fresh random API key and a demo
token, and never prints either. It is not a test: it asserts nothing and
prints figures; its exit status is 1 only when a run was not clean (errors).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import platform
import secrets
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import httpx
import qasync
from PySide6.QtWidgets import QApplication

from tests.bench.bench_support import (
    WrkResult,
    fast_stack_installed,
    fastapi_server,
    markdown_table,
    nginx_binary,
    nginx_server,
    ratio,
    run_wrk,
    write_private,
    write_wrk_script,
)
from tests.bench.token_service_rig import (
    BURST_MIN_TTL_S,
    Burst,
    Lag,
    LagProbe,
    MemoryStore,
    ShiftedClock,
    demo_sign_in,
    fetch_token_body,
    in_thread,
    run_burst,
)
from tstray.config import TradeStationSettings
from tstray.demo import (
    DEMO_CLIENT_SECRET,
    DemoOptions,
    DemoSignInService,
)
from tstray.oauth.client import TokenClient
from tstray.server.service import LocalTokenService
from tstray.session.lifecycle import Session

# -- measuring


async def measure(
    name: str, port: int, script: Path, options: argparse.Namespace
) -> WrkResult:
    url = f"http://127.0.0.1:{port}/v1/token"
    print(f"  {name}: warm-up {options.warmup_s} s", file=sys.stderr)
    await in_thread(
        functools.partial(
            run_wrk,
            url,
            script,
            connections=options.connections,
            threads=options.threads,
            duration_s=options.warmup_s,
        )
    )
    print(f"  {name}: measuring {options.duration_s} s", file=sys.stderr)
    return await in_thread(
        functools.partial(
            run_wrk,
            url,
            script,
            connections=options.connections,
            threads=options.threads,
            duration_s=options.duration_s,
        )
    )


@dataclass
class Results:
    tstray: WrkResult
    fastapi: WrkResult | None
    fastapi_plain: WrkResult | None
    nginx: WrkResult | None
    lag_idle: Lag
    lag_load: Lag
    burst: Burst
    body_bytes: int


async def run_all(options: argparse.Namespace, work_dir: Path) -> Results:
    loop = asyncio.get_running_loop()
    clock = ShiftedClock()
    api_key = secrets.token_urlsafe(32)
    demo = DemoSignInService(
        work_dir / "demo", DemoOptions(access_lifetime_s=1200), clock=clock.epoch_s
    )
    demo.start()
    http = httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=10.0))
    settings = demo.settings(TradeStationSettings())

    async def client_secret() -> str | None:
        return DEMO_CLIENT_SECRET

    token_client = TokenClient(settings, lambda: http, client_secret, clock=clock.utc)
    session = Session(
        token_client,
        MemoryStore(),
        refresh_margin_s=settings.refresh_margin_s,
        clock=clock.utc,
    )
    # Built as tstray.app builds it; only the clock is the bench's own.
    service = LocalTokenService(
        port=0,
        api_key=api_key,
        snapshot=lambda: session.snapshot,
        ensure_fresh=session.ensure_fresh,
        main_loop=loop,
        clock=clock.utc,
    )
    probe = LagProbe()
    try:
        await session.start()
        code = await demo_sign_in(http, demo, settings)
        await session.signed_in(await token_client.exchange_code(code, None))
        service.start()

        body = await fetch_token_body(service.port, api_key)
        write_private(work_dir / "body.json", body)
        write_private(work_dir / "api_key", api_key)
        script = write_wrk_script(work_dir, api_key)

        print("GUI loop lag, idle: 2 s", file=sys.stderr)
        probe.start()
        await asyncio.sleep(2.0)
        lag_idle = Lag.of(probe.stop())

        probe.start()
        tstray_result = await measure("tstray", service.port, script, options)
        lag_load = Lag.of(probe.stop())

        fastapi_result = fastapi_plain = None
        if not options.skip_fastapi and fast_stack_installed():
            with fastapi_server(work_dir, "fast") as port:
                fastapi_result = await measure("FastAPI", port, script, options)
        if not options.skip_fastapi:
            with fastapi_server(work_dir, "plain") as port:
                fastapi_plain = await measure("FastAPI plain", port, script, options)

        nginx_result = None
        binary = None if options.skip_nginx else nginx_binary()
        if binary is not None:
            with nginx_server(binary, work_dir, body, api_key) as port:
                nginx_result = await measure("nginx", port, script, options)

        print("burst at expiry", file=sys.stderr)
        burst = await run_burst(
            service.port,
            api_key,
            demo,
            session,
            clock,
            options.burst_connections,
            options.burst_per_connection,
        )
    finally:
        probe.stop()
        service.stop()
        await session.stop()
        await http.aclose()
        demo.stop()
    return Results(
        tstray_result,
        fastapi_result,
        fastapi_plain,
        nginx_result,
        lag_idle,
        lag_load,
        burst,
        len(body),
    )


# -- the report


def _row(name: str, result: WrkResult | None, tstray: WrkResult) -> list[str]:
    if result is None:
        return [name, "skipped", "", "", ""]
    return [
        name,
        f"{result.requests_per_s:,.0f}",
        f"{result.p50_ms:.2f}",
        f"{result.p99_ms:.2f}",
        ratio(tstray.requests_per_s, result.requests_per_s),
    ]


def _lag_row(name: str, lag: Lag) -> list[str]:
    figures = (lag.p50_ms, lag.p99_ms, lag.max_ms)
    return [name, *(f"{ms:.2f}" for ms in figures), str(lag.samples)]


def _first_line(command: list[str]) -> str:
    """The first line a ``--version`` style command prints (to either stream)."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return f"{command[0]} not installed"
    return (done.stdout + done.stderr).strip().splitlines()[0]


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


def report(results: Results, options: argparse.Namespace) -> str:
    tstray = results.tstray
    load = markdown_table(
        ["server", "requests/s", "p50 ms", "p99 ms", "tstray / this"],
        [
            _row(
                "tstray LocalTokenService (qasync GUI loop in process)", tstray, tstray
            ),
            _row(
                "FastAPI + uvicorn (uvloop, httptools), same JSON and key check",
                results.fastapi,
                tstray,
            ),
            _row(
                "FastAPI + uvicorn (asyncio, h11: no extras)",
                results.fastapi_plain,
                tstray,
            ),
            _row("nginx static file, 1 worker, same key check", results.nginx, tstray),
        ],
    )
    idle, busy = results.lag_idle, results.lag_load
    lag = markdown_table(
        ["GUI loop lag (10 ms QTimer)", "p50 ms", "p99 ms", "max ms", "ticks"],
        [_lag_row("idle", idle), _lag_row("during tstray's load", busy)],
    )
    burst = results.burst
    requests = options.burst_connections * options.burst_per_connection
    all_fresh = (
        burst.statuses == {"200": requests}
        and burst.min_expires_in is not None
        and burst.min_expires_in >= BURST_MIN_TTL_S
    )
    versus_fastapi = (
        tstray.requests_per_s / results.fastapi.requests_per_s
        if results.fastapi
        else float("nan")
    )
    goals = markdown_table(
        ["goal", "measured", "met"],
        [
            [
                "requests/s >= 3x FastAPI (uvloop, httptools)",
                ratio(tstray.requests_per_s, results.fastapi.requests_per_s)
                if results.fastapi
                else "n/a",
                _yes(versus_fastapi >= 3) if results.fastapi else "n/a",
            ],
            ["p99 < 5 ms", f"{tstray.p99_ms:.2f} ms", _yes(tstray.p99_ms < 5)],
            ["GUI lag p99 < 50 ms", f"{busy.p99_ms:.2f} ms", _yes(busy.p99_ms < 50)],
            [
                f"{requests:,} requests at expiry -> exactly 1 refresh",
                f"{burst.refreshes} refresh(es); {burst.answered:,} answers"
                f" {burst.statuses}, all fresh: {all_fresh}",
                _yes(burst.refreshes == 1 and all_fresh),
            ],
        ],
    )
    return "\n\n".join(
        [
            f"wrk: {options.connections} keep-alive connections,"
            f" {options.threads} threads, {options.duration_s} s each after a"
            f" {options.warmup_s} s warm-up; answer body {results.body_bytes} bytes",
            load,
            lag,
            f"Burst: {options.burst_connections} connections x"
            f" {options.burst_per_connection} pipelined requests of"
            f" /v1/token?min_ttl={BURST_MIN_TTL_S}, sent 1 s before the token"
            f" expires; all answered in {burst.elapsed_s * 1000:.0f} ms",
            goals,
        ]
    )


def machine_notes() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    versions = [f"Python {platform.python_version()}"]
    for package in ("PySide6", "qasync", "fastapi", "uvicorn", "uvloop", "httptools"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    versions.append(_first_line(["wrk", "--version"]))
    versions.append(_first_line(["nginx", "-v"]))
    return (
        f"Machine: {cpu}, {os.cpu_count()} CPUs, {platform.platform()};"
        f" load average at start {load}. " + ", ".join(versions) + "."
    )


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration-s", type=int, default=10)
    parser.add_argument("--warmup-s", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--burst-connections", type=int, default=250)
    parser.add_argument("--burst-per-connection", type=int, default=4)
    parser.add_argument("--skip-fastapi", action="store_true")
    parser.add_argument("--skip-nginx", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    # Like the tray on a headless machine; a real display works as well.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    notes = machine_notes()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory(prefix="tstray-bench-") as folder, loop:
        results = loop.run_until_complete(run_all(options, Path(folder)))

    print(report(results, options))
    print()
    print(notes)
    runs = [
        run
        for run in (
            results.tstray,
            results.fastapi,
            results.fastapi_plain,
            results.nginx,
        )
        if run is not None
    ]
    if not all(run.clean for run in runs):
        print("a run had errors or non-2xx answers; its figures mean little")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
