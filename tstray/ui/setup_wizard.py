"""The first-run wizard: asks for the essentials (API key, secret, PKCE,
callback URL, scopes, live or simulator) in three short pages and, at the
end, hands the values over so the app can save them and test them by
opening the sign-in window.

It never saves, logs or shows the secret (its field echoes dots), and never
opens a web page on its own: the address of TradeStation's API key page is
plain text the user can select and copy. Saving and signing in belong to
the app, which listens to ``setup_completed``.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from tstray.config import DEFAULT_SCOPES
from tstray.ui.settings_dialog import (
    CallbackField,
    EnvironmentChoice,
    KeyFields,
    ScopeBoxes,
    SettingsValues,
)
from tstray.ui.texts import tr

# TradeStation's page on getting an API key (shown, never opened).
API_KEY_PAGE_URL = "https://api.tradestation.com/docs/faq/"


def _paragraph(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class _KeyPage(QWizardPage):
    def __init__(self, values: SettingsValues) -> None:
        super().__init__()
        self.setTitle(tr("Your TradeStation API key"))
        self.setSubTitle(
            tr(
                "tstray signs in to TradeStation for your programs and keeps the "
                "session alive. The client secret is kept in your system keyring, "
                "never in a file."
            )
        )
        form = QFormLayout()
        self.key = KeyFields(form, values, first_run=True)
        link = _paragraph(
            tr("No API key yet? TradeStation explains how to get one at:")
            + f"\n{API_KEY_PAGE_URL}"
        )
        link.setObjectName("api_key_page")
        link.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(link)
        self.key.client_id_edit.textChanged.connect(self.completeChanged)

    def isComplete(self) -> bool:
        return bool(self.key.client_id())


class _AccessPage(QWizardPage):
    def __init__(self, values: SettingsValues) -> None:
        super().__init__()
        self.setTitle(tr("How the key is set up"))
        self.setSubTitle(
            tr(
                "Pick what your key's page at TradeStation lists. Unsure? The "
                "defaults suit a new key."
            )
        )
        form = QFormLayout()
        self.callback = CallbackField(form, values)
        self.environment = EnvironmentChoice(form, values)
        self.scopes = ScopeBoxes(values)
        # A label for a group of boxes; Tab reaches each box.
        form.addRow(tr("Scopes:"), self.scopes)
        layout = QVBoxLayout(self)
        layout.addLayout(form)


class _TestPage(QWizardPage):
    def __init__(self, values: SettingsValues) -> None:
        super().__init__()
        self.setTitle(tr("Test by signing in"))
        self.setSubTitle(
            tr(
                "\u201cSign in to test\u201d saves these settings and opens "
                "TradeStation's sign-in window. Signing in there proves that the "
                "key, secret, callback URL and scopes work."
            )
        )
        self.autostart_check = QCheckBox(tr("Start tstray when I &log in"))
        self.autostart_check.setObjectName("start_at_login")
        self.autostart_check.setChecked(values.start_at_login)
        hint = _paragraph(
            tr(
                "If the sign-in fails, the message says why; change the values "
                "any time with \u201cSettings\u2026\u201d in the tray menu."
            )
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.autostart_check)
        layout.addSpacing(8)
        layout.addWidget(hint)
        layout.addStretch(1)


class SetupWizard(QWizard):
    """Three pages: the key, how the key is set up, the test.

    Signals:
        setup_completed(object): Finish was pressed; carries the
            ``SettingsValues`` to save before the sign-in window opens.
    """

    setup_completed = Signal(object)

    def __init__(
        self, values: SettingsValues | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._initial = values or SettingsValues(scopes=DEFAULT_SCOPES)
        self.setWindowTitle(tr("Set up tstray"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.FinishButton, tr("&Sign in to test"))
        self.setMinimumWidth(560)

        self._key_page = _KeyPage(self._initial)
        self._access_page = _AccessPage(self._initial)
        self._test_page = _TestPage(self._initial)
        self.addPage(self._key_page)
        self.addPage(self._access_page)
        self.addPage(self._test_page)

    def values(self) -> SettingsValues:
        """What the pages hold now."""
        key, access = self._key_page.key, self._access_page
        return replace(
            self._initial,
            client_id=key.client_id(),
            client_secret=key.secret_edit.text().strip(),
            pkce=key.pkce_check.isChecked(),
            redirect_uri=access.callback.combo.currentText(),
            scopes=access.scopes.scopes(),
            environment=access.environment.value(),
            start_at_login=self._test_page.autostart_check.isChecked(),
        )

    def accept(self) -> None:
        values = self.values()
        if not values.client_id:
            return
        super().accept()
        self.setup_completed.emit(values)
