"""Measuring a running program from outside, the way ``top`` would: its
process tree, resident memory, CPU time and loaded libraries from ``/proc``,
and whether its tray icon is embedded in the test desktop's tray host.

Shared by ``tests/integration/test_footprint.py`` and
``tests/bench/bench_footprint.py``. Linux only. It also starts ``tstray
--demo`` as its own process with private folders and ports and signs it in
through the real sign-in window over DevTools. Nothing here talks to any
address but 127.0.0.1, and nothing prints a token.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.devtools import click, fill_and_click
from tests.helpers.ports import free_port

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
_POLL_S = 0.05


# --- /proc -----------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces and parentheses; it ends at the last ")".
    return text[text.rindex(")") + 2 :].split()


def tree_pids(root_pid: int) -> list[int]:
    """``root_pid`` and all its living descendants (zombies left out)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = _stat_fields(int(entry))
        except (OSError, ValueError):
            continue  # gone meanwhile
        if fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))

    found: list[int] = []
    pending = [root_pid]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


@dataclass(frozen=True)
class Memory:
    """Resident memory of some processes, in KiB (PSS shares pages fairly)."""

    pss_kb: int
    rss_kb: int
    processes: int

    @property
    def pss_mb(self) -> float:
        return self.pss_kb / 1024

    @property
    def rss_mb(self) -> float:
        return self.rss_kb / 1024


