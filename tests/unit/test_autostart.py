"""Tests for tstray.autostart: the XDG entry for real (file written, checked
with desktop-file-validate, parsed back, removed), the macOS LaunchAgent in a
temp home (parsed back with plistlib), and the Windows Run key through an
injected stand-in registry, since Windows cannot run here."""

from __future__ import annotations

import re
import shutil
import subprocess
from configparser import ConfigParser
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tstray.autostart import (
    MacLaunchAgent,
    WindowsAutostart,
    XdgAutostart,
    autostart_entry,
    desktop_exec,
    launch_command,
    set_start_at_login,
    xdg_autostart_dir,
)


def unquote_exec(value: str) -> list[str]:
    """Reads an Exec value back the way the Desktop Entry spec says: string
    escapes first (\\\\ -> \\), then the quoting rules (inside double quotes
    a backslash escapes " ` $ \\), then %% -> %."""
    unescaped = re.sub(r"\\(.)", lambda match: match.group(1), value)
    arguments: list[str] = []
    current, quoted, escaped, started = "", False, False, False
    for char in unescaped:
        if escaped:
            current, escaped = current + char, False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted, started = not quoted, True
        elif char == " " and not quoted:
            if started:
                arguments.append(current)
            current, started = "", False
        else:
            current, started = current + char, True
    if started:
        arguments.append(current)
    return [argument.replace("%%", "%") for argument in arguments]


def test_launch_command() -> None:
    # -P: a stray tstray.py or json.py in the login folder is never imported.
    assert launch_command(executable="/usr/bin/python3", frozen=False) == [
        "/usr/bin/python3",
        "-P",
        "-m",
        "tstray",
    ]
    assert launch_command(
        True, Path("/c/config.toml"), executable="C:/tstray.exe", frozen=True
    ) == ["C:/tstray.exe", "--demo", "--config", "/c/config.toml"]


@pytest.mark.parametrize(
    "command",
    [
        ["/usr/bin/python3", "-m", "tstray"],
        ["/opt/my apps/py", "-m", "tstray", "--demo"],
        ['/od"d/$HOME/`x`/back\\slash/100%', "--config", "/home/a b/c.toml"],
    ],
)
def test_desktop_exec_round_trips(command: list[str]) -> None:
    assert unquote_exec(desktop_exec(command)) == command


def test_xdg_entry_is_created_valid_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config home"))
    # No system-wide entry: the machine's own /etc/xdg must not count.
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "no system entries"))
    entry = autostart_entry(demo=True, platform="linux")
    assert isinstance(entry, XdgAutostart)
    assert entry.path == tmp_path / "config home" / "autostart" / "tstray-demo.desktop"
    assert xdg_autostart_dir() == entry.path.parent
    assert not entry.is_enabled()

    command = launch_command(True, executable="/opt/py env/python3", frozen=False)
    set_start_at_login(entry, True, command)

    assert entry.is_enabled()
    parser = ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(entry.path, encoding="utf-8")
    desktop = parser["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert unquote_exec(desktop["Exec"]) == command

    validator = shutil.which("desktop-file-validate")
    if validator is None:
        skip_or_fail("desktop-file-validate (Debian desktop-file-utils) is missing")
    else:
        result = subprocess.run(
            [validator, str(entry.path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == ""

    set_start_at_login(entry, False, command)
    assert not entry.path.exists()
    assert not entry.is_enabled()
    # Removing twice is fine.
    entry.disable()


def test_xdg_entry_turned_off_by_the_desktop_reads_as_disabled(
    tmp_path: Path,
) -> None:
    entry = XdgAutostart("tstray", tmp_path, system_folders=[])
    entry.enable(["/usr/bin/python3", "-m", "tstray"])
    text = entry.path.read_text(encoding="utf-8")
    entry.path.write_text(text + "Hidden=true\n", encoding="utf-8")

    assert not entry.is_enabled()


class FakeRunKey:
    """Stands in for HKCU\\...\\Run (winreg exists on Windows only)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {"OtherApp": "C:\\other.exe"}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


def test_windows_run_key() -> None:
    run_key = FakeRunKey()
    entry = WindowsAutostart("tstray", run_key)
    assert not entry.is_enabled()

    entry.enable([r"C:\Program Files\Python311\python.exe", "-m", "tstray", "--demo"])

    assert entry.is_enabled()
    assert run_key.values["tstray"] == (
        r'"C:\Program Files\Python311\python.exe" -m tstray --demo'
    )
    entry.disable()
    assert run_key.values == {"OtherApp": "C:\\other.exe"}
    entry.disable()


def test_windows_is_chosen_on_win32() -> None:
    entry = autostart_entry(demo=False, platform="win32")
    assert isinstance(entry, WindowsAutostart)
    assert entry.name == "tstray"


def test_mac_launch_agent(tmp_path: Path) -> None:
    import plistlib

    entry = MacLaunchAgent("tstray", home=tmp_path)
    assert not entry.is_enabled()
    command = ["/Applications/tstray.app/Contents/MacOS/tstray"]

    entry.enable(command)

    assert entry.path == tmp_path / "Library/LaunchAgents/local.tstray.tstray.plist"
    with entry.path.open("rb") as handle:
        agent = plistlib.load(handle)
    assert agent["Label"] == "local.tstray.tstray"
    assert agent["ProgramArguments"] == command
    assert agent["RunAtLoad"] is True
    assert entry.is_enabled()

    entry.path.write_bytes(b"not a plist")
    assert not entry.is_enabled()
    entry.disable()
    assert not entry.path.exists()
