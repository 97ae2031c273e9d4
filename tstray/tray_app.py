"""The user's side of the app: turns tray clicks, menu choices, notification
clicks and hand-overs from a second start into actions on the services, and
session changes into icon, tooltip and notifications.

Widgets live in ``tstray.ui``; this module only connects them. It never logs
a token and never blocks the event loop: every service call is a task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMessageBox

from tstray.oauth.authorize import SignInCancelledError, SignInFailedError
from tstray.oauth.errors import TokenEndpointError
from tstray.oauth.tokens import utc_now
from tstray.session.state import SessionSnapshot
from tstray.signin.browser import run_browser_sign_in
from tstray.signin.flow import SignInAlreadyOpenError, SignInFlow
from tstray.signin.launcher import SignInWindowError, run_sign_in_window
from tstray.ui.account_actions import AccountActions
from tstray.ui.notifications import Notice, Notifier, SessionNotices
from tstray.ui.reminders import ReminderPolicy
from tstray.ui.store_notices import StoreNotices
from tstray.ui.texts import tr
from tstray.ui.tray import TrayController

if TYPE_CHECKING:
    from tstray.app import Services
    from tstray.ui.status_dialog import StatusDialog

log = logging.getLogger(__name__)


class TrayApp(QObject):
    """Connects the tray, dialogs and notifications to the services.

    Signals:
        snapshot_changed(object): a new ``SessionSnapshot``, delivered on the
            GUI thread.
    """

    snapshot_changed = Signal(object)

    def __init__(self, services: Services, quit_event: asyncio.Event) -> None:
        super().__init__()
        self._services = services
        self._quit_event = quit_event
        self._tasks: set[asyncio.Task[Any]] = set()
        self._problem_boxes: set[QMessageBox] = set()
        self._status_dialog: StatusDialog | None = None
        self._account = AccountActions(
            services,
            self._spawn,
            lambda: self._flow.running or self._browser_flow.running,
            self._show_problem,
            parent=self,
        )

        self._tray = TrayController(utc_now)
        self._notifier = Notifier(self._tray.tray_icon)
        self._notices = SessionNotices(
            self._notifier,
            utc_now,
            parent=self,
            reminders=ReminderPolicy(services.config.notifications),
        )
        self._store_notices = StoreNotices(self._notifier)

        self._tray.sign_in_requested.connect(self.request_sign_in)
        self._tray.browser_sign_in_requested.connect(self.request_browser_sign_in)
        self._tray.copy_token_requested.connect(self.on_copy_token_requested)
        self._tray.status_requested.connect(self.on_status_requested)
        self._tray.sign_out_requested.connect(self.on_sign_out_requested)
        self._tray.settings_requested.connect(self._account.open_settings)
        self._tray.revoke_requested.connect(self._account.confirm_revoke)
        self._account.settings_saved.connect(self.on_account_settings_saved)
        self._account.test_sign_in_requested.connect(self.request_sign_in)
        self._tray.quit_requested.connect(self._quit_event.set)
        self._notifier.sign_in_clicked.connect(self.request_sign_in)
        self.snapshot_changed.connect(self.on_snapshot_changed)

        self._flow = self._make_flow()
        self._browser_flow = self._make_browser_flow()

    def _make_browser_flow(self) -> SignInFlow:
        services = self._services
        return SignInFlow(
            services.config.tradestation, services.token_client, run_browser_sign_in
        )

    def _make_flow(self) -> SignInFlow:
        services = self._services
        profile = services.profile
        return SignInFlow(
            services.config.tradestation,
            services.token_client,
            lambda url, redirect: run_sign_in_window(
                url,
                redirect,
                profile.paths.web_profile_dir,
                f"tstray-{profile.name}",
                title=tr("Sign in to TradeStation (demo)")
                if profile.demo
                else tr("Sign in to TradeStation"),
            ),
        )

    # -- life --------------------------------------------------------------

    def start(self) -> None:
        self._services.session.add_listener(self.snapshot_changed.emit)
        if not self._services.config.has_client_id:
            # First start: nothing works without an API key, so ask at once.
            self._account.open_wizard()
        self._tray.update(self._services.session.snapshot)
        if not self._tray.show():
            log.warning(
                "no system tray is available; the token service runs without an icon"
            )
            self._notifier.notify(
                Notice(
                    "no_tray",
                    tr("tstray is running without an icon"),
                    tr(
                        "This desktop shows no tray icons. Local programs still get "
                        "tokens; use “tstray login” and “tstray "
                        "status” from a terminal."
                    ),
                )
            )
        problems = self._services.config.problems
        if problems:
            # Each problem names the file, the key and what was expected; the
            # default was used, so the app runs on.
            self._notifier.notify(
                Notice(
                    "config_problem",
                    tr("Problem in the settings file"),
                    "\n".join(str(problem) for problem in problems[:3])
                    + (
                        f"\n(and {len(problems) - 3} more in the log)"
                        if len(problems) > 3
                        else ""
                    ),
                )
            )

    def report_server_problem(self, problem: str) -> None:
        """Tells the user once that the local token service could not start."""
        if problem:
            self._notifier.notify(
                Notice("port_busy", tr("Local token service not started"), problem)
            )

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._status_dialog is not None:
            self._status_dialog.close()
        self._tray.hide()
        self._notifier.close()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- session changes ---------------------------------------------------

    def on_snapshot_changed(self, snapshot: SessionSnapshot) -> None:
        self._tray.update(snapshot)
        if self._status_dialog is not None:
            self._status_dialog.update(snapshot)
        self._notices.on_session_changed(snapshot)
        self._store_notices.on_session_changed(snapshot)

    # -- hand-over from a second start -------------------------------------

    def on_instance_command(self, command: str) -> None:
        if command == "sign-in":
            self.request_sign_in()
        elif command == "reload-api-key":
            self._services.reload_api_key()
        else:
            self.on_status_requested()

    # -- actions -----------------------------------------------------------

    def request_sign_in(self) -> None:
        if not self._services.config.has_client_id:
            self._ask_for_api_key()
            return
        if self._flow.running or self._browser_flow.running:
            log.info("a sign-in is already under way")
            return
        self._spawn(self._sign_in())

    def request_browser_sign_in(self) -> None:
        if not self._services.config.has_client_id:
            self._ask_for_api_key()
            return
        if self._flow.running or self._browser_flow.running:
            log.info("a sign-in is already under way")
            return
        self._spawn(self._sign_in(self._browser_flow))

    async def _sign_in(self, flow: SignInFlow | None = None) -> None:
        try:
            tokens = await (flow or self._flow).sign_in()
        except SignInAlreadyOpenError:
            return
        except SignInCancelledError as exc:
            log.info("sign-in declined: %s", exc)
            self._show_problem(tr("Sign-in cancelled"), str(exc))
            return
        except (SignInFailedError, SignInWindowError) as exc:
            log.error("sign-in failed: %s", exc)
            self._show_problem(tr("Sign-in failed"), str(exc))
            return
        except TokenEndpointError as exc:
            log.error("sign-in failed at the token exchange: %s", exc.reason)
            self._show_problem(tr("Sign-in failed"), exc.reason)
            return
        if tokens is not None:
            await self._services.session.signed_in(tokens)

    def _ask_for_api_key(self) -> None:
        self._account.open_wizard()

    def on_account_settings_saved(self) -> None:
        # The flows hold the old settings and token client.
        self._flow = self._make_flow()
        self._browser_flow = self._make_browser_flow()
        if self._status_dialog is not None:
            self._status_dialog.set_environment(self._account.environment())

    def on_copy_token_requested(self) -> None:
        token = self._services.session.snapshot.token_if_valid(utc_now())
        if token is None:
            self._show_problem(
                tr("No token to copy"), tr("There is no valid access token right now.")
            )
            return
        QGuiApplication.clipboard().setText(token)
        log.info("access token copied to the clipboard")

    def on_status_requested(self) -> None:
        if self._status_dialog is None:
            # Imported on first use: the status window and its timeline are
            # memory the idle tray does not need.
            from tstray.ui.status_dialog import StatusDialog

            dialog = StatusDialog(
                utc_now,
                history=self._services.history.events,
                environment=self._account.environment(),
            )
            dialog.sign_in_requested.connect(self.request_sign_in)
            dialog.copy_token_requested.connect(self.on_copy_token_requested)
            dialog.open_log_folder_requested.connect(self.on_open_log_folder_requested)
            self._status_dialog = dialog
        self._status_dialog.update(self._services.session.snapshot)
        self._status_dialog.show()
        self._status_dialog.raise_()
        self._status_dialog.activateWindow()

    def on_open_log_folder_requested(self) -> None:
        folder: Path = self._services.profile.paths.log_dir
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def on_sign_out_requested(self) -> None:
        self._account.sign_out()

    def _show_problem(self, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message)
        box.setModal(False)
        # A parentless box lives only while Python holds a reference to it.
        self._problem_boxes.add(box)
        box.finished.connect(lambda _result: self._problem_boxes.discard(box))
        box.finished.connect(box.deleteLater)
        box.show()
