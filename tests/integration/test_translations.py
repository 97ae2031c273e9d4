"""tstray in Romanian and in English: every string the code shows has a
Romanian translation (placeholders, mnemonics and diacritics intact), the
committed ``.qm`` matches the ``.ts``, and the real tray menu, status window,
first-run window, setup wizard and settings dialog come up in the chosen
language (pytest-qt, real Qt, real translator).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale, QTranslator
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QTabWidget,
    QWidget,
    QWizard,
)
from pytestqt.qtbot import QtBot

from tstray.i18n import install_translation, pick_language, translation_file
from tstray.session.state import SessionSnapshot, SessionState
from tstray.ui.first_run import FirstRunDialog
from tstray.ui.notifications import NotificationPolicy
from tstray.ui.status_dialog import StatusDialog
from tstray.ui.texts import reason_words
from tstray.ui.tray import TrayController

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "docs" / "translations"))

import extract_strings  # noqa: E402  # a script, found through the path above

NOW = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
# Romanian is written with comma-below letters; the cedilla ones are a
# legacy-encoding mistake.
CEDILLA_LETTERS = "şţŞŢ"


def _ts_messages() -> list[extract_strings.Message]:
    return extract_strings.read_ts(extract_strings.ts_path("ro"))


def _translations() -> dict[tuple[str, str], str]:
    return {(m.context, m.source): m.translation for m in _ts_messages()}


# --- the files -----------------------------------------------------------------


def test_every_string_in_the_code_has_a_romanian_translation() -> None:
    code, problems = extract_strings.scan_sources()
    translations = _translations()

    missing = [
        m.source for m in code if not translations.get((m.context, m.source), "")
    ]
    assert missing == [], (
        "translate these in resources/translations/tstray_ro.ts "
        "(python docs/translations/extract_strings.py --release): "
        f"{missing}"
    )
    assert problems == [], "tr() must be called with a literal string"


@pytest.mark.parametrize(
    "message", [m for m in _ts_messages() if m.translation], ids=lambda m: m.source
)
def test_translation_keeps_placeholders_and_mnemonics(
    message: extract_strings.Message,
) -> None:
    source, translation = message.source, message.translation
    assert sorted(PLACEHOLDER.findall(translation)) == sorted(
        PLACEHOLDER.findall(source)
    )
    assert translation.replace("&&", "").count("&") == source.replace("&&", "").count(
        "&"
    )
    assert source.endswith("\u2026") == translation.endswith("\u2026")
    assert not set(translation) & set(CEDILLA_LETTERS)


def test_romanian_is_written_with_its_own_letters() -> None:
    text = "".join(m.translation for m in _ts_messages())
    for letter in "ăâîșț":
        assert letter in text


def test_committed_qm_matches_the_ts() -> None:
    translator = QTranslator()
    assert translator.load(str(translation_file("ro")))
    stale = [
        m.source
        for m in _ts_messages()
        if m.translation and translator.translate(m.context, m.source) != m.translation
    ]
    assert stale == [], "run: python docs/translations/extract_strings.py --release"


# --- choosing the language ------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "locale", "expected"),
    [
        ("system", "ro_RO", "ro"),
        ("system", "en_US", "en"),
        ("system", "de_DE", "en"),
        ("ro", "en_US", "ro"),
        ("en", "ro_RO", "en"),
    ],
)
def test_language_follows_the_system_unless_set(
    setting: str, locale: str, expected: str
) -> None:
    assert pick_language(setting, QLocale(locale)) == expected


# --- the windows ----------------------------------------------------------------


def _texts(widget: QWidget) -> list[str]:
    """Every text a user reads in ``widget`` and its children."""
    found = [widget.windowTitle(), widget.toolTip()]
    for child in [widget, *widget.findChildren(QWidget)]:
        if isinstance(child, (QLabel, QAbstractButton)):
            found.append(child.text())
        elif isinstance(child, QGroupBox):
            found.append(child.title())
        elif isinstance(child, QLineEdit):
            found.append(child.placeholderText())
        elif isinstance(child, QComboBox):
            found += [child.itemText(i) for i in range(child.count())]
        elif isinstance(child, QTabWidget):
            found += [child.tabText(i) for i in range(child.count())]
        found.append(child.toolTip())
    if isinstance(widget, QWizard):
        for page_id in widget.pageIds():
            page = widget.page(page_id)
            found += [page.title(), page.subTitle(), *_texts(page)]
    return [text for text in found if text]


def _tray_texts(tray: TrayController) -> list[str]:
    tray.on_menu_about_to_show()
    return [action.text() for action in tray.menu.actions() if action.text()]


def _build_windows(qtbot: QtBot) -> dict[str, list[str]]:
    """The texts of each window tstray shows, built as the app builds them."""
    snapshot = SessionSnapshot(
        state=SessionState.VALID,
        access_token="eyJ-not-shown",
        expires_at=NOW + timedelta(minutes=17),
        account="Ana Popescu",
        next_refresh_at=NOW + timedelta(minutes=12),
    )
    texts: dict[str, list[str]] = {}

    tray = TrayController(lambda: NOW)
    tray.update(snapshot)
    texts["tray menu"] = _tray_texts(tray)
    texts["tooltip"] = [tray.tray_icon.toolTip()]
    tray.deleteLater()

    status = StatusDialog(lambda: NOW)
    qtbot.addWidget(status)
    status.update(snapshot)
    texts["status"] = _texts(status)

    first_run = FirstRunDialog()
    qtbot.addWidget(first_run)
    texts["first run"] = _texts(first_run)

    for name, build in _optional_windows().items():
        window = build()
        qtbot.addWidget(window)
        texts[name] = _texts(window)
    return texts


def _optional_windows() -> dict[str, Callable[[], QWidget]]:
    # The setup wizard and the settings dialog are built by another module;
    # they are checked too whenever they are there.
    windows: dict[str, Callable[[], QWidget]] = {}
    try:
        from tstray.ui.setup_wizard import SetupWizard

        windows["setup wizard"] = SetupWizard
    except ImportError:
        pass
    try:
        from tstray.ui.settings_dialog import SettingsDialog, SettingsValues

        windows["settings"] = lambda: SettingsDialog(SettingsValues())
    except ImportError:
        pass
    return windows


@pytest.fixture
def language() -> Iterator[Callable[[str], str]]:
    yield install_translation
    install_translation("en")


def test_windows_speak_romanian(qtbot: QtBot, language: Callable[[str], str]) -> None:
    assert language("ro") == "ro"
    translations = {
        source: ro
        for (context, source), ro in _translations().items()
        if ro != source and context in ("tstray", "QPlatformTheme", "QWizard")
    }

    texts = _build_windows(qtbot)

    left_in_english = {
        window: [text for text in shown if text in translations]
        for window, shown in texts.items()
    }
    assert all(not shown for shown in left_in_english.values()), left_in_english
    assert "Copiază tokenul de acces" in texts["tray menu"]
    assert "Autentificare în browserul meu\u2026" in texts["tray menu"]
    assert "Ieșire" in texts["tray menu"]
    assert texts["tooltip"][0].startswith("tstray — Autentificat ca Ana Popescu")
    assert "Anulează" in texts["first run"]
    assert "Stare tstray" in texts["status"]


def test_windows_speak_english(qtbot: QtBot, language: Callable[[str], str]) -> None:
    assert language("en") == "en"
    romanian = {ro for ro in _translations().values() if ro}
    english_sources = {source for (_context, source) in _translations()}

    texts = _build_windows(qtbot)

    assert all(
        text not in romanian or text in english_sources
        for shown in texts.values()
        for text in shown
    ), texts
    assert "Copy access token" in texts["tray menu"]
    assert "Sign in with my browser\u2026" in texts["tray menu"]
    assert "Cancel" in texts["first run"]


def test_failure_reasons_are_in_the_users_language(
    qapp: object, language: Callable[[str], str]
) -> None:
    english = "the token endpoint answered 403 invalid_grant: Unknown or invalid refresh token."
    refused = SessionSnapshot(
        state=SessionState.SIGN_IN_NEEDED,
        last_error=english,
        error_code="invalid_grant",
    )

    language("en")
    assert reason_words(refused) == english

    language("ro")
    assert reason_words(refused) == "TradeStation a refuzat autentificarea salvată"
    notice = NotificationPolicy().decide(SessionSnapshot(), refused, datetime.now(UTC))
    assert notice is not None and english not in notice.message
    assert "TradeStation a refuzat autentificarea salvată" in notice.message
    # A code without a translated sentence falls back to the details.
    odd = SessionSnapshot(last_error="something new", error_code="brand_new_code")
    assert reason_words(odd) == "something new"
