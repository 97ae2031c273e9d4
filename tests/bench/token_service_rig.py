"""The tstray side of ``bench_local_api.py``: a clock the bench can move, an
in-memory token store, the GUI-loop lag probe, the demo sign-in walk and the
expiry burst. Talks to 127.0.0.1 only; never prints the API key or a token.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
from PySide6.QtCore import Qt, QTimer

from tests.bench.bench_support import HERE, percentile
from tstray.config import TradeStationSettings
from tstray.demo import DEMO_CLIENT_ID, DemoSignInService
from tstray.oauth.tokens import TokenSet
from tstray.session.lifecycle import Session

_T = TypeVar("_T")
BURST_MIN_TTL_S = 60
LAG_TIMER_MS = 10


class ShiftedClock:
    """Wall-clock time plus an offset, shared by the demo service, the
    session and the token service, so the bench can jump to a token's expiry."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def epoch_s(self) -> float:
        return time.time() + self.offset_s

    def utc(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset_s)


class MemoryStore:
    """The session's token store, in memory: the keyring is not measured."""

    def __init__(self) -> None:
        self.tokens: TokenSet | None = None

    async def load_tokens(self) -> TokenSet | None:
        return self.tokens

    async def save_tokens(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    async def delete_tokens(self) -> None:
        self.tokens = None


class LagProbe:
    """A repeating ``QTimer`` on the GUI thread; each tick records how much
    later than ``interval_ms`` after the previous one it ran."""

    def __init__(self, interval_ms: int = LAG_TIMER_MS) -> None:
        self._interval_ms = interval_ms
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.on_timer_timeout)
        self._last = 0.0
        self.lateness_ms: list[float] = []

    def start(self) -> None:
        self.lateness_ms = []
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        return self.lateness_ms

    def on_timer_timeout(self) -> None:
        now = time.perf_counter()
        gap_ms = (now - self._last) * 1000
        self._last = now
        self.lateness_ms.append(max(0.0, gap_ms - self._interval_ms))


@dataclass
class Lag:
    p50_ms: float
    p99_ms: float
    max_ms: float
    samples: int

    @classmethod
    def of(cls, lateness_ms: list[float]) -> Lag:
        return cls(
            percentile(lateness_ms, 0.50),
            percentile(lateness_ms, 0.99),
            max(lateness_ms, default=float("nan")),
            len(lateness_ms),
        )


@dataclass
class Burst:
    refreshes: int
    answered: int
    statuses: dict[str, int]
    min_expires_in: int | None
    elapsed_s: float


async def in_thread(function: Callable[[], _T]) -> _T:
    """Runs a blocking call off the GUI thread, so the GUI loop keeps going."""
    return await asyncio.get_running_loop().run_in_executor(None, function)


# -- the tstray side: demo sign-in service, session, token service


async def demo_sign_in(
    http: httpx.AsyncClient, demo: DemoSignInService, settings: TradeStationSettings
) -> str:
    """Walks the demo's authorize, login and consent pages; returns the code."""
    params = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": settings.redirect_uri,
        "audience": settings.audience,
        "scope": " ".join(settings.scopes),
        "state": secrets.token_urlsafe(8),
    }
    page = await http.get(f"{demo.base_url}/authorize", params=params)
    found = re.search(r'name="transaction" value="([^"]+)"', page.text)
    if found is None:
        raise RuntimeError(f"the demo authorize page failed: HTTP {page.status_code}")
    transaction = found[1]
    await http.post(
        f"{demo.base_url}/u/login",
        data={"transaction": transaction, "username": "Bench", "password": "demo"},
    )
    answer = await http.post(
        f"{demo.base_url}/u/consent",
        data={"transaction": transaction, "action": "allow"},
    )
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    return query["code"][0]


async def fetch_token_body(port: int, api_key: str) -> bytes:
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            f"http://127.0.0.1:{port}/v1/token",
            headers={"Authorization": f"Bearer {api_key}"},
        )
    if answer.status_code != 200:
        raise RuntimeError(f"tstray answered HTTP {answer.status_code}")
    return answer.content


async def run_burst(
    port: int,
    api_key: str,
    demo: DemoSignInService,
    session: Session,
    clock: ShiftedClock,
    connections: int,
    per_connection: int,
) -> Burst:
    """(e): many requests one second before expiry; counts demo refreshes."""
    client = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "burst_client.py"),
            str(port),
            str(connections),
            str(per_connection),
            str(BURST_MIN_TTL_S),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdin is not None and client.stdout is not None
    stdin, stdout = client.stdin, client.stdout
    try:
        stdin.write(api_key + "\n")
        stdin.flush()
        ready = await in_thread(stdout.readline)
        if ready.strip() != "ready":
            raise RuntimeError("the burst client did not connect")

        before = demo.stats["refreshes_ok"]
        expires_at = session.snapshot.expires_at
        assert expires_at is not None
        clock.offset_s += (expires_at - clock.utc()).total_seconds() - 1.0
        stdin.write("go\n")
        stdin.flush()
        report: dict[str, Any] = json.loads(await in_thread(stdout.readline))
        # A late second refresh (the session's own loop, say) counts too.
        await asyncio.sleep(1.0)
        refreshes = demo.stats["refreshes_ok"] - before
    finally:
        stdin.close()
        await in_thread(functools.partial(client.wait, 30))
    return Burst(
        refreshes=refreshes,
        answered=int(report["answered"]),
        statuses=report["statuses"],
        min_expires_in=report["min_expires_in"],
        elapsed_s=float(report["elapsed_s"]),
    )
