"""Real processes for the reliability proofs: the demo sign-in service as its
own process, the real tstray app (not ``--demo``) pointed at it, a client
that polls ``/v1/token`` from its own thread, and a sign-in done over plain
HTTP so that many runs need no sign-in window.

The app uses the real profile's keyring service ("tstray") in the test
desktop's throwaway gnome-keyring, so only one app runs at a time and every
user of this module deletes what it stored. Nothing here prints or logs a
token, a code, the client secret or the local API key: failure messages name
states, counts and times only.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.helpers.ports import free_port
from tstray.demo import DEMO_AUDIENCE, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tstray.oauth.tokens import TokenSet, jwt_claims, parse_token_response, utc_now
from tstray.server.api_key import load_or_create_api_key
from tstray.storage import TokenStore

KEYRING_SERVICE = "tstray"
REDIRECT_URI = "http://localhost:31022"
START_TIMEOUT_S = 60.0
_STATE_LINE = re.compile(r"session state: (\w+) -> (\w+)")
SESSION_NOTICES = ("sign_in_needed", "refresh_failing", "recovered")
_NOTICE_LINE = re.compile(r"tstray\.ui\.notifications: notice (\w+): ")


def wait_until(
    condition: Any, timeout_s: float, what: str, interval_s: float = 0.05
) -> Any:
    """Polls ``condition()`` until it returns something truthy; raises
    AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


# -- the demo sign-in service --------------------------------------------------


class DemoProcess:
    """``python -m tstray.demo`` as its own process, with a state folder that
    outlives restarts of the app."""

    def __init__(
        self,
        state_dir: Path,
        *,
        access_lifetime_s: int = 4,
        rotating: bool = False,
    ) -> None:
        self.state_dir = state_dir
        self.access_lifetime_s = access_lifetime_s
        self.rotating = rotating
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "tstray.demo",
            "--port",
            "0",
            "--state-dir",
            str(self.state_dir),
            "--access-lifetime",
            str(self.access_lifetime_s),
        ]
        if self.rotating:
            command.append("--rotating")
        stderr = (self.state_dir / "demo-stderr.log").open("a")
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, f"the demo service printed no URL: {line!r}"
        self.url = match.group(1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def inject(self, fault: str, times: int = 1, **options: float) -> None:
        body = {"fault": fault, "times": times, **options}
        response = httpx.post(f"{self.url}/_demo/faults", json=body, timeout=5)
        assert response.status_code == 200, response.text

    def clear_faults(self) -> None:
        response = httpx.post(f"{self.url}/_demo/faults", json={"clear": True})
        assert response.status_code == 200, response.text

    def stats(self) -> dict[str, int]:
        response = httpx.get(f"{self.url}/_demo/stats", timeout=5)
        assert response.status_code == 200, response.text
        stats: dict[str, int] = response.json()
        return stats

    def sign_in(self, user_name: str = "reliability") -> TokenSet:
        """Signs in the way the window would, over plain HTTP: authorize,
        the sign-in form, consent, then the code exchange."""
        with httpx.Client(base_url=self.url, timeout=10) as web:
            page = web.get(
                "/authorize",
                params={
                    "response_type": "code",
                    "client_id": DEMO_CLIENT_ID,
                    "redirect_uri": REDIRECT_URI,
                    "audience": DEMO_AUDIENCE,
                    "scope": "openid profile offline_access MarketData",
                    "state": "reliability",
                },
            )
            transaction = _transaction_id(page.text)
            consent = web.post(
                "/u/login",
                data={
                    "transaction": transaction,
                    "username": user_name,
                    "password": "demo",
                },
            )
            assert consent.status_code == 200, "the demo refused the sign-in form"
            redirect = web.post(
                "/u/consent",
                data={"transaction": _transaction_id(consent.text), "action": "allow"},
            )
            assert redirect.status_code == 302, "the demo gave no redirect"
            query = parse_qs(urlsplit(redirect.headers["Location"]).query)
            now = utc_now()
            answer = web.post(
                "/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "client_id": DEMO_CLIENT_ID,
                    "client_secret": DEMO_CLIENT_SECRET,
                    "code": query["code"][0],
                    "redirect_uri": REDIRECT_URI,
                },
            )
            assert answer.status_code == 200, "the code exchange failed"
            return parse_token_response(answer.json(), now)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """One refresh done here, outside the app (to make a token stale)."""
        now = utc_now()
        answer = httpx.post(
            f"{self.url}/oauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
                "refresh_token": tokens.refresh_token or "",
            },
            timeout=10,
        )
        assert answer.status_code == 200, "the refresh failed"
        return parse_token_response(answer.json(), now, tokens)


