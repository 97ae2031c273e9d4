"""Where the pieces meet: starts tstray's services and its tray, and stops
them in order.

Start-up order, quickest first, so that the icon shows and the port answers
about as soon as any Qt tray app could (docs/performance.md, "Footprint"):
 1. logging, then the config (its problems are logged and shown);
 2. the Qt application and the single-instance lock; a second start hands its
    request to the first and exits here;
 3. the qasync event loop, exception hooks, SIGTERM/SIGINT handling;
 4. in demo mode, the local demo sign-in service;
 5. the services, which import nothing heavy yet: the keyring store, the local
    API key, the token client (httpx is made on its first request), the
    session, the local token service;
 6. the tray icon and notifications;
 7. the local token service on its own thread; requests that need the
    session wait until step 8 has read it, so a script started at login never
    hears "signed out" from a signed-in tstray;
 8. the session loads the stored tokens (the keyring, on its own thread) and
    starts its refresh loop; then the wake-ups (resume, network back) and, if
    asked, the sign-in window.

Shut-down runs the other way: the token service stops taking requests, the
session finishes or abandons a refresh (saving a rotated token), the HTTP
client and keyring worker close, the lock is released.

This module never logs a secret; ``tstray.logs`` redacts anything that slips.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import qasync
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tstray import __version__
from tstray.cli import Profile
from tstray.config import ApiSettings, Config, load_config
from tstray.i18n import install_translation
from tstray.logs import install_exception_hooks, redactor, setup_logging
from tstray.oauth.client import TokenClient
from tstray.oauth.transport import LazyHttpClient
from tstray.quit_signals import QuitOnSignals
from tstray.server.api_key import load_or_create_api_key
from tstray.server.service import LocalTokenService, PortInUseError
from tstray.session.history import SessionHistory
from tstray.session.lifecycle import Session
from tstray.single_instance import InstanceOwner, run_owner_or_hand_over
from tstray.storage.errors import StoreError
from tstray.storage.process_store import HelperTokenStore
from tstray.tray_app import TrayApp
from tstray.ui.tooltips import install_tooltip_wrapper
from tstray.wakeups import WakeUps

if TYPE_CHECKING:
    from tstray.demo import DemoSignInService

log = logging.getLogger(__name__)


class Services:
    """The app's non-UI services, built in start-up order."""

    def __init__(self, profile: Profile, loop: asyncio.AbstractEventLoop) -> None:
        self.profile = profile
        self.loop = loop
        self.demo: DemoSignInService | None = None
        self.config: Config = profile.config

        if profile.demo:
            # Imported here: the real profile never loads the demo's code.
            from tstray.demo import DemoOptions, DemoSignInService

            self.demo = DemoSignInService(
                profile.paths.data_dir / "demo-service",
                DemoOptions(
                    access_lifetime_s=self.config.demo.access_lifetime_s,
                    rotating=self.config.demo.rotating,
                ),
            )
            self.demo.start()
            settings = self.demo.settings(self.config.tradestation)
            self.config = replace(self.config, tradestation=settings)
            if self.config.api == ApiSettings():
                # Demo tokens never go to TradeStation: the demo service has
                # no API, so the pass-through gets its 404s instead.
                demo_api = f"{self.demo.base_url}/v3"
                self.config = replace(self.config, api=ApiSettings(demo_api, demo_api))
            log.info("demo sign-in service on %s", self.demo.base_url)

        # Each keyring task runs in a short-lived helper process, so the
        # keyring library never lives in the tray (tstray.storage.helper).
        self.store = HelperTokenStore("tstray-demo" if profile.demo else "tstray")
        self.api_key = load_or_create_api_key(profile.paths.api_key_file)
        redactor.add_secret(self.api_key)

        self.http = LazyHttpClient()
        self._client_secret: str | None = None
        self.token_client = TokenClient(
            self.config.tradestation, self.http, self.client_secret
        )
        self.session = Session(
            self.token_client,
            self.store,
            refresh_margin_s=self.config.tradestation.refresh_margin_s,
            remember_secret=redactor.add_secret,
        )
        # The status window's 24-hour timeline; kinds and states only.
        self.history = SessionHistory(profile.paths.data_dir / "session-history.json")
        self.history.load()
        self.session.add_listener(self.history.on_session_changed)
        self.server = LocalTokenService(
            port=self.config.server.port,
            api_key=self.api_key,
            snapshot=lambda: self.session.snapshot,
            ensure_fresh=self.session.ensure_fresh,
            main_loop=loop,
            allowed_origins=self.config.server.allowed_origins,
            upstreams={
                "live": self.config.api.live_url,
                "sim": self.config.api.sim_url,
            },
            session_loaded=False,
        )
        # Listeners run on the GUI loop; publish only hands the snapshot over.
        self.session.add_listener(self.server.publish)

    async def client_secret(self) -> str | None:
        """The client secret: the environment, the demo's, or the keyring."""
        if self._client_secret is not None:
            return self._client_secret
        secret = os.environ.get("TSTRAY_CLIENT_SECRET")
        if not secret and self.demo is not None:
            from tstray.demo import DEMO_CLIENT_SECRET

            secret = DEMO_CLIENT_SECRET
        if not secret and self.config.tradestation.client_id:
            try:
                secret = await self.store.load_client_secret(
                    self.config.tradestation.client_id
                )
            except StoreError as exc:
                log.warning("could not read the client secret: %s", exc)
        redactor.add_secret(secret)
        self._client_secret = secret or None
        return self._client_secret

    def use_config(self, config: Config) -> None:
        """Switches to new settings (after the first-run dialog saved a key)."""
        self.config = config
        self._client_secret = None
        self.token_client = TokenClient(
            config.tradestation, self.http, self.client_secret
        )
        self.session.use_client(self.token_client)

    def reload_config(self) -> None:
        """Reads ``config.toml`` again (the settings window saved it) and
        switches to it; the demo keeps its own key and URLs."""
        config = load_config(self.profile.paths.config_file)
        if self.demo is not None:
            config = replace(
                config, tradestation=self.demo.settings(config.tradestation)
            )
        self.use_config(config)

    def start_server(self) -> str:
        """Starts the local token service; returns a problem in words, or ""."""
        try:
            self.server.start()
        except PortInUseError as exc:
            log.error("local token service not started: %s", exc.reason)
            return exc.reason
        except (OSError, RuntimeError) as exc:
            reason = f"could not listen on 127.0.0.1:{self.config.server.port}: {exc}"
            log.error("local token service not started: %s", reason)
            return reason
        return ""

    def reload_api_key(self) -> None:
        """Takes the key ``tstray api-key --rotate`` just wrote; the old key
        stops working at once."""
        self.api_key = load_or_create_api_key(self.profile.paths.api_key_file)
        redactor.add_secret(self.api_key)
        self.server.set_api_key(self.api_key)
        log.info("local API key replaced")

    async def close(self) -> None:
        self.server.stop()
        await self.session.stop()
        self.history.record_stop()
        await self.http.aclose()
        self.store.close()
        if self.demo is not None:
            self.demo.stop()


