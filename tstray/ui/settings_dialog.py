"""The settings window, and the values it edits: the API key and secret,
PKCE, the callback URL, scopes, live or simulator, the refresh margin, the
local port, notifications and start at login.

The window only collects values (``SettingsValues``); ``write_settings``
puts the changed ones into ``config.toml`` through
``tstray.config_writer``, which keeps the user's comments and order. The
client secret is never written to a file and never shown: its field echoes
dots and starts empty ("keep the stored one"). The first-run wizard
(``tstray.ui.setup_wizard``) reuses the field groups defined here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tstray.config import TRADESTATION_CALLBACK_URLS, Config
from tstray.config_writer import TomlValue, set_value
from tstray.ui.texts import tr

log = logging.getLogger(__name__)

CALLBACK_URLS = TRADESTATION_CALLBACK_URLS
# Scopes every sign-in needs: openid for the sign-in itself, offline_access
# for the refresh token without which tstray cannot keep the session alive.
REQUIRED_SCOPES = ("openid", "offline_access")
OPTIONAL_SCOPES = (
    "profile",
    "MarketData",
    "ReadAccount",
    "Trade",
    "Crypto",
    "Matrix",
    "OptionSpreads",
)


def _scope_help() -> dict[str, str]:
    return {
        "openid": tr("Needed for any sign-in; always on."),
        "offline_access": tr(
            "Needed for the refresh token that keeps you signed in; always on."
        ),
        "profile": tr("Your name, shown in the tray and the status window."),
        "MarketData": tr("Quotes, bars and market data."),
        "ReadAccount": tr("Balances, positions and orders (read only)."),
        "Trade": tr("Placing and changing orders."),
        "Crypto": tr("Crypto accounts (only on keys that have it)."),
        "Matrix": tr("Market depth (only on keys that have it)."),
        "OptionSpreads": tr("Option spread orders (only on keys that have it)."),
    }


@dataclass(frozen=True)
class SettingsValues:
    """What the settings window and the wizard edit.

    Attributes:
        client_secret: a newly typed secret, or "" to keep the stored one.
        environment: "live" or "sim".
    """

    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    pkce: bool = True
    redirect_uri: str = "http://localhost:31022"
    scopes: tuple[str, ...] = ()
    environment: str = "live"
    refresh_margin_s: int = 300
    port: int = 31023
    notifications: bool = True
    start_at_login: bool = False


def values_from_config(config: Config, start_at_login: bool) -> SettingsValues:
    """The settings as they are now (the secret field starts empty)."""
    settings = config.tradestation
    return SettingsValues(
        client_id=settings.client_id,
        pkce=settings.pkce,
        redirect_uri=settings.redirect_uri,
        scopes=settings.scopes,
        environment=settings.environment,
        refresh_margin_s=settings.refresh_margin_s,
        port=config.server.port,
        notifications=config.notifications.enabled,
        start_at_login=start_at_login,
    )


# (field of SettingsValues, config table, config key)
_CONFIG_KEYS = (
    ("client_id", "tradestation", "client_id"),
    ("pkce", "tradestation", "pkce"),
    ("redirect_uri", "tradestation", "redirect_uri"),
    ("scopes", "tradestation", "scopes"),
    ("environment", "tradestation", "environment"),
    ("refresh_margin_s", "tradestation", "refresh_margin_s"),
    ("port", "server", "port"),
    ("notifications", "notifications", "enabled"),
)


def write_settings(
    file: Path, new: SettingsValues, old: SettingsValues | None = None
) -> list[str]:
    """Writes the values that differ from ``old`` (all, without it) into
    ``file``; returns the names of the fields written.

    Raises:
        OSError: the file could not be written.
    """
    written: list[str] = []
    for name, table, key in _CONFIG_KEYS:
        value = getattr(new, name)
        if old is not None and getattr(old, name) == value:
            continue
        toml_value: TomlValue = list(value) if isinstance(value, tuple) else value
        set_value(file, table, key, toml_value)
        written.append(name)
    if written:
        log.info("settings saved to %s: %s", file, ", ".join(written))
    return written


# -- field groups shared with the wizard -------------------------------------


class KeyFields:
    """API key, client secret and the PKCE choice, on a form."""

    def __init__(
        self, form: QFormLayout, values: SettingsValues, *, first_run: bool = False
    ) -> None:
        self.client_id_edit = QLineEdit(values.client_id)
        self.client_id_edit.setObjectName("client_id")
        self.client_id_edit.setPlaceholderText(tr("the key TradeStation gave you"))

        self.secret_edit = QLineEdit()
        self.secret_edit.setObjectName("client_secret")
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_edit.setPlaceholderText(
            tr("from your key's page; empty only for a PKCE key")
            if first_run
            else tr("kept in the keyring; leave empty to keep it")
        )

        self.pkce_check = QCheckBox(
            tr("Use &PKCE (keys without a client secret need it)")
        )
        self.pkce_check.setObjectName("pkce")
        self.pkce_check.setChecked(values.pkce)

        form.addRow(tr("&API key:"), self.client_id_edit)
        form.addRow(tr("Client &secret:"), self.secret_edit)
        form.addRow("", self.pkce_check)

    def client_id(self) -> str:
        return self.client_id_edit.text().strip()


class CallbackField:
    """The callback (redirect) URL, from the list TradeStation allows."""

    def __init__(self, form: QFormLayout, values: SettingsValues) -> None:
        self.combo = QComboBox()
        self.combo.setObjectName("redirect_uri")
        urls = list(CALLBACK_URLS)
        if values.redirect_uri not in urls:
            # A URL set by hand in config.toml stays choosable.
            urls.append(values.redirect_uri)
        self.combo.addItems(urls)
        self.combo.setCurrentText(values.redirect_uri)
        self.combo.setToolTip(
            tr("One of the Callback URLs listed for your key on TradeStation's page.")
        )
        form.addRow(tr("&Callback URL:"), self.combo)


class EnvironmentChoice:
    """Live or simulator, as two radio buttons."""

    def __init__(self, form: QFormLayout, values: SettingsValues) -> None:
        self.live_radio = QRadioButton(tr("&Live"))
        self.live_radio.setObjectName("environment_live")
        self.sim_radio = QRadioButton(tr("Si&mulator"))
        self.sim_radio.setObjectName("environment_sim")
        (self.sim_radio if values.environment == "sim" else self.live_radio).setChecked(
            True
        )
        row = QWidget()
        layout = QVBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.live_radio)
        layout.addWidget(self.sim_radio)
        row.setToolTip(
            tr(
                "The sign-in is the same for both; this picks which API programs "
                "reach through tstray by default, and what the status window shows."
            )
        )
        # The label's mnemonic lands on the chosen button; arrows move on.
        row.setFocusProxy(
            self.sim_radio if values.environment == "sim" else self.live_radio
        )
        form.addRow(tr("&Environment:"), row)

    def value(self) -> str:
        return "sim" if self.sim_radio.isChecked() else "live"


class ScopeBoxes(QWidget):
    """One checkbox per scope; openid and offline_access are always on."""

    def __init__(self, values: SettingsValues, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        help_texts = _scope_help()
        extra = [s for s in values.scopes if s not in REQUIRED_SCOPES + OPTIONAL_SCOPES]
        self.boxes: dict[str, QCheckBox] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for index, scope in enumerate(REQUIRED_SCOPES + OPTIONAL_SCOPES + tuple(extra)):
            box = QCheckBox(scope)
            box.setObjectName(f"scope_{scope}")
            box.setToolTip(help_texts.get(scope, tr("Set in config.toml.")))
            if scope in REQUIRED_SCOPES:
                box.setChecked(True)
                box.setEnabled(False)
            else:
                box.setChecked(scope in values.scopes)
            grid.addWidget(box, index // 3, index % 3)
            self.boxes[scope] = box

    def scopes(self) -> tuple[str, ...]:
        return tuple(scope for scope, box in self.boxes.items() if box.isChecked())


# -- the window --------------------------------------------------------------


class SettingsDialog(QDialog):
    """Edits ``SettingsValues``; read them with ``values()`` after accept.

    Save stays disabled while the API key is empty. Tabs: Sign-in,
    Permissions, General (Ctrl+Tab moves between them).
    """

    def __init__(
        self,
        values: SettingsValues,
        parent: QWidget | None = None,
        *,
        demo: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("tstray settings") + (" (demo)" if demo else ""))
        self.setMinimumWidth(520)
        self._initial = values

        sign_in_page = QWidget()
        sign_in_form = QFormLayout(sign_in_page)
        self._key = KeyFields(sign_in_form, values)
        self._callback = CallbackField(sign_in_form, values)
        self._environment = EnvironmentChoice(sign_in_form, values)

        scopes_page = QWidget()
        scopes_layout = QVBoxLayout(scopes_page)
        scopes_intro = QLabel(
            tr(
                "What programs may do with the token. Tick only what your key "
                "allows; a scope the key lacks makes the sign-in fail."
            )
        )
        scopes_intro.setWordWrap(True)
        self._scopes = ScopeBoxes(values)
        scopes_layout.addWidget(scopes_intro)
        scopes_layout.addWidget(self._scopes)
        scopes_layout.addStretch(1)

        general_page = QWidget()
        general_form = QFormLayout(general_page)
        self._margin_spin = QSpinBox()
        self._margin_spin.setObjectName("refresh_margin_s")
        self._margin_spin.setRange(0, 3600)
        self._margin_spin.setSuffix(tr(" s"))
        self._margin_spin.setValue(values.refresh_margin_s)
        self._margin_spin.setToolTip(tr("Refresh this long before the token expires."))
        self._port_spin = QSpinBox()
        self._port_spin.setObjectName("port")
        self._port_spin.setRange(1, 65535)
        self._port_spin.setValue(values.port)
        self._port_spin.setToolTip(
            tr("The local port programs ask for tokens on; a change needs a restart.")
        )
        self._notify_check = QCheckBox(tr("Show &notifications"))
        self._notify_check.setObjectName("notifications")
        self._notify_check.setChecked(values.notifications)
        self._autostart_check = QCheckBox(tr("Start tstray when I &log in"))
        self._autostart_check.setObjectName("start_at_login")
        self._autostart_check.setChecked(values.start_at_login)
        for spin in (self._margin_spin, self._port_spin):
            spin.setMinimumWidth(120)
            spin.setMaximumWidth(160)
        general_form.addRow(tr("&Refresh margin:"), self._margin_spin)
        general_form.addRow(tr("Local &port:"), self._port_spin)
        general_form.addRow("", self._notify_check)
        general_form.addRow("", self._autostart_check)

        self._tabs = QTabWidget()
        self._tabs.addTab(sign_in_page, tr("Sign-in"))
        self._tabs.addTab(scopes_page, tr("Permissions"))
        self._tabs.addTab(general_page, tr("General"))

        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Cancel
        )
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)
        self._save_button = self._buttons.button(QDialogButtonBox.StandardButton.Save)
        self._save_button.setDefault(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self._tabs)
        layout.addWidget(self._buttons)

        self._key.client_id_edit.textChanged.connect(self.on_client_id_text_changed)
        self.on_client_id_text_changed(self._key.client_id_edit.text())
        self._key.client_id_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def tabs(self) -> QTabWidget:
        return self._tabs

    def values(self) -> SettingsValues:
        """What the window shows now."""
        return SettingsValues(
            client_id=self._key.client_id(),
            client_secret=self._key.secret_edit.text().strip(),
            pkce=self._key.pkce_check.isChecked(),
            redirect_uri=self._callback.combo.currentText(),
            scopes=self._scopes.scopes(),
            environment=self._environment.value(),
            refresh_margin_s=self._margin_spin.value(),
            port=self._port_spin.value(),
            notifications=self._notify_check.isChecked(),
            start_at_login=self._autostart_check.isChecked(),
        )

    @property
    def initial_values(self) -> SettingsValues:
        return self._initial

    def on_client_id_text_changed(self, text: str) -> None:
        self._save_button.setEnabled(bool(text.strip()))

    def accept(self) -> None:
        # Enter reaches accept() even while Save is disabled.
        if not self._key.client_id():
            return
        super().accept()
