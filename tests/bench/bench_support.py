"""Helpers of ``bench_local_api.py``: running ``wrk`` and reading its report,
starting the FastAPI and nginx baselines on loopback, and formatting the table.

Nothing here aims at anything but 127.0.0.1, and nothing prints the API key
or a token: the key reaches ``wrk`` in a Lua script and the baselines in files,
all inside a private temporary folder.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_private(path: Path, data: str | bytes) -> None:
    """Writes a file only its owner can read."""
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(raw)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


# -- wrk


@dataclass
class WrkResult:
    """What one ``wrk --latency`` run reported."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    @property
    def clean(self) -> bool:
        """True when every answer was a 2xx and no socket failed."""
        return self.requests > 0 and self.non_2xx == 0 and self.socket_errors == 0


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(report: str) -> WrkResult:
    """Reads requests/s, p50, p99 and the error counts off wrk's report.

    Raises:
        ValueError: the report lacks a figure (wrk failed).
    """
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", report)
    p50 = re.search(r"^\s+50%\s+([0-9.]+)(us|ms|s|m)\s*$", report, re.M)
    p99 = re.search(r"^\s+99%\s+([0-9.]+)(us|ms|s|m)\s*$", report, re.M)
    total = re.search(r"([0-9]+) requests in", report)
    if not (rate and p50 and p99 and total):
        raise ValueError(f"could not read wrk's report:\n{report}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+([0-9]+)", report)
    errors = re.search(
        r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+),"
        r" timeout ([0-9]+)",
        report,
    )
    return WrkResult(
        requests_per_s=float(rate[1]),
        p50_ms=_ms(p50[1], p50[2]),
        p99_ms=_ms(p99[1], p99[2]),
        requests=int(total[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def write_wrk_script(work_dir: Path, api_key: str) -> Path:
    """A Lua script that adds the key, so it never shows in ``ps``."""
    script = work_dir / "auth.lua"
    write_private(script, f'wrk.headers["Authorization"] = "Bearer {api_key}"\n')
    return script


def run_wrk(
    url: str,
    script: Path,
    *,
    connections: int,
    threads: int,
    duration_s: int,
) -> WrkResult:
    """Runs wrk (blocking) with keep-alive connections and ``--latency``."""
    command = [
        "wrk",
        f"--connections={connections}",
        f"--threads={threads}",
        f"--duration={duration_s}s",
        "--timeout=5s",
        "--latency",
        f"--script={script}",
        url,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration_s + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout)


# -- baselines


def wait_listening(port: int, timeout_s: float = 20.0) -> None:
    """Waits until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on port {port}") from None
            time.sleep(0.05)


def fast_stack_installed() -> bool:
    """Whether uvicorn can run on uvloop with httptools (else a note)."""
    if all(importlib.util.find_spec(name) for name in ("uvloop", "httptools")):
        return True
    print(
        "note: uvloop or httptools is missing, so the faster FastAPI row is"
        " skipped; `pip install '.[bench]'` brings them",
        file=sys.stderr,
    )
    return False


@contextlib.contextmanager
def fastapi_server(work_dir: Path, stack: str) -> Iterator[int]:
    """Runs ``fastapi_app.py`` (``stack`` "fast" or "plain") in its own
    process; yields its port."""
    port = free_port()
    app = str(HERE / "fastapi_app.py")
    process = subprocess.Popen(
        [sys.executable, app, str(port), str(work_dir), stack],
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_listening(port)
        yield port
    finally:
        _stop(process)


NGINX_CONFIG = """\
# Written by tests/bench/bench_local_api.py; serves one JSON file.
{user}daemon off;
master_process on;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    fastcgi_temp_path {work}/nginx-fastcgi;
    uwsgi_temp_path {work}/nginx-uwsgi;
    scgi_temp_path {work}/nginx-scgi;
    keepalive_requests 10000000;
    server {{
        listen 127.0.0.1:{port};
        root {work}/www;
        location = /v1/token {{
            if ($http_authorization != "Bearer {key}") {{ return 401; }}
            default_type application/json;
            add_header Cache-Control no-store;
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    """The nginx program, or None (with the reason printed)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found is None:
        print(
            "note: nginx is not installed, so its row is skipped;"
            " install it with `apt-get install nginx-light` for the ceiling figure",
            file=sys.stderr,
        )
    return found


@contextlib.contextmanager
def nginx_server(
    binary: str, work_dir: Path, body: bytes, api_key: str
) -> Iterator[int]:
    """Runs nginx with a config written to ``work_dir``; yields its port."""
    port = free_port()
    (work_dir / "www" / "v1").mkdir(parents=True, exist_ok=True)
    (work_dir / "www" / "v1" / "token").write_bytes(body)
    config = work_dir / "nginx.conf"
    # Started by root, nginx would run its worker as "nobody", which cannot
    # read the private folder; the worker keeps the caller's user instead.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    text = NGINX_CONFIG.format(user=user, work=work_dir, port=port, key=api_key)
    write_private(config, text)
    process = subprocess.Popen(
        [
            binary,
            "-p",
            str(work_dir),
            "-e",
            str(work_dir / "nginx-error.log"),
            "-c",
            str(config),
        ],
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_listening(port)
        yield port
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


# -- the table


def ratio(numerator: float, denominator: float) -> str:
    if not denominator or math.isnan(denominator) or math.isnan(numerator):
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(header, *rows, strict=True)
    ]

    def line(cells: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
            + " |"
        )

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])
