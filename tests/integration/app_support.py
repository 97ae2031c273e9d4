"""The real app as a process, with what the app-level tests of issue 3 need
beyond tests/reliability/support.py: its own environment (a dead D-Bus, a
keyring backend with a fault, another X screen), a second start, a sign-in
through the real window, a private gnome-keyring that can be locked, and a
look at every file the app wrote.

Nothing here prints or logs a token, a code or the local API key.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from jeepney import DBusAddress, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

from tests.helpers.devtools import click, fill_and_click
from tests.helpers.ports import free_port
from tests.reliability.support import AppProcess, wait_until
from tstray.oauth.tokens import TokenSet, jwt_claims
from tstray.session.lifecycle import MIN_ON_DEMAND_INTERVAL_S

REPO = Path(__file__).resolve().parents[2]
_NOTICE_LINE = re.compile(r"tstray\.ui\.notifications: notice (\w+): ")
FAKE_BACKENDS = "tests.helpers.fake_keyring_backends"


class App(AppProcess):
    """``AppProcess`` with a private HOME, extra environment and a sign-in
    window that a test can drive over DevTools."""

    def __init__(
        self,
        home: Path,
        demo_url: str,
        *,
        env: dict[str, str] | None = None,
        refresh_margin_s: int = 1,
    ) -> None:
        super().__init__(home, demo_url, refresh_margin_s=refresh_margin_s)
        self.extra_env = dict(env or {})
        self.debug_port = free_port()

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        (self.home / "home").mkdir(exist_ok=True)
        env.update(
            HOME=str(self.home / "home"),
            # The fake keyring backends live in this repository's tests.
            PYTHONPATH=str(REPO),
            # The sign-in window's child process inherits these: tests only.
            QTWEBENGINE_DISABLE_SANDBOX="1",
            QTWEBENGINE_REMOTE_DEBUGGING=f"127.0.0.1:{self.debug_port}",
        )
        env.update(self.extra_env)
        return env

    def second_start(
        self, *args: str, timeout_s: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Runs ``tstray`` again with the same profile and environment."""
        return subprocess.run(
            [sys.executable, "-m", "tstray", "--config", str(self.config_file), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )

    def sign_in_through_the_window(self, user_name: str = "trader") -> None:
        """Asks the running app to sign in (a second start does it, as a user
        would with ``tstray login``) and fills the real window."""
        handed_over = self.second_start("login")
        assert handed_over.returncode == 0, handed_over.stderr

        async def drive() -> None:
            await fill_and_click(
                self.debug_port,
                {"#username": user_name, "#password": "demo"},
                "#sign-in",
                url_contains="/authorize",
                timeout_s=60,
            )
            await click(self.debug_port, "#allow", url_contains="/u/", timeout_s=30)

        asyncio.run(drive())

    def token(self, min_ttl_s: float = 0) -> str | None:
        response = self.get(f"/v1/token?min_ttl={min_ttl_s:g}")
        if response.status_code != 200:
            return None
        return str(response.json()["access_token"])

    def wait_until_a_refresh_may_be_asked(self) -> None:
        """Waits until a client's ``min_ttl`` may start a refresh: the token is
        over a second old, and on-demand refreshes are not being held back
        (the session allows one per ``MIN_ON_DEMAND_INTERVAL_S``)."""
        ready_at = time.time()
        token = self.token()
        issued_at = jwt_claims(token).get("iat") if token else None
        if isinstance(issued_at, int | float):
            ready_at = max(ready_at, issued_at + 1.5)
        last = self.status().get("last_refresh_at")
        if last:
            last_s = datetime.fromisoformat(str(last)).timestamp()
            # The status shows whole seconds: allow for the part cut off.
            ready_at = max(ready_at, last_s + MIN_ON_DEMAND_INTERVAL_S + 1.1)
        wait_until(lambda: time.time() >= ready_at, 30, "a refresh to be allowed")

    def ask_for_refresh(self, lifetime_s: float, timeout_s: float = 40) -> None:
        """Asks for a token with nearly a whole lifetime left, which makes
        the session refresh now (the answer itself does not matter)."""
        self.get(f"/v1/token?min_ttl={lifetime_s - 1:g}", timeout_s=timeout_s)

    def refreshed_token(self, lifetime_s: float) -> str:
        """Makes the app refresh now; returns the token it then serves."""
        self.wait_until_a_refresh_may_be_asked()
        before = self.token()
        self.ask_for_refresh(lifetime_s)
        after = self.token()
        assert after is not None and after != before, self.status()
        return after

    def notices(self, log_text: str | None = None) -> list[str]:
        """The kind of every notice the app showed (the Notifier logs each),
        whatever it was about."""
        text = self.log_text() if log_text is None else log_text
        return _NOTICE_LINE.findall(text)

    def count_log(self, text: str) -> int:
        return self.log_text().count(text)


# -- what the app left on disk ------------------------------------------------------


def files_under(root: Path) -> list[str]:
    """Every file below ``root``, as paths relative to it."""
    return sorted(
        str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()
    )


# What tstray may keep in files (tstray.paths): config and API key, logs, the
# sign-in window's web profile, and the single-instance lock and socket.
_ALLOWED_PREFIXES = (
    "config/config.toml",
    "config/api-key",
    "xdg-state/tstray/tstray.log",
    "xdg-data/tstray/web-profile/",
    "runtime/tstray/",
    # The status window's timeline: times and event kinds only.
    "xdg-data/tstray/session-history",
    "stderr.log",  # the test's own capture of the app's output
)


def unexpected_files(root: Path) -> list[str]:
    return [f for f in files_under(root) if not f.startswith(_ALLOWED_PREFIXES)]


def files_holding(root: Path, secrets: Iterable[str]) -> list[str]:
    """Files below ``root`` whose bytes contain one of ``secrets`` (names
    only: the secrets themselves are never shown)."""
    needles = [s.encode() for s in secrets if s]
    found = []
    for name in files_under(root):
        try:
            data = (root / name).read_bytes()
        except OSError:
            continue
        if any(needle in data for needle in needles):
            found.append(name)
    return found


# -- a gnome-keyring of our own -----------------------------------------------------

_SECRETS = "org.freedesktop.secrets"
_SECRETS_PATH = "/org/freedesktop/secrets"
_PASSWORD = "private-keyring"


class PrivateKeyring:
    """A D-Bus daemon with an unlocked gnome-keyring on it, apart from the test
    desktop's, so that locking it disturbs no other test.

    Its bus has no X screen, so when the keyring is locked its unlock prompt
    cannot be shown and every call is refused at once (``KeyringLocked``),
    as on a desktop without a prompter. With a prompter on screen a call
    waits for the user instead; that is the hung keyring's case.
    """

    def __init__(self, workdir: Path) -> None:
        for tool in ("dbus-daemon", "gnome-keyring-daemon"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is not installed")
        workdir.mkdir(parents=True, exist_ok=True)
        screenless = {
            name: value
            for name, value in os.environ.items()
            if name not in ("DISPLAY", "WAYLAND_DISPLAY")
        }
        self._bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=screenless,
        )
        assert self._bus.stdout is not None
        self.address = self._bus.stdout.readline().strip()
        env = dict(
            screenless,
            DBUS_SESSION_BUS_ADDRESS=self.address,
            XDG_DATA_HOME=str(workdir / "data"),
            XDG_RUNTIME_DIR=str(workdir),
            HOME=str(workdir),
        )
        self._daemon = subprocess.Popen(
            [
                "gnome-keyring-daemon",
                "--foreground",
                "--unlock",
                "--components=secrets",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        assert self._daemon.stdin is not None
        self._daemon.stdin.write(_PASSWORD)
        self._daemon.stdin.close()
        self._connection = open_dbus_connection(bus=self.address)
        wait_until(
            lambda: self._call(message_bus.NameHasOwner(_SECRETS))[0],
            20,
            "the private keyring to start",
        )
        service = self._address(_SECRETS_PATH, "org.freedesktop.Secret.Service")
        (self.collection,) = self._call(
            new_method_call(service, "ReadAlias", "s", ("default",))
        )

    def _address(self, path: str, interface: str) -> DBusAddress:
        return DBusAddress(path, _SECRETS, interface)

    def _call(self, message: object) -> tuple[object, ...]:
        reply = self._connection.send_and_get_reply(message, timeout=10)
        body: tuple[object, ...] = reply.body
        return body

    def lock(self) -> None:
        service = self._address(_SECRETS_PATH, "org.freedesktop.Secret.Service")
        self._call(new_method_call(service, "Lock", "ao", ([self.collection],)))
        assert self.is_locked()

    def unlock(self) -> None:
        """Unlocks with the password, as the desktop's unlock prompt would."""
        service = self._address(_SECRETS_PATH, "org.freedesktop.Secret.Service")
        _output, session = self._call(
            new_method_call(service, "OpenSession", "sv", ("plain", ("s", "")))
        )
        guilt_ridden = self._address(
            _SECRETS_PATH, "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"
        )
        secret = (session, b"", _PASSWORD.encode(), "text/plain")
        self._call(
            new_method_call(
                guilt_ridden,
                "UnlockWithMasterPassword",
                "o(oayays)",
                (self.collection, secret),
            )
        )
        assert not self.is_locked()

    def is_locked(self) -> bool:
        properties = self._address(
            str(self.collection), "org.freedesktop.DBus.Properties"
        )
        ((_signature, locked),) = self._call(
            new_method_call(
                properties, "Get", "ss", ("org.freedesktop.Secret.Collection", "Locked")
            )
        )
        return bool(locked)

    def close(self) -> None:
        self._connection.close()
        for process in (self._daemon, self._bus):
            process.terminate()
            process.wait(timeout=10)


# -- the keyring, from another process ----------------------------------------------

_STORE_SCRIPT = """
import asyncio, json, sys
from tstray.storage import TokenStore
from tstray.storage.codec import decode_tokens, encode_tokens

async def main():
    action, service = sys.argv[1], sys.argv[2]
    store = TokenStore(service)
    try:
        if action == "save":
            await store.save_tokens(decode_tokens(sys.stdin.read()))
        elif action == "load":
            tokens = await store.load_tokens()
            sys.stdout.write(json.dumps(encode_tokens(tokens) if tokens else None))
        elif action == "delete":
            await store.delete_tokens()
    finally:
        store.close()

asyncio.run(main())
"""


def store_in(
    bus_address: str, action: str, tokens: TokenSet | None = None
) -> TokenSet | None:
    """Saves, loads or deletes the real profile's tokens in the keyring on
    ``bus_address``, from a process of its own (this one's keyring library
    is bound to the test desktop's bus)."""
    from tstray.storage.codec import decode_tokens, encode_tokens

    result = subprocess.run(
        [sys.executable, "-c", _STORE_SCRIPT, action, "tstray"],
        input=encode_tokens(tokens) if tokens else "",
        capture_output=True,
        text=True,
        env=dict(
            os.environ, DBUS_SESSION_BUS_ADDRESS=bus_address, PYTHONPATH=str(REPO)
        ),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    if action != "load":
        return None
    stored = json.loads(result.stdout)
    return None if stored is None else decode_tokens(stored)
