"""Tests for the settings window (tstray.ui.settings_dialog) and the tray's
account actions (tstray.ui.account_actions): the window driven by keyboard
alone, settings written back into a commented config.toml and read again,
the client secret saved to the real keyring (tests/with-desktop.sh), start
at login written as a real XDG autostart file, "Sign out" clearing the
sign-in window's cookies, and "Revoke at TradeStation…" asking first.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from keyring.backends import SecretService
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QLineEdit,
    QMessageBox,
)
from pytestqt.qtbot import QtBot

from tests.conftest import skip_or_fail
from tests.helpers.keyboard import focused, tab_to
from tstray.autostart import xdg_autostart_dir
from tstray.cli import Profile
from tstray.config import Config, load_config
from tstray.oauth.errors import NetworkError
from tstray.oauth.tokens import TokenSet
from tstray.paths import AppPaths
from tstray.session.lifecycle import Session
from tstray.session.state import SessionState
from tstray.storage.keyring_store import TokenStore
from tstray.ui.account_actions import AccountActions, clear_web_profile
from tstray.ui.settings_dialog import (
    SettingsDialog,
    SettingsValues,
    values_from_config,
    write_settings,
)

SECRET = "s3cret-client-value-Qw91"
REFRESH = "refresh-token-Zt40"
COMMENTED_CONFIG = """\
# My tstray settings -- keep this comment
[tradestation]
client_id = "old-key"   # from the TradeStation page
# scopes I need
scopes = ["openid", "offline_access", "MarketData"]

