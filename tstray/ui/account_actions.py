"""What the tray's account items do: the first-run wizard, the settings
window, "Sign out" (which also clears the sign-in window's cookies) and
"Revoke at TradeStation…" (which asks first).

Saving goes to ``config.toml`` (comments and order kept), the client secret
to the keyring, start at login to the platform's autostart entry; then the
app switches to the new settings without a restart where it can and says
which ones need one. This module never logs or shows a secret, never
imports QtWebEngine (the sign-in window's profile folder is deleted as plain
files, only while no sign-in window runs), and never blocks the event loop.

The windows' modules and the autostart code are imported when first used:
most days the tray never opens them, and importing them at start-up would
cost every start its time and memory.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from tstray.oauth.errors import TokenEndpointError
from tstray.paths import app_paths
from tstray.storage.errors import StoreError
from tstray.ui.texts import tr

if TYPE_CHECKING:
    from tstray.app import Services
    from tstray.autostart import AutostartEntry
    from tstray.ui.settings_dialog import SettingsDialog, SettingsValues
    from tstray.ui.setup_wizard import SetupWizard

log = logging.getLogger(__name__)


def _restart_words() -> dict[str, str]:
    """The settings the running app cannot switch to on the fly, in words."""
    return {
        "port": tr("the local port"),
        "refresh_margin_s": tr("the refresh margin"),
        "notifications": tr("notifications on or off"),
    }


def clear_web_profile(folder: Path) -> bool:
    """Deletes the sign-in window's web profile (cookies, site storage,
    cache), so the next sign-in starts fresh. Call only while no sign-in
    window runs. Returns whether there was anything to delete.

    Raises:
        OSError: the folder could not be deleted.
    """
    if folder.is_symlink():
        # Never follow a link out of tstray's own folder.
        folder.unlink()
        return True
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True


def environment_words(demo: bool, environment: str) -> str:
    """ "Live", "Simulator" or "Demo", for the status window."""
    if demo:
        return tr("Demo (tstray's own sign-in service, no real account)")
    if environment == "sim":
        return tr("Simulator (sim-api.tradestation.com)")
    return tr("Live (api.tradestation.com)")


class AccountActions(QObject):
    """Runs the wizard, the settings window, sign-out and revoke.

    Args:
        services: the app's services.
        spawn: runs a coroutine as a task the app owns.
        sign_in_running: tells whether a sign-in window is open now.
        show_problem: shows a warning (title, message) to the user.

    Signals:
        settings_saved: new settings are in use (sign-in flows must be
            rebuilt, the status window's environment redrawn).
        test_sign_in_requested: the wizard finished and saved; open the
            sign-in window to test the values.
    """

    settings_saved = Signal()
    test_sign_in_requested = Signal()

    def __init__(
        self,
        services: Services,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        sign_in_running: Callable[[], bool],
        show_problem: Callable[[str, str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._spawn = spawn
        self._sign_in_running = sign_in_running
        self._show_problem = show_problem
        self._wizard: SetupWizard | None = None
        self._settings: SettingsDialog | None = None
        # Parentless boxes live only while Python holds them.
        self._open_boxes: set[QMessageBox] = set()
        self._autostart_entry: AutostartEntry | None = None

    def environment(self) -> str:
        services = self._services
        return environment_words(
            services.profile.demo, services.config.tradestation.environment
        )

    def current_values(self) -> SettingsValues:
        from tstray.ui.settings_dialog import values_from_config

        return values_from_config(self._services.config, self._autostart.is_enabled())

    @property
    def _autostart(self) -> AutostartEntry:
        if self._autostart_entry is None:
            from tstray.autostart import autostart_entry

            self._autostart_entry = autostart_entry(self._services.profile.demo)
        return self._autostart_entry

    def _launch_command(self) -> list[str]:
        """The command the autostart entry runs: this tstray, as it runs now."""
        from tstray.autostart import launch_command

        profile = self._services.profile
        default_config = app_paths(profile.name).config_file
        explicit = profile.paths.config_file != default_config
        return launch_command(
            profile.demo, profile.paths.config_file if explicit else None
        )

    # -- first run and settings --------------------------------------------

    def open_wizard(self) -> None:
        if _raise_if_open(self._wizard) or _raise_if_open(self._settings):
            return
        from tstray.ui.setup_wizard import SetupWizard

        wizard = SetupWizard(self.current_values())
        wizard.setup_completed.connect(self.on_wizard_setup_completed)
        wizard.finished.connect(self.on_wizard_finished)
        self._wizard = wizard
        wizard.show()
        wizard.raise_()

    def on_wizard_finished(self, _result: int) -> None:
        if self._wizard is not None:
            self._wizard.deleteLater()
        self._wizard = None

    def on_wizard_setup_completed(self, values: SettingsValues) -> None:
        old = self.current_values()
        self._spawn(self._save(values, old, test_sign_in=True))

    def open_settings(self) -> None:
        if _raise_if_open(self._settings) or _raise_if_open(self._wizard):
            return
        from tstray.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.current_values(), demo=self._services.profile.demo)
        dialog.finished.connect(self.on_settings_finished)
        self._settings = dialog
        dialog.show()
        dialog.raise_()

    def on_settings_finished(self, result: int) -> None:
        dialog, self._settings = self._settings, None
        if dialog is None:
            return
        dialog.deleteLater()
        if result == QDialog.DialogCode.Accepted:
            self._spawn(self._save(dialog.values(), dialog.initial_values))

    async def _save(
        self, new: SettingsValues, old: SettingsValues, *, test_sign_in: bool = False
    ) -> None:
        from tstray.autostart import set_start_at_login
        from tstray.ui.settings_dialog import write_settings

        services = self._services
        config_file = services.profile.paths.config_file
        try:
            written = write_settings(config_file, new, old)
        except OSError as exc:
            self._show_problem(
                tr("Could not save the settings"), f"{config_file}: {exc}"
            )
            return

        if new.client_secret:
            try:
                await services.store.save_client_secret(
                    new.client_id, new.client_secret
                )
            except StoreError as exc:
                self._show_problem(tr("Could not save the client secret"), str(exc))
                return

        if new.start_at_login != old.start_at_login:
            try:
                set_start_at_login(
                    self._autostart, new.start_at_login, self._launch_command()
                )
            except OSError as exc:
                self._show_problem(tr("Could not change start at login"), str(exc))

        services.reload_config()
        self.settings_saved.emit()

        restart_words = _restart_words()
        later = [restart_words[name] for name in written if name in restart_words]
        if later:
            self._show_info(
                tr("Some settings wait for a restart"),
                tr("These take effect after tstray restarts: {settings}.").format(
                    settings=", ".join(later)
                ),
            )
        if test_sign_in:
            self.test_sign_in_requested.emit()

    # -- sign out and revoke -------------------------------------------------

    def sign_out(self) -> None:
        self._spawn(self._sign_out())

    async def _sign_out(self) -> None:
        await self._services.session.sign_out()
        self._clear_cookies()

    def _clear_cookies(self) -> None:
        folder = self._services.profile.paths.web_profile_dir
        if self._sign_in_running():
            # The window's browser holds the profile open; deleting it under
            # a running Chromium would corrupt it, not clear it.
            log.info("a sign-in window is open; its cookies are kept")
            return
        try:
            if clear_web_profile(folder):
                log.info("sign-in window cookies cleared")
        except OSError as exc:
            log.warning("could not clear the sign-in window's cookies: %s", exc)

    def confirm_revoke(self) -> QMessageBox:
        """Asks before revoking; returns the (non-modal) question box."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            tr("Revoke at TradeStation?"),
            tr(
                "This revokes every refresh token of your API key at TradeStation: "
                "on every computer and in every program that uses this key, not "
                "only here. Each of them will need a new sign-in."
            ),
        )
        box.setInformativeText(
            tr(
                "tstray then signs out here. To sign out of this computer only, "
                "choose \u201cSign out\u201d instead."
            )
        )
        box.setObjectName("revoke_question")
        revoke_button = box.addButton(
            tr("&Revoke everywhere"), QMessageBox.ButtonRole.DestructiveRole
        )
        cancel_button = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel_button)
        box.setEscapeButton(cancel_button)

        def on_finished(_result: int) -> None:
            if box.clickedButton() is revoke_button:
                self._spawn(self._revoke())

        box.finished.connect(on_finished)
        self._open(box)
        return box

    async def _revoke(self) -> None:
        try:
            revoked = await self._services.session.revoke()
        except TokenEndpointError as exc:
            log.error("revoke failed: %s", exc.reason)
            self._show_problem(
                tr("Could not revoke"),
                tr("{reason}. Nothing was signed out; try again later.").format(
                    reason=exc.reason
                ),
            )
            return
        self._clear_cookies()
        if revoked:
            self._show_info(
                tr("Revoked at TradeStation"),
                tr(
                    "Every refresh token of this API key is revoked, and tstray "
                    "signed out."
                ),
            )

    def _show_info(self, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, title, message)
        box.setObjectName("account_info")
        self._open(box)

    def _open(self, box: QMessageBox) -> None:
        self._open_boxes.add(box)

        def on_finished(_result: int) -> None:
            self._open_boxes.discard(box)
            box.deleteLater()

        box.finished.connect(on_finished)
        box.open()


def _raise_if_open(window: QWidget | None) -> bool:
    if window is None:
        return False
    window.raise_()
    window.activateWindow()
    return True