def tree_memory(root_pid: int) -> Memory:
    """PSS and RSS summed over the process tree of ``root_pid``."""
    pss = rss = count = 0
    for pid in tree_pids(root_pid):
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        pss += int(re.search(r"^Pss:\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
        rss += int(re.search(r"^Rss:\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
        count += 1
    return Memory(pss, rss, count)


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU time of ``pids`` (utime + stime), in seconds."""
    ticks = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        # utime and stime are stat fields 14 and 15; fields[0] is field 3.
        ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS_PER_S


def mapped_files(pid: int) -> set[str]:
    """The files mapped into ``pid``'s memory (its loaded libraries)."""
    files = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith("/"):
            files.add(parts[5])
    return files


# --- the tray host ---------------------------------------------------------


def _xwininfo(*args: str) -> str:
    return subprocess.run(
        ["xwininfo", *args], capture_output=True, text=True, check=False
    ).stdout


def tray_panel_id() -> str:
    """The window id of trayer's panel, which holds the embedded icons."""
    match = re.search(
        r"^\s*(0x[0-9a-f]+) \"panel\": \(\"panel\" \"trayer\"\)",
        _xwininfo("-root", "-tree"),
        re.M,
    )
    if match is None:
        raise RuntimeError("no trayer panel on this display")
    return match.group(1)


def tray_icon_count(panel_id: str) -> int:
    """How many tray icons are embedded in the panel right now.

    trayer wraps each embedded icon window in a window of its own, so an
    icon is a window two levels below the panel.
    """
    indents = [
        len(match.group(1))
        for match in re.finditer(
            r"^(\s+)0x[0-9a-f]+", _xwininfo("-tree", "-id", panel_id), re.M
        )
    ]
    if not indents:
        return 0
    top = min(indents)
    return sum(1 for indent in indents if indent > top)


def wait_for_tray_icons(panel_id: str, count: int, timeout_s: float) -> float:
    """Waits until exactly ``count`` icons are embedded; returns when (monotonic)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if tray_icon_count(panel_id) == count:
            return time.monotonic()
        time.sleep(_POLL_S)
    raise TimeoutError(f"tray did not reach {count} icons in {timeout_s} s")


# --- tstray --demo as a process ------------------------------------------


def healthz_answers(port: int) -> bool:
    """Whether the local token service answers ``/healthz`` at all (it says
    503 until a token is valid; any answer means it is serving)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status in (200, 503)
    except OSError:
        return False
    finally:
        connection.close()


class SignInServiceProcess:
    """The demo sign-in service as its own process (``python -m tstray.demo``),
    standing in for TradeStation so that tstray can run its real profile."""

    def __init__(self, access_lifetime_s: int = 1200) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tstray.demo",
                "--port",
                "0",
                "--access-lifetime",
                str(access_lifetime_s),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if match is None:
            self.stop()
            raise RuntimeError(f"the demo sign-in service did not start: {line!r}")
        self.base_url = match.group(1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class DemoTstray:
    """One tstray process with its own folders, port and keyring entries,
    inside the test desktop: ``tstray --demo`` (the sign-in service runs
    inside the app), or, given ``sign_in_service``, the real profile signing
    in at that separate service."""

    def __init__(
        self,
        home: Path,
        command: Sequence[str] = (sys.executable, "-m", "tstray"),
        access_lifetime_s: int = 1200,
        sign_in_service: SignInServiceProcess | None = None,
    ) -> None:
        self.home = home
        self.command = list(command)
        self.port = free_port()
        self.debug_port = free_port()
        self.config_file = home / "config" / "config.toml"
        self.process: subprocess.Popen[bytes] | None = None
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        self.profile_args = ["--config", str(self.config_file)]
        self.extra_env: dict[str, str] = {}

        # 1200 s is TradeStation's own access-token lifetime: no refresh falls
        # inside a ten-minute idle measurement.
        config = f"[server]\nport = {self.port}\n"
        if sign_in_service is None:
            self.profile_args.insert(0, "--demo")
            config += f"[demo]\naccess_lifetime_s = {access_lifetime_s}\n"
        else:
            from tstray.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

            url = sign_in_service.base_url
            config += (
                f'[tradestation]\nclient_id = "{DEMO_CLIENT_ID}"\n'
                f'authorize_url = "{url}/authorize"\n'
                f'token_url = "{url}/oauth/token"\n'
                f'revoke_url = "{url}/oauth/revoke"\n'
            )
            self.extra_env["TSTRAY_CLIENT_SECRET"] = DEMO_CLIENT_SECRET
        self.config_file.write_text(config, encoding="utf-8")

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            XDG_CONFIG_HOME=str(self.home / "xdg-config"),
            XDG_STATE_HOME=str(self.home / "xdg-state"),
            XDG_DATA_HOME=str(self.home / "xdg-data"),
            XDG_CACHE_HOME=str(self.home / "xdg-cache"),
            XDG_RUNTIME_DIR=str(self.home / "runtime"),
            QT_QPA_PLATFORM="xcb",
            # The sign-in window's child process inherits these: tests only.
            QTWEBENGINE_DISABLE_SANDBOX="1",
            QTWEBENGINE_REMOTE_DEBUGGING=f"127.0.0.1:{self.debug_port}",
            **self.extra_env,
        )
        (self.home / "runtime").mkdir(mode=0o700, exist_ok=True)
        return env

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def run(
        self, *args: str, timeout_s: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Runs a ``tstray --demo`` command (token, login, ...) to its end."""
        return subprocess.run(
            [*self.command, *self.profile_args, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )

    def start(self) -> None:
        """Starts the app; returns at once (see :meth:`wait_serving`)."""
        log = (self.home / "stderr.log").open("ab")
        self.process = subprocess.Popen(
            [*self.command, *self.profile_args],
            env=self.env,
            stdout=log,
            stderr=log,
        )

    def wait_serving(self, timeout_s: float = 60) -> float:
        """Waits until ``/healthz`` answers; returns when (monotonic)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("tstray exited: " + self.stderr())
            if healthz_answers(self.port):
                return time.monotonic()
            time.sleep(_POLL_S)
        raise TimeoutError("tstray did not start serving: " + self.stderr())

    def open_sign_in_window(self, timeout_s: float = 60) -> None:
        """Asks the running app to sign in and waits for the form to show."""
        handed_over = self.run("login")
        assert handed_over.returncode == 0, handed_over.stderr
        asyncio.run(self._wait_for_form(timeout_s))

    async def _wait_for_form(self, timeout_s: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(trust_env=False, timeout=2) as client:
            while time.monotonic() < deadline:
                try:
                    targets = (
                        await client.get(f"http://127.0.0.1:{self.debug_port}/json")
                    ).json()
                except (httpx.HTTPError, ValueError):
                    targets = []
                if any("/authorize" in t.get("url", "") for t in targets):
                    return
                await asyncio.sleep(0.1)
        raise TimeoutError("the sign-in window did not show the form")

    def finish_sign_in(self, timeout_s: float = 60) -> None:
        """Signs in on the open window as a person would: type, press, allow."""

        async def drive() -> None:
            await fill_and_click(
                self.debug_port,
                {"#username": "trader", "#password": "demo"},
                "#sign-in",
                url_contains="/authorize",
                timeout_s=timeout_s,
            )
            await click(self.debug_port, "#allow", url_contains="/u/", timeout_s=30)

        asyncio.run(drive())

    def wait_signed_in(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = self.run("status", "--json")
            if status.returncode == 0 and '"valid"' in status.stdout:
                return
            time.sleep(0.3)
        raise TimeoutError("tstray did not reach the valid state")

    def wait_alone(self, timeout_s: float = 30) -> None:
        """Waits until the app has no child processes left."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if tree_pids(self.pid) == [self.pid]:
                return
            time.sleep(0.1)
        raise TimeoutError(f"child processes remain: {tree_pids(self.pid)}")

    def stop(self) -> int:
        """SIGTERM, then waits for the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.process = None

    def stderr(self) -> str:
        path = self.home / "stderr.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""
