"""Start at login: adds or removes the entry that makes the desktop start
tstray when the user logs in, on Linux (an XDG autostart ``.desktop`` file),
Windows (a value under the per-user ``Run`` key) and macOS (a LaunchAgent
property list).

The entry starts the same program that is running now (``python -m tstray``,
or the frozen executable), with ``--demo`` and ``--config`` kept when the
running profile uses them. It touches only the user's own entry, never a
system-wide one, and never writes a secret: the command line holds none.
"""

from __future__ import annotations

import logging
import os
import plistlib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


def launch_command(
    demo: bool = False,
    config_file: Path | None = None,
    *,
    executable: str = sys.executable,
    frozen: bool = bool(getattr(sys, "frozen", False)),
) -> list[str]:
    """The command that starts tstray as it runs now.

    Args:
        demo: add ``--demo`` (the demo profile is running).
        config_file: add ``--config`` with this file (a non-default one).
        executable: the Python interpreter, or the frozen program.
        frozen: whether ``executable`` is tstray itself (no ``-m``).
    """
    command = [executable] if frozen else [executable, "-m", "tstray"]
    if demo:
        command.append("--demo")
    if config_file is not None:
        command += ["--config", str(config_file)]
    return command


def entry_name(demo: bool) -> str:
    """The entry's name; the demo has its own, so both can start."""
    return "tstray-demo" if demo else "tstray"


class AutostartEntry(Protocol):
    """One platform's start-at-login entry."""

    def is_enabled(self) -> bool: ...

    def enable(self, command: Sequence[str]) -> None: ...

    def disable(self) -> None: ...


# -- Linux and other XDG desktops ------------------------------------------

# Characters that make an Exec argument need quotes (Desktop Entry spec,
# "The Exec key").
_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def _exec_argument(argument: str) -> str:
    # Inside quotes, ", `, $ and \ take a backslash; "%" is doubled because
    # it starts a field code. The whole value is then a desktop-entry string,
    # where a backslash itself is written twice.
    text = argument.replace("%", "%%")
    if argument and not (_EXEC_RESERVED & set(argument)):
        return text
    for char in ("\\", '"', "`", "$"):
        text = text.replace(char, "\\" + char)
    return '"' + text.replace("\\", "\\\\") + '"'


def desktop_exec(command: Sequence[str]) -> str:
    """``command`` as a desktop entry's ``Exec`` value."""
    return " ".join(_exec_argument(argument) for argument in command)


def xdg_autostart_dir() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "autostart"


class XdgAutostart:
    """``$XDG_CONFIG_HOME/autostart/<name>.desktop`` (freedesktop.org)."""

    def __init__(self, name: str, folder: Path | None = None) -> None:
        self.path = (folder or xdg_autostart_dir()) / f"{name}.desktop"

    def is_enabled(self) -> bool:
        # A user may have turned it off in the desktop's own settings.
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return False
        lines = {line.strip() for line in text.splitlines()}
        return (
            "Hidden=true" not in lines
            and "X-GNOME-Autostart-enabled=false" not in lines
        )

    def enable(self, command: Sequence[str]) -> None:
        text = "\n".join(
            [
                "[Desktop Entry]",
                "Type=Application",
                "Name=tstray",
                "GenericName=TradeStation session keeper",
                "Comment=Keeps your TradeStation API session signed in",
                f"Exec={desktop_exec(command)}",
                "Terminal=false",
                "Categories=Office;Finance;",
                "X-GNOME-Autostart-enabled=true",
                "",
            ]
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_suffix(".desktop.tmp")
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, self.path)
        log.info("start at login enabled: %s", self.path)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)
        log.info("start at login disabled: %s removed", self.path)


# -- Windows -----------------------------------------------------------------


class RunKey(Protocol):
    """The per-user ``Run`` key: named string values."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


class WinregRunKey:
    """``HKEY_CURRENT_USER\\...\\Run`` through ``winreg`` (Windows only)."""

    def get(self, name: str) -> str | None:
        if sys.platform != "win32":
            raise OSError("the Windows registry exists on Windows only")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                value, _kind = winreg.QueryValueEx(key, name)
        except OSError:
            return None
        return value if isinstance(value, str) else None

    def set(self, name: str, value: str) -> None:
        if sys.platform != "win32":
            raise OSError("the Windows registry exists on Windows only")
        import winreg

        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:
        if sys.platform != "win32":
            raise OSError("the Windows registry exists on Windows only")
        import winreg

        try:
            with winreg.OpenKey(
                winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE
            ) as key:
                winreg.DeleteValue(key, name)
        except FileNotFoundError:
            pass


class WindowsAutostart:
    """A value named ``name`` under the per-user Run key."""

    def __init__(self, name: str, run_key: RunKey | None = None) -> None:
        self.name = name
        self._run_key = run_key or WinregRunKey()

    def is_enabled(self) -> bool:
        return bool(self._run_key.get(self.name))

    def enable(self, command: Sequence[str]) -> None:
        # Windows splits a command line by the C runtime's rules, which is
        # what list2cmdline quotes for.
        self._run_key.set(self.name, subprocess.list2cmdline(list(command)))
        log.info("start at login enabled: Run key value %s", self.name)

    def disable(self) -> None:
        self._run_key.delete(self.name)
        log.info("start at login disabled: Run key value %s removed", self.name)


# -- macOS -------------------------------------------------------------------


class MacLaunchAgent:
    """``~/Library/LaunchAgents/<label>.plist``, run at login by launchd."""

    def __init__(self, name: str, home: Path | None = None) -> None:
        self.label = f"local.tstray.{name}"
        folder = (home or Path.home()) / "Library" / "LaunchAgents"
        self.path = folder / f"{self.label}.plist"

    def is_enabled(self) -> bool:
        try:
            with self.path.open("rb") as handle:
                agent = plistlib.load(handle)
        except (OSError, plistlib.InvalidFileException, ValueError):
            return False
        return isinstance(agent, dict) and agent.get("RunAtLoad") is True

    def enable(self, command: Sequence[str]) -> None:
        agent = {
            "Label": self.label,
            "ProgramArguments": list(command),
            "RunAtLoad": True,
            # A tray app is started once per login, not kept alive: Quit means
            # quit until the next login.
            "KeepAlive": False,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("wb") as handle:
            plistlib.dump(agent, handle)
        log.info("start at login enabled: %s", self.path)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)
        log.info("start at login disabled: %s removed", self.path)


def autostart_entry(demo: bool, platform: str = sys.platform) -> AutostartEntry:
    """The start-at-login entry for this platform and profile."""
    name = entry_name(demo)
    if platform == "win32":
        return WindowsAutostart(name)
    if platform == "darwin":
        return MacLaunchAgent(name)
    return XdgAutostart(name)


def set_start_at_login(
    entry: AutostartEntry, enabled: bool, command: Sequence[str]
) -> None:
    """Adds or removes ``entry``; raises OSError when that fails."""
    if enabled:
        entry.enable(command)
    else:
        entry.disable()
