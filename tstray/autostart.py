"""Start at login: adds or removes the entry that makes the desktop start
tstray when the user logs in, on Linux (an XDG autostart ``.desktop`` file),
Windows (a value under the per-user ``Run`` key) and macOS (a LaunchAgent
property list).

The entry starts the same program that is running now (``python -m tstray``,
or the frozen executable), with ``--demo`` and ``--config`` kept when the
running profile uses them. On Linux a system-wide entry (from a distribution
package) is hidden, per the XDG Autostart spec, by a user entry with
``Hidden=true``. It writes only the user's own entry, never a system-wide one,
never through a symlink, and never a secret: the command line holds none.
"""

from __future__ import annotations

import logging
import os
import plistlib
import stat
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from tstray.own_command import own_command

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
    command = own_command("tstray", executable=executable, frozen=frozen)
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
    """The user's autostart folder: ``$XDG_CONFIG_HOME/autostart``."""
    # The Base Directory spec says a relative path in these variables is
    # invalid and must be ignored.
    config_home = os.environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(config_home):
        config_home = str(Path.home() / ".config")
    return Path(config_home) / "autostart"


def xdg_system_autostart_dirs() -> list[Path]:
    """The system-wide autostart folders, most important first:
    ``autostart`` in each folder of ``$XDG_CONFIG_DIRS`` (``/etc/xdg``)."""
    value = os.environ.get("XDG_CONFIG_DIRS", "")
    folders = [part for part in value.split(":") if os.path.isabs(part)]
    return [Path(folder) / "autostart" for folder in folders or ["/etc/xdg"]]


def read_desktop_entry(path: Path) -> dict[str, str]:
    """The keys of the ``[Desktop Entry]`` group of the file at ``path``.

    Comments, other groups and localised keys (``Name[de]``) are left out;
    spaces around ``=`` are ignored, as the Desktop Entry spec says.

    Raises:
        OSError: the file is missing, unreadable or not a regular file.
        ValueError: the file is not UTF-8 or has no ``[Desktop Entry]`` group.
    """
    # A FIFO or device would block or never end; a session manager reads
    # regular files only.
    if not stat.S_ISREG(path.stat().st_mode):
        raise OSError(f"{path} is not a regular file")
    text = path.read_bytes().decode("utf-8")

    keys: dict[str, str] = {}
    group: str | None = None
    seen_group = False
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
            seen_group = seen_group or group == "Desktop Entry"
            continue
        key, equals, value = line.partition("=")
        if group == "Desktop Entry" and equals and "[" not in key:
            keys[key.strip()] = value.strip()
    if not seen_group:
        raise ValueError(f"{path} has no [Desktop Entry] group")
    return keys


def _desktop_boolean(keys: dict[str, str], key: str) -> bool | None:
    # GLib, which most session managers use, takes "true"/"1" and
    # "false"/"0", case-sensitive; anything else counts as unset.
    value = keys.get(key)
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    return None


def entry_starts(keys: dict[str, str]) -> bool:
    """Whether a desktop entry with these keys starts its program at login:
    not ``Hidden=true`` and not turned off by GNOME's own switch."""
    if _desktop_boolean(keys, "Hidden") is True:
        return False
    return _desktop_boolean(keys, "X-GNOME-Autostart-enabled") is not False


class XdgAutostart:
    """``$XDG_CONFIG_HOME/autostart/<name>.desktop`` (freedesktop.org).

    A file of the same name in a system-wide folder (``$XDG_CONFIG_DIRS``,
    put there by a distribution package, say) starts tstray too, unless the
    user's own file overrides it; so turning start at login off while a
    system entry exists writes a user entry with ``Hidden=true`` instead of
    removing the user's file (XDG Autostart spec).
    """

    def __init__(
        self,
        name: str,
        folder: Path | None = None,
        system_folders: Sequence[Path] | None = None,
    ) -> None:
        self.path = (folder or xdg_autostart_dir()) / f"{name}.desktop"
        if system_folders is None:
            system_folders = xdg_system_autostart_dirs()
        self.system_paths = [
            system / self.path.name
            for system in system_folders
            if system / self.path.name != self.path
        ]

    def is_enabled(self) -> bool:
        # The user's file wins, even when it turns the entry off; the desktop's
        # own settings may have written Hidden or GNOME's switch into it.
        user_keys = self._read(self.path)
        if user_keys is not None:
            return entry_starts(user_keys)
        system_keys = self._system_entry()
        return system_keys is not None and entry_starts(system_keys)

    def enable(self, command: Sequence[str]) -> None:
        # No Hidden key: this file also overrides and un-hides a system entry.
        self._write(
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
            ]
        )
        log.info("start at login enabled: %s", self.path)

    def disable(self) -> None:
        system_keys = self._system_entry()
        if system_keys is None:
            # unlink removes a symlink itself, never the file it points to.
            self.path.unlink(missing_ok=True)
            log.info("start at login disabled: %s removed", self.path)
            return

        # Exec is required for a valid entry, though a hidden one never runs.
        exec_value = system_keys.get("Exec") or desktop_exec(launch_command())
        self._write(
            [
                "[Desktop Entry]",
                "Type=Application",
                "Name=tstray",
                f"Exec={exec_value}",
                "Hidden=true",
            ]
        )
        log.info("start at login disabled: %s hides the system-wide entry", self.path)

    def _system_entry(self) -> dict[str, str] | None:
        # Only the most important readable file counts, as in the spec.
        for path in self.system_paths:
            keys = self._read(path)
            if keys is not None:
                return keys
        return None

    @staticmethod
    def _read(path: Path) -> dict[str, str] | None:
        try:
            return read_desktop_entry(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("autostart entry %s ignored: %s", path, exc)
            return None

    def _write(self, lines: list[str]) -> None:
        # A fresh temp file in the same folder, then rename: the rename
        # replaces a symlink at self.path rather than writing through it, and
        # mkstemp never opens an existing path, so nothing is written outside
        # the folder whatever links lie in it.
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=folder
        )
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
                file.write("\n".join([*lines, ""]))
                file.flush()
                os.fsync(file.fileno())
            # mkstemp makes 0600; the entry holds no secret.
            os.chmod(temp_name, 0o644)
            os.replace(temp_name, self.path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise


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