async def _run(
    profile: Profile, owner: InstanceOwner, quit_event: asyncio.Event, sign_in: bool
) -> None:
    loop = asyncio.get_running_loop()
    services = Services(profile, loop)
    for problem in services.config.problems:
        log.warning("config: %s", problem)

    tray = TrayApp(services, quit_event)
    owner.command_received.connect(tray.on_instance_command)
    tray.start()
    services.history.record_start(services.session.snapshot)
    tray.report_server_problem(services.start_server())
    try:
        await services.session.start()
    finally:
        services.server.mark_session_loaded()
    wakeups = WakeUps(services.session.wake)
    wakeups.start()
    if sign_in:
        tray.request_sign_in()

    await quit_event.wait()

    log.info("shutting down")
    wakeups.close()
    tray.close()
    await services.close()


def run_app(profile: Profile, *, sign_in_at_start: bool, verbose: bool) -> int:
    """Runs the tray app until Quit; returns the process exit code."""
    setup_logging(profile.paths.log_file, logging.DEBUG if verbose else logging.INFO)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("tstray")
    app.setApplicationDisplayName("tstray")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("tstray")
    # The tray app lives on after its windows close.
    app.setQuitOnLastWindowClosed(False)
    install_translation(profile.config.ui.language)
    install_tooltip_wrapper(app)

    command = "sign-in" if sign_in_at_start else "activate"
    owner = run_owner_or_hand_over(
        profile.paths.runtime_dir / "instance.lock",
        command,
        lambda ms: time.sleep(ms / 1000),
    )
    if owner is None:
        print(
            "tstray is already running; passed the request on to it.", file=sys.stderr
        )
        return 0

    log.info("tstray %s starting (profile %s)", __version__, profile.name)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    install_exception_hooks(loop)
    quit_event = asyncio.Event()
    quitter = QuitOnSignals(quit_event.set)

    # Let Python see signals that arrived before the loop ran.
    QTimer.singleShot(0, lambda: None)
    try:
        with loop:
            loop.run_until_complete(_run(profile, owner, quit_event, sign_in_at_start))
    finally:
        quitter.close()
        owner.release()
        log.info("tstray stopped")
    return 0