[server]
port = 31023
"""


@pytest.fixture
def dialog(qtbot: QtBot) -> Iterator[SettingsDialog]:
    values = values_from_config(Config(), start_at_login=False)
    window = SettingsDialog(replace(values, client_id="my-key"))
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)
    yield window


def test_settings_by_keyboard_only(qtbot: QtBot, dialog: SettingsDialog) -> None:
    assert focused().objectName() == "client_id"
    qtbot.keyClick(focused(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(focused(), "new-key")
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused().objectName() == "client_secret"
    qtbot.keyClicks(focused(), SECRET)
    tab_to(qtbot, "pkce")
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    tab_to(qtbot, "redirect_uri")
    qtbot.keyClick(focused(), Qt.Key.Key_Up)
    tab_to(qtbot, "environment_live")
    qtbot.keyClick(focused(), Qt.Key.Key_Down)
    assert focused().objectName() == "environment_sim"

    # Next tab: the scopes; Ctrl+Tab moves there, Tab into its boxes.
    qtbot.keyClick(focused(), Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert dialog.tabs.currentIndex() == 1
    tab_to(qtbot, "scope_Crypto")
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    qtbot.keyClick(focused(), Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert dialog.tabs.currentIndex() == 2
    tab_to(qtbot, "refresh_margin_s")
    qtbot.keyClick(focused(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(focused(), "120")
    tab_to(qtbot, "start_at_login")
    qtbot.keyClick(focused(), Qt.Key.Key_Space)

    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(focused(), Qt.Key.Key_Return)

    values = dialog.values()
    assert values.client_id == "new-key"
    assert values.client_secret == SECRET
    assert values.pkce is False
    assert values.redirect_uri == "http://localhost:8080"
    assert values.environment == "sim"
    assert "Crypto" in values.scopes
    assert values.scopes[:2] == ("openid", "offline_access")
    assert values.refresh_margin_s == 120
    assert values.start_at_login is True
    assert "s3cret" not in repr(values)


def test_required_scopes_are_locked_on_with_a_reason(dialog: SettingsDialog) -> None:
    for scope in ("openid", "offline_access"):
        box = dialog.findChild(QCheckBox, f"scope_{scope}")
        assert box.isChecked()
        assert not box.isEnabled()
        assert "always on" in box.toolTip()


def test_secret_is_hidden_and_starts_empty(dialog: SettingsDialog) -> None:
    secret = dialog.findChild(QLineEdit, "client_secret")
    assert secret.echoMode() is QLineEdit.EchoMode.Password
    assert secret.text() == ""


def test_callback_urls_are_tradestations_list_plus_a_custom_one(qtbot: QtBot) -> None:
    values = SettingsValues(client_id="k", redirect_uri="http://127.0.0.1:5050")
    window = SettingsDialog(values)
    qtbot.addWidget(window)
    combo = window.findChild(QComboBox, "redirect_uri")

    items = [combo.itemText(i) for i in range(combo.count())]
    assert items[:6] == [
        "http://localhost",
        "http://localhost:80",
        "http://localhost:3000",
        "http://localhost:3001",
        "http://localhost:8080",
        "http://localhost:31022",
    ]
    assert combo.currentText() == "http://127.0.0.1:5050"


def test_save_needs_an_api_key_and_escape_cancels(
    qtbot: QtBot, dialog: SettingsDialog
) -> None:
    qtbot.keyClick(focused(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(focused(), Qt.Key.Key_Delete)
    save = dialog.findChild(QDialogButtonBox).button(
        QDialogButtonBox.StandardButton.Save
    )
    assert not save.isEnabled()
    with qtbot.assertNotEmitted(dialog.accepted, wait=200):
        qtbot.keyClick(focused(), Qt.Key.Key_Return)

    with qtbot.waitSignal(dialog.rejected, timeout=2000):
        qtbot.keyClick(focused(), Qt.Key.Key_Escape)


def test_write_settings_keeps_comments_and_order(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text(COMMENTED_CONFIG, encoding="utf-8")
    old = values_from_config(load_config(file), start_at_login=False)
    new = replace(
        old,
        client_id="new-key",
        scopes=("openid", "offline_access", "MarketData", "Trade"),
        environment="sim",
        pkce=False,
        notifications=False,
        port=31050,
        client_secret=SECRET,
    )

    written = write_settings(file, new, old)

    assert set(written) == {
        "client_id",
        "scopes",
        "environment",
        "pkce",
        "notifications",
        "port",
    }
    text = file.read_text(encoding="utf-8")
    assert text.startswith("# My tstray settings -- keep this comment\n")
    assert "# scopes I need\n" in text
    assert text.index("[tradestation]") < text.index("[server]")
    assert SECRET not in text
    config = load_config(file)
    assert config.problems == ()
    assert values_from_config(config, start_at_login=False) == replace(
        new, client_secret=""
    )
    # Nothing changed: nothing written.
    assert write_settings(file, new, new) == []


# -- the account actions, with real parts ------------------------------------


NOW = datetime.now(UTC)


class RevokingClient:
    def __init__(self) -> None:
        self.revoked: list[str] = []
        self.error: Exception | None = None

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        raise AssertionError("no refresh expected")

    async def revoke(self, refresh_token: str) -> None:
        if self.error is not None:
            raise self.error
        self.revoked.append(refresh_token)


class MemoryTokens:
    def __init__(self) -> None:
        self.tokens: TokenSet | None = TokenSet(
            access_token="access-token-Ac11",
            refresh_token=REFRESH,
            expires_at=NOW + timedelta(minutes=20),
            signed_in_at=NOW,
        )

    async def load_tokens(self) -> TokenSet | None:
        return self.tokens

    async def save_tokens(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    async def delete_tokens(self) -> None:
        self.tokens = None


@dataclass
class StandInServices:
    """The parts of ``tstray.app.Services`` the account actions use."""

    profile: Profile
    store: TokenStore
    session: Session
    config: Config
    reloads: list[Config] = field(default_factory=list)

    def reload_config(self) -> None:
        self.config = load_config(self.profile.paths.config_file)
        self.reloads.append(self.config)


@dataclass
class Harness:
    services: StandInServices
    actions: AccountActions
    client: RevokingClient
    problems: list[tuple[str, str]]
    tasks: list[Coroutine[Any, Any, None]]
    sign_in_running: list[bool]

    def run_tasks(self) -> None:
        async def run_all() -> None:
            while self.tasks:
                await self.tasks.pop(0)

        asyncio.run(run_all())


@pytest.fixture
def keyring_service() -> Iterator[str]:
    try:
        SecretService.Keyring.priority  # noqa: B018  # raises without a Secret Service
    except Exception as exc:
        skip_or_fail(f"no Secret Service is reachable ({exc})")
    name = f"tstray-test-settings-{uuid.uuid4().hex}"
    yield name


@pytest.fixture
def harness(
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    keyring_service: str,
) -> Iterator[Harness]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    paths = AppPaths(
        config_dir=tmp_path / "config",
        log_dir=tmp_path / "logs",
        data_dir=tmp_path / "data",
        runtime_dir=tmp_path / "run",
    )
    paths.config_dir.mkdir()
    paths.config_file.write_text(COMMENTED_CONFIG, encoding="utf-8")
    config = load_config(paths.config_file)
    client = RevokingClient()
    session = Session(client, MemoryTokens(), refresh_margin_s=300)
    asyncio.run(session.start())
    asyncio.run(session.stop())
    store = TokenStore(keyring_service, backend=SecretService.Keyring())
    services = StandInServices(
        Profile("default", paths, config), store, session, config
    )
    problems: list[tuple[str, str]] = []
    tasks: list[Coroutine[Any, Any, None]] = []
    running = [False]
    actions = AccountActions(
        services,  # type: ignore[arg-type]  # a stand-in with the parts used
        tasks.append,
        lambda: running[0],
        lambda title, message: problems.append((title, message)),
    )
    yield Harness(services, actions, client, problems, tasks, running)
    for task in tasks:
        task.close()
    asyncio.run(store.delete_client_secret("new-key"))
    store.close()


def test_saving_settings_writes_config_keyring_and_autostart(
    qtbot: QtBot, harness: Harness
) -> None:
    old = harness.actions.current_values()
    assert old.client_id == "old-key"
    new = replace(
        old, client_id="new-key", client_secret=SECRET, start_at_login=True, port=31099
    )

    with qtbot.waitSignal(harness.actions.settings_saved, timeout=5000):
        harness.tasks.append(harness.actions._save(new, old))
        harness.run_tasks()

    assert harness.problems == []
    services = harness.services
    assert services.config.tradestation.client_id == "new-key"
    assert services.config.server.port == 31099
    text = services.profile.paths.config_file.read_text(encoding="utf-8")
    assert "# scopes I need" in text
    assert SECRET not in text
    assert asyncio.run(services.store.load_client_secret("new-key")) == SECRET
    autostart = xdg_autostart_dir() / "tstray.desktop"
    assert "-m tstray" in autostart.read_text(encoding="utf-8")
    assert harness.actions.current_values().start_at_login is True
    # The port cannot move while the service runs: the user is told.
    infos = [
        box
        for box in QApplication.topLevelWidgets()
        if box.objectName() == "account_info"
    ]
    assert any("local port" in box.text() for box in infos)  # type: ignore[attr-defined]


def test_the_wizard_saves_then_asks_for_a_test_sign_in(
    qtbot: QtBot, harness: Harness
) -> None:
    values = replace(harness.actions.current_values(), client_id="new-key")

    with qtbot.waitSignal(harness.actions.test_sign_in_requested, timeout=5000):
        harness.actions.on_wizard_setup_completed(values)
        harness.run_tasks()

    assert harness.services.config.tradestation.client_id == "new-key"


def make_web_profile(folder: Path) -> Path:
    cookies = folder / "storage" / "Cookies"
    cookies.parent.mkdir(parents=True)
    cookies.write_bytes(b"SQLite format 3\x00 auth0 session")
    (folder / "cache").mkdir()
    return cookies


def test_sign_out_clears_the_sign_in_windows_cookies(harness: Harness) -> None:
    folder = harness.services.profile.paths.web_profile_dir
    make_web_profile(folder)

    harness.actions.sign_out()
    harness.run_tasks()

    assert harness.services.session.snapshot.state is SessionState.SIGNED_OUT
    assert not folder.exists()


def test_sign_out_keeps_cookies_of_an_open_sign_in_window(harness: Harness) -> None:
    folder = harness.services.profile.paths.web_profile_dir
    cookies = make_web_profile(folder)
    harness.sign_in_running[0] = True

    harness.actions.sign_out()
    harness.run_tasks()

    assert harness.services.session.snapshot.state is SessionState.SIGNED_OUT
    assert cookies.exists()


def test_clear_web_profile_never_follows_a_link(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "file").write_text("keep", encoding="utf-8")
    link = tmp_path / "web-profile"
    link.symlink_to(precious)

    assert clear_web_profile(link) is True
    assert not link.exists()
    assert (precious / "file").read_text(encoding="utf-8") == "keep"
    assert clear_web_profile(link) is False


def question_button(box: QMessageBox, text: str) -> QAbstractButton:
    return next(b for b in box.buttons() if b.text().replace("&", "") == text)


def test_revoke_explains_and_asks_first(qtbot: QtBot, harness: Harness) -> None:
    box = harness.actions.confirm_revoke()
    qtbot.waitExposed(box)

    words = box.text() + box.informativeText()
    assert "every refresh token" in words
    assert "every computer" in words
    assert box.defaultButton() is box.escapeButton()

    # Escape (and Enter, on the default button) cancel: nothing happens.
    with qtbot.waitSignal(box.finished, timeout=2000):
        qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert harness.tasks == []
    assert harness.client.revoked == []


def test_revoke_when_confirmed(qtbot: QtBot, harness: Harness) -> None:
    box = harness.actions.confirm_revoke()
    qtbot.waitExposed(box)
    make_web_profile(harness.services.profile.paths.web_profile_dir)

    with qtbot.waitSignal(box.finished, timeout=2000):
        question_button(box, "Revoke everywhere").click()
    harness.run_tasks()

    assert harness.client.revoked == [REFRESH]
    assert harness.services.session.snapshot.state is SessionState.SIGNED_OUT
    assert not harness.services.profile.paths.web_profile_dir.exists()


def test_a_failed_revoke_says_so_and_signs_nothing_out(
    qtbot: QtBot, harness: Harness
) -> None:
    harness.client.error = NetworkError("no answer from the sign-in service")
    box = harness.actions.confirm_revoke()
    qtbot.waitExposed(box)

    with qtbot.waitSignal(box.finished, timeout=2000):
        question_button(box, "Revoke everywhere").click()
    harness.run_tasks()

    assert harness.services.session.snapshot.state is SessionState.VALID
    assert [title for title, _ in harness.problems] == ["Could not revoke"]
    assert "Nothing was signed out" in harness.problems[0][1]


def test_environment_is_live_or_sim(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text('[tradestation]\nenvironment = "sim"\n', encoding="utf-8")
    assert load_config(file).tradestation.environment == "sim"

    file.write_text('[tradestation]\nenvironment = "paper"\n', encoding="utf-8")
    config = load_config(file)
    assert config.tradestation.environment == "live"
    assert [problem.key for problem in config.problems] == ["tradestation.environment"]
