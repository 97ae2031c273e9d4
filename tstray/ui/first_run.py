"""The first-run window: asks for the TradeStation API key and, for keys
that need one, the client secret.

It only collects the two values and hands them back with ``values()``; it
never saves, logs or shows the secret (the field echoes as dots), and it
never opens a web page on its own: the address of TradeStation's API key
page is plain text the user can select and copy.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from tstray.ui.texts import tr

# TradeStation's page on getting an API key (shown, never opened).
API_KEY_PAGE_URL = "https://api.tradestation.com/docs/faq/"


class FirstRunDialog(QDialog):
    """Asks for the API key (client_id) and the optional client secret.

    OK stays disabled until an API key is typed. Enter accepts, Esc cancels,
    and Tab moves key -> secret -> buttons.
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        client_id: str = "",
    ) -> None:
        """Builds the window with OK disabled until a key is typed.

        Args:
            parent: the parent widget, if any.
            client_id: an API key to start from (when fixing a wrong one).
        """
        super().__init__(parent)
        self.setWindowTitle(tr("Set up tstray"))
        self.setMinimumWidth(480)

        intro = QLabel(
            tr(
                "tstray signs in to TradeStation for your programs and keeps "
                "the session alive. It needs your TradeStation API key. The "
                "client secret is kept in your system keyring, never in a file."
            )
        )
        intro.setWordWrap(True)

        link = QLabel(
            tr("No API key yet? TradeStation explains how to get one at:")
            + f"\n{API_KEY_PAGE_URL}"
        )
        link.setWordWrap(True)
        link.setTextFormat(Qt.TextFormat.PlainText)
        link.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._client_id_edit = QLineEdit(client_id.strip())
        self._client_id_edit.setObjectName("client_id")
        self._client_id_edit.setPlaceholderText(tr("the key TradeStation gave you"))

        self._secret_edit = QLineEdit()
        self._secret_edit.setObjectName("client_secret")
        self._secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self._secret_edit.setPlaceholderText(tr("leave empty if your key uses PKCE"))

        form = QFormLayout()
        form.addRow(tr("&API key:"), self._client_id_edit)
        form.addRow(tr("Client &secret:"), self._secret_edit)

        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)
        self._ok_button = self._buttons.button(QDialogButtonBox.StandardButton.Ok)
        self._ok_button.setDefault(True)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(link)
        layout.addWidget(self._buttons)

        self.setTabOrder(self._client_id_edit, self._secret_edit)
        self.setTabOrder(self._secret_edit, self._buttons)
        self._client_id_edit.setFocus()

        self._client_id_edit.textChanged.connect(self.on_client_id_edit_text_changed)
        self.on_client_id_edit_text_changed(self._client_id_edit.text())

    def values(self) -> tuple[str, str]:
        """The API key and client secret typed, stripped of blanks."""
        return self._client_id_edit.text().strip(), self._secret_edit.text().strip()

    def on_client_id_edit_text_changed(self, text: str) -> None:
        self._ok_button.setEnabled(bool(text.strip()))

    def accept(self) -> None:
        # Enter reaches accept() even while OK is disabled; an empty key is
        # never accepted.
        if not self._client_id_edit.text().strip():
            return
        super().accept()