def _transaction_id(page: str) -> str:
    match = re.search(r'name="transaction" value="([^"]+)"', page)
    assert match, "no sign-in transaction on the demo page"
    return match.group(1)


# -- the keyring -----------------------------------------------------------------


def _run_store(action: str, tokens: TokenSet | None = None) -> TokenSet | None:
    async def run() -> TokenSet | None:
        store = TokenStore(KEYRING_SERVICE)
        try:
            if action == "save":
                assert tokens is not None
                await store.save_tokens(tokens)
            elif action == "delete":
                await store.delete_tokens()
            else:
                return await store.load_tokens()
            return None
        finally:
            store.close()

    return asyncio.run(run())


def seed_tokens(tokens: TokenSet) -> None:
    """Stores ``tokens`` where the app looks for them at start."""
    _run_store("save", tokens)


def stored_tokens() -> TokenSet | None:
    return _run_store("load")


def delete_tokens() -> None:
    _run_store("delete")


# -- the app ---------------------------------------------------------------------


class AppProcess:
    """The real ``python -m tstray --config FILE`` with private folders,
    pointed at ``demo_url``."""

    def __init__(self, home: Path, demo_url: str, refresh_margin_s: int = 1) -> None:
        self.home = home
        self.port = free_port()
        self.config_file = home / "config" / "config.toml"
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(
            "[tradestation]\n"
            f'client_id = "{DEMO_CLIENT_ID}"\n'
            f'authorize_url = "{demo_url}/authorize"\n'
            f'token_url = "{demo_url}/oauth/token"\n'
            f'revoke_url = "{demo_url}/oauth/revoke"\n'
            f"refresh_margin_s = {refresh_margin_s}\n"
            "[server]\n"
            f"port = {self.port}\n",
            encoding="utf-8",
        )
        self.api_key = load_or_create_api_key(self.config_file.parent / "api-key")
        self.process: subprocess.Popen[bytes] | None = None
        self.log_file = home / "xdg-state" / "tstray" / "tstray.log"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            XDG_CONFIG_HOME=str(self.home / "xdg-config"),
            XDG_STATE_HOME=str(self.home / "xdg-state"),
            XDG_DATA_HOME=str(self.home / "xdg-data"),
            XDG_RUNTIME_DIR=str(self.home / "runtime"),
            TSTRAY_CLIENT_SECRET=DEMO_CLIENT_SECRET,
        )
        env.pop("TSTRAY_CONFIG", None)
        (self.home / "runtime").mkdir(mode=0o700, exist_ok=True)
        return env

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Starts the app and waits until its token service answers."""
        output = (self.home / "stderr.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tstray", "--config", str(self.config_file)],
            env=self.env,
            stdout=output,
            stderr=output,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "tstray exited at start"
            try:
                httpx.get(f"{self.base_url}/healthz", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("tstray did not start serving")

    def stop(self) -> int:
        """SIGTERM, as a logout would; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def kill(self) -> None:
        """SIGKILL: no chance to save anything."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait()
        self.process = None

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def get(self, path: str, timeout_s: float = 20) -> httpx.Response:
        return httpx.get(
            f"{self.base_url}{path}",
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=timeout_s,
        )

    def status(self) -> dict[str, Any]:
        response = self.get("/v1/status")
        assert response.status_code == 200, response.status_code
        status: dict[str, Any] = response.json()
        return status

    def wait_for_state(self, *states: str, timeout_s: float = 20) -> dict[str, Any]:
        seen: list[str] = []

        def reached() -> dict[str, Any] | None:
            status = self.status()
            if not seen or seen[-1] != status["state"]:
                seen.append(status["state"])
            return status if status["state"] in states else None

        try:
            result: dict[str, Any] = wait_until(reached, timeout_s, f"state {states}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; saw {seen}\n{log_tail(self)}") from None
        return result

    def log_text(self) -> str:
        if not self.log_file.exists():
            return ""
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def transitions(self, log_text: str | None = None) -> list[tuple[str, str]]:
        """Every "session state: a -> b" the app logged, in order."""
        text = self.log_text() if log_text is None else log_text
        return _STATE_LINE.findall(text)

    def notices(self, log_text: str | None = None) -> list[str]:
        """The kind of every notice about the session the app showed, in
        order (a desktop without a tray host adds a "no_tray" notice, which
        is not about the session)."""
        text = self.log_text() if log_text is None else log_text
        return [kind for kind in _NOTICE_LINE.findall(text) if kind in SESSION_NOTICES]


# -- a client polling the token --------------------------------------------------


@dataclass
class TokenAnswers:
    """What a polling client saw.

    Attributes:
        answers: 200 answers received.
        refused: non-200 answers (503 while no valid token is held).
        failed: requests that got no answer (app killed or restarting).
        expired_served: 200 answers whose token's own ``exp`` claim had
            passed when the request was sent (so surely when answered).
        expired_in_transit: 200 answers whose token expired between the
            request and the answer: valid when served, stale on arrival.
        late_expires_at: 200 answers whose ``expires_at`` field lies after
            the token's own ``exp`` claim (the app trusting a longer life).
        valid_times: wall-clock times (epoch s) of answers with a valid token.
    """

    answers: int = 0
    refused: int = 0
    failed: int = 0
    expired_served: int = 0
    expired_in_transit: int = 0
    late_expires_at: int = 0
    valid_times: list[float] = field(default_factory=list)


class TokenPoller:
    """Asks the app for a token again and again from its own thread and
    checks each answer against the wall clock."""

    def __init__(self, app: AppProcess, interval_s: float = 0.05) -> None:
        self.app = app
        self.interval_s = interval_s
        self.result = TokenAnswers()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TokenPoller:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def snapshot(self) -> TokenAnswers:
        with self._lock:
            copy = TokenAnswers(**{**self.result.__dict__})
            copy.valid_times = list(self.result.valid_times)
            return copy

    def valid_count_since(self, moment_s: float) -> int:
        with self._lock:
            return sum(1 for t in self.result.valid_times if t >= moment_s)

    def valid_since(self, moment_s: float) -> float | None:
        with self._lock:
            later = [t for t in self.result.valid_times if t >= moment_s]
        return min(later) if later else None

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                self._ask(client)
                self._stop.wait(self.interval_s)

    def _ask(self, client: httpx.Client) -> None:
        url = f"{self.app.base_url}/v1/token"
        headers = {"Authorization": f"Bearer {self.app.api_key}"}
        sent_s = time.time()
        try:
            response = client.get(url, headers=headers)
        except httpx.HTTPError:
            with self._lock:
                self.result.failed += 1
            return
        received_s = time.time()

        with self._lock:
            if response.status_code != 200:
                self.result.refused += 1
                return
            self.result.answers += 1
            body = response.json()
            exp = jwt_claims(str(body["access_token"])).get("exp")
            expires_at = datetime.fromisoformat(str(body["expires_at"]))
            if not isinstance(exp, int | float):
                raise AssertionError("the served token has no exp claim")
            if exp <= sent_s:
                self.result.expired_served += 1
            elif exp <= received_s:
                self.result.expired_in_transit += 1
            else:
                self.result.valid_times.append(received_s)
            if expires_at > datetime.fromtimestamp(exp, UTC):
                self.result.late_expires_at += 1


def log_tail(app: AppProcess, lines: int = 40) -> str:
    """The end of the app's log, for a failure message (it holds no secret:
    the app redacts them)."""
    return "\n".join(app.log_text().splitlines()[-lines:])


def dump(value: object) -> str:
    return json.dumps(value, indent=1, default=str)


def demo_refresh_generation(refresh_token: str | None) -> tuple[str, int] | None:
    """(chain id, generation) of a demo refresh token, read from its
    unencrypted payload: how many times its chain has rotated. Only the
    demo's tokens can be read so; the values are not secret."""
    if not refresh_token:
        return None
    parts = refresh_token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
        return str(claims["chain_id"]), int(claims["generation"])
    except (ValueError, KeyError, TypeError):
        return None
