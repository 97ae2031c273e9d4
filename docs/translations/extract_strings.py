"""Keeps tstray's translation files in step with the code.

Scans every ``tstray/**/*.py`` file for the strings shown to users, the
calls ``tr("...")`` (``tstray.ui.texts.tr``, context "tstray") and
``QCoreApplication.translate("context", "...")``, and updates the Qt Linguist
file ``resources/translations/tstray_<lang>.ts``: new strings are added as
unfinished, strings gone from the code are dropped (except in Qt's own
contexts, such as ``QPlatformTheme``, which are kept by hand), translations
already made are kept. ``pyside6-lupdate`` cannot be used here: it files a
call to our ``tr()`` helper under the calling class, not under "tstray".

Usage (from the repository root)::

    python docs/translations/extract_strings.py            # update the .ts
    python docs/translations/extract_strings.py --check    # fail on gaps
    python docs/translations/extract_strings.py --release  # update + .qm

``--release`` compiles the ``.qm`` the app loads with ``pyside6-lrelease``;
the ``.qm`` is committed, so running tstray needs no build step. It never
changes a translation's text on its own.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = REPO_ROOT / "tstray"
TRANSLATIONS_DIR = REPO_ROOT / "resources" / "translations"
CONTEXT = "tstray"
LANGUAGES = {"ro": "ro_RO"}


@dataclass
class Message:
    """One source string and where it is used."""

    context: str
    source: str
    files: list[str] = field(default_factory=list)
    translation: str = ""


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def scan_file(path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """The ``(context, source)`` pairs in ``path``, and calls whose text is
    not a literal (which no tool can extract)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[str, str]] = []
    problems: list[str] = []
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    # In reading order, so the .ts lists strings as the code shows them.
    for node in sorted(calls, key=lambda call: (call.lineno, call.col_offset)):
        if not node.args:
            continue
        func = node.func
        where = f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
        if isinstance(func, ast.Name) and func.id == "tr":
            text = _literal(node.args[0])
            if text is None:
                problems.append(f"{where}: tr() of a non-literal")
            else:
                found.append((CONTEXT, text))
        elif (
            isinstance(func, ast.Attribute)
            and func.attr == "translate"
            and len(node.args) >= 2
        ):
            context, text = _literal(node.args[0]), _literal(node.args[1])
            if context is not None and text is not None:
                found.append((context, text))
            elif context is not None:
                problems.append(f"{where}: translate() of a non-literal")
    return found, problems


def scan_sources(source_dir: Path = SOURCE_DIR) -> tuple[list[Message], list[str]]:
    """Every translatable string in the code, in file order."""
    messages: dict[tuple[str, str], Message] = {}
    problems: list[str] = []
    for path in sorted(source_dir.rglob("*.py")):
        found, file_problems = scan_file(path)
        problems += file_problems
        relative = str(path.relative_to(REPO_ROOT))
        for context, source in found:
            message = messages.setdefault((context, source), Message(context, source))
            if relative not in message.files:
                message.files.append(relative)
    return list(messages.values()), problems


def read_ts(path: Path) -> list[Message]:
    """The messages of a ``.ts`` file, translations included."""
    if not path.exists():
        return []
    messages: list[Message] = []
    # The file is ours, in the repository, not untrusted input.
    root = ET.parse(path).getroot()  # noqa: S314
    for context in root.iter("context"):
        name = context.findtext("name") or ""
        for node in context.iter("message"):
            translation = node.find("translation")
            finished = translation is not None and translation.get("type") is None
            messages.append(
                Message(
                    name,
                    node.findtext("source") or "",
                    [loc.get("filename", "") for loc in node.iter("location")],
                    (translation.text or "")
                    if finished and translation is not None
                    else "",
                )
            )
    return messages


def merge(code: list[Message], existing: list[Message]) -> list[Message]:
    """The code's strings with the translations already made; strings gone
    from the code are kept only in Qt's own contexts."""
    known = {(m.context, m.source): m for m in existing}
    merged = []
    for message in code:
        old = known.get((message.context, message.source))
        merged.append(
            Message(
                message.context,
                message.source,
                message.files,
                old.translation if old else "",
            )
        )
    in_code = {(m.context, m.source) for m in code}
    merged += [
        m
        for m in existing
        if m.context != CONTEXT and (m.context, m.source) not in in_code
    ]
    return merged


def write_ts(path: Path, language: str, messages: list[Message]) -> None:
    root = ET.Element("TS", version="2.1", language=language)
    by_context: dict[str, list[Message]] = {}
    for message in messages:
        by_context.setdefault(message.context, []).append(message)
    for name in sorted(by_context, key=lambda n: (n != CONTEXT, n)):
        context = ET.SubElement(root, "context")
        ET.SubElement(context, "name").text = name
        for message in by_context[name]:
            node = ET.SubElement(context, "message")
            for file in message.files:
                ET.SubElement(node, "location", filename=_relative_to_ts(file, path))
            ET.SubElement(node, "source").text = message.source
            translation = ET.SubElement(node, "translation")
            if message.translation:
                translation.text = message.translation
            else:
                translation.set("type", "unfinished")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + body + "\n",
        encoding="utf-8",
    )


def _relative_to_ts(file: str, ts_path: Path) -> str:
    if not file or file.startswith("."):
        return file
    depth = len(ts_path.parent.relative_to(REPO_ROOT).parts)
    return "../" * depth + file


def ts_path(language: str) -> Path:
    return TRANSLATIONS_DIR / f"tstray_{language}.ts"


def qm_path(language: str) -> Path:
    return TRANSLATIONS_DIR / f"tstray_{language}.qm"


def find_lrelease() -> str:
    """``pyside6-lrelease`` next to this Python, or on PATH."""
    beside = Path(sys.executable).with_name("pyside6-lrelease")
    if beside.exists():
        return str(beside)
    found = shutil.which("pyside6-lrelease") or shutil.which("lrelease")
    if found is None:
        raise SystemExit("pyside6-lrelease not found; install PySide6")
    return found


def release(language: str) -> None:
    subprocess.run(  # noqa: S603  # our own files, a fixed tool
        [
            find_lrelease(),
            "-silent",
            str(ts_path(language)),
            "-qm",
            str(qm_path(language)),
        ],
        check=True,
    )


def missing(messages: list[Message]) -> list[Message]:
    return [m for m in messages if not m.translation.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail on any gap")
    parser.add_argument("--release", action="store_true", help="also build .qm")
    args = parser.parse_args(argv)

    code, problems = scan_sources()
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)

    status = 0
    for language, locale_name in LANGUAGES.items():
        path = ts_path(language)
        merged = merge(code, read_ts(path))
        gaps = missing(merged)
        if args.check:
            on_disk = {(m.context, m.source) for m in read_ts(path)}
            stale = [m for m in code if (m.context, m.source) not in on_disk]
            for message in gaps + stale:
                print(f"{language}: untranslated: {message.source!r}", file=sys.stderr)
            status |= bool(gaps or stale)
            continue
        write_ts(path, locale_name, merged)
        print(
            f"{path.relative_to(REPO_ROOT)}: {len(merged)} strings, {len(gaps)} to translate"
        )
        if args.release:
            release(language)
            print(f"{qm_path(language).relative_to(REPO_ROOT)} built")
    return status


if __name__ == "__main__":
    sys.exit(main())
