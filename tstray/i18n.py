"""Chooses the language tstray speaks and installs its translation.

English is the language of the source strings, so it needs no file;
Romanian comes from ``resources/translations/tstray_ro.qm`` (built from the
Qt Linguist file next to it by ``docs/translations/extract_strings.py``).
The choice follows the system locale unless ``[ui] language`` in
``config.toml`` says "en" or "ro". This module only reads files; a missing
translation file leaves the app in English with a warning, never stopped.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

from tstray.ui.icons import resource_path

log = logging.getLogger(__name__)

SOURCE_LANGUAGE = "en"
TRANSLATED_LANGUAGES = ("ro",)

# Kept here so Qt's translator outlives the call that installed it (Qt does
# not own it; Python would free it).
_installed: list[QTranslator] = []


def pick_language(setting: str, system_locale: QLocale | None = None) -> str:
    """The language to use: ``setting`` unless it is "system", else the
    system locale's if tstray has it, else English.

    Args:
        setting: ``[ui] language``: "system", "en" or "ro".
        system_locale: the locale to follow; the system's when None.
    """
    if setting in (SOURCE_LANGUAGE, *TRANSLATED_LANGUAGES):
        return setting
    locale = system_locale if system_locale is not None else QLocale.system()
    for name in locale.uiLanguages():
        language = name.replace("_", "-").split("-")[0].lower()
        if language in TRANSLATED_LANGUAGES:
            return language
        if language == SOURCE_LANGUAGE:
            return SOURCE_LANGUAGE
    return SOURCE_LANGUAGE


def translation_file(language: str) -> Path:
    """The compiled translation for ``language``.

    Raises:
        FileNotFoundError: it is not installed.
    """
    return resource_path(f"translations/tstray_{language}.qm")


def translating() -> bool:
    """Whether a translation is installed (the interface is not English)."""
    return bool(_installed)


def install_translation(setting: str, system_locale: QLocale | None = None) -> str:
    """Installs the translation for ``setting`` on the running application,
    replacing one installed before; returns the language now in use."""
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("install_translation needs a QCoreApplication")

    while _installed:
        QCoreApplication.removeTranslator(_installed.pop())

    language = pick_language(setting, system_locale)
    if language == SOURCE_LANGUAGE:
        QLocale.setDefault(QLocale(QLocale.Language.English))
        log.info("user interface language: English")
        return SOURCE_LANGUAGE

    translator = QTranslator()
    try:
        path = translation_file(language)
    except FileNotFoundError as exc:
        log.warning("no %s translation, using English: %s", language, exc)
        return SOURCE_LANGUAGE
    if not translator.load(str(path)):
        log.warning("could not read %s, using English", path)
        return SOURCE_LANGUAGE

    QCoreApplication.installTranslator(translator)
    _installed.append(translator)
    QLocale.setDefault(QLocale(language))
    log.info("user interface language: %s (%s)", language, path.name)
    return language
