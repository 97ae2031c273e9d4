"""Tests for start at login on Linux when a system-wide autostart entry may
exist: real files in temp folders named by XDG_CONFIG_HOME and XDG_CONFIG_DIRS,
written entries checked with desktop-file-validate, the effective state read
back (the user's file, Hidden=true, GNOME's switch, the system entry), writes
that never go through a symlink, and system files that cannot be read."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tstray.autostart import (
    XdgAutostart,
    autostart_entry,
    read_desktop_entry,
    xdg_system_autostart_dirs,
)

COMMAND = ["/opt/py env/python3", "-m", "tstray"]
SYSTEM_EXEC = "/usr/bin/tstray --from-package"
SYSTEM_ENTRY = (
    "[Desktop Entry]\n"
    "Type=Application\n"
    "Name=tstray\n"
    "Name[de]=tstray (Paket)\n"
    f"Exec={SYSTEM_EXEC}\n"
)


@dataclass
class Folders:
    user: Path
    system_first: Path
    system_second: Path
    outside: Path

    @property
    def user_file(self) -> Path:
        return self.user / "tstray.desktop"

    def put_system(self, text: str, *, second: bool = False) -> Path:
        folder = self.system_second if second else self.system_first
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "tstray.desktop"
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Folders:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home config"))
    monkeypatch.setenv(
        "XDG_CONFIG_DIRS", f"{tmp_path / 'xdg one'}:{tmp_path / 'xdg two'}"
    )
    outside = tmp_path / "outside"
    outside.mkdir()
    return Folders(
        user=tmp_path / "home config" / "autostart",
        system_first=tmp_path / "xdg one" / "autostart",
        system_second=tmp_path / "xdg two" / "autostart",
        outside=outside,
    )


def linux_entry() -> XdgAutostart:
    entry = autostart_entry(demo=False, platform="linux")
    assert isinstance(entry, XdgAutostart)
    return entry


def assert_valid(path: Path) -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        skip_or_fail("desktop-file-validate (Debian desktop-file-utils) is missing")
        return
    result = subprocess.run(
        [validator, str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def assert_hidden_entry(path: Path, exec_value: str) -> None:
    assert not path.is_symlink()
    keys = read_desktop_entry(path)
    assert keys["Hidden"] == "true"
    assert keys["Type"] == "Application"
    assert keys["Exec"] == exec_value
    assert_valid(path)


def test_system_folders_come_from_xdg_config_dirs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("XDG_CONFIG_DIRS", raising=False)
    assert xdg_system_autostart_dirs() == [Path("/etc/xdg/autostart")]
    monkeypatch.setenv("XDG_CONFIG_DIRS", "")
    assert xdg_system_autostart_dirs() == [Path("/etc/xdg/autostart")]
    # Relative folders are invalid by the Base Directory spec; empty parts too.
    monkeypatch.setenv("XDG_CONFIG_DIRS", "relative/xdg::/a/xdg:/b")
    assert xdg_system_autostart_dirs() == [
        Path("/a/xdg/autostart"),
        Path("/b/autostart"),
    ]


def test_without_a_system_entry_disable_removes_the_user_file(
    folders: Folders,
) -> None:
    entry = linux_entry()
    assert not entry.is_enabled()

    entry.enable(COMMAND)
    assert entry.is_enabled()
    assert_valid(folders.user_file)

    entry.disable()
    assert not folders.user_file.exists()
    assert not entry.is_enabled()
    assert not folders.user.exists() or list(folders.user.iterdir()) == []


@pytest.mark.parametrize("second", [False, True], ids=["first dir", "second dir"])
def test_system_entry_is_on_and_disable_hides_it(
    folders: Folders, second: bool
) -> None:
    system_file = folders.put_system(SYSTEM_ENTRY, second=second)
    entry = linux_entry()
    assert entry.is_enabled()

    entry.disable()

    assert not entry.is_enabled()
    assert_hidden_entry(folders.user_file, SYSTEM_EXEC)
    assert system_file.read_text(encoding="utf-8") == SYSTEM_ENTRY
    assert [path.name for path in folders.user.iterdir()] == ["tstray.desktop"]
    assert stat.S_IMODE(folders.user_file.stat().st_mode) == 0o644

    # Turning it on again overrides (and so un-hides) the system entry.
    entry.enable(COMMAND)
    assert entry.is_enabled()
    keys = read_desktop_entry(folders.user_file)
    assert "Hidden" not in keys
    assert_valid(folders.user_file)

    entry.disable()
    assert not entry.is_enabled()
    assert_hidden_entry(folders.user_file, SYSTEM_EXEC)


def test_hidden_entry_without_system_exec_gets_a_launch_command(
    folders: Folders,
) -> None:
    folders.put_system("[Desktop Entry]\nType=Application\nName=tstray\n")
    entry = linux_entry()

    entry.disable()

    keys = read_desktop_entry(folders.user_file)
    assert keys["Hidden"] == "true"
    assert "-m tstray" in keys["Exec"]
    assert_valid(folders.user_file)


@pytest.mark.parametrize(
    "switch_off",
    ["Hidden=true", "Hidden = true", "X-GNOME-Autostart-enabled=false"],
)
def test_system_entry_turned_off_reads_as_off(
    folders: Folders, switch_off: str
) -> None:
    folders.put_system(SYSTEM_ENTRY + switch_off + "\n")
    entry = linux_entry()
    assert not entry.is_enabled()

    entry.enable(COMMAND)
    assert entry.is_enabled()


def test_the_most_important_system_folder_wins(folders: Folders) -> None:
    folders.put_system(SYSTEM_ENTRY + "Hidden=true\n")
    folders.put_system(SYSTEM_ENTRY, second=True)

    assert not linux_entry().is_enabled()


@pytest.mark.parametrize(
    ("user_text", "expected"),
    [
        (SYSTEM_ENTRY + "Hidden=true\n", False),
        (SYSTEM_ENTRY + "X-GNOME-Autostart-enabled=false\n", False),
        (SYSTEM_ENTRY + "X-GNOME-Autostart-enabled=true\n", True),
        (SYSTEM_ENTRY + "Hidden=false\n", True),
        # Keys of another group or another language do not count.
        (SYSTEM_ENTRY + "Hidden[de]=true\n[Desktop Action x]\nHidden=true\n", True),
        ("Hidden=true\n" + SYSTEM_ENTRY, True),
    ],
    ids=[
        "Hidden",
        "GNOME off",
        "GNOME on",
        "Hidden false",
        "other group",
        "before group",
    ],
)
@pytest.mark.parametrize("with_system", [False, True], ids=["alone", "over system"])
def test_the_user_file_decides(
    folders: Folders, user_text: str, expected: bool, with_system: bool
) -> None:
    if with_system:
        folders.put_system(SYSTEM_ENTRY)
    folders.user.mkdir(parents=True)
    folders.user_file.write_text(user_text, encoding="utf-8")

    assert linux_entry().is_enabled() is expected


def test_unreadable_user_file_falls_back_to_the_system_entry(
    folders: Folders, caplog: pytest.LogCaptureFixture
) -> None:
    folders.put_system(SYSTEM_ENTRY)
    folders.user.mkdir(parents=True)
    folders.user_file.write_bytes(b"[Desktop Entry]\nName=\xff\xfe\n")

    with caplog.at_level(logging.WARNING, logger="tstray.autostart"):
        assert linux_entry().is_enabled()
    assert str(folders.user_file) in caplog.text


# -- symlinks in the user's folder ------------------------------------------


@pytest.mark.parametrize("with_system", [False, True], ids=["alone", "over system"])
def test_enable_replaces_a_symlink_instead_of_writing_through_it(
    folders: Folders, with_system: bool
) -> None:
    if with_system:
        folders.put_system(SYSTEM_ENTRY)
    target = folders.outside / "precious.desktop"
    target.write_text("keep me\n", encoding="utf-8")
    folders.user.mkdir(parents=True)
    folders.user_file.symlink_to(target)
    # A link at the name the old code used for its temp file.
    planted = folders.user / "tstray.desktop.tmp"
    planted.symlink_to(folders.outside / "planted")

    entry = linux_entry()
    entry.enable(COMMAND)

    assert target.read_text(encoding="utf-8") == "keep me\n"
    assert not (folders.outside / "planted").exists()
    assert not folders.user_file.is_symlink()
    assert entry.is_enabled()
    assert_valid(folders.user_file)
    assert sorted(path.name for path in folders.user.iterdir()) == [
        "tstray.desktop",
        "tstray.desktop.tmp",
    ]


def test_disable_over_a_system_entry_replaces_a_symlink(folders: Folders) -> None:
    system_file = folders.put_system(SYSTEM_ENTRY)
    folders.user.mkdir(parents=True)
    # The worst link: the user's entry pointing at the system one (we run as
    # root here, so writing through it would change the system file).
    folders.user_file.symlink_to(system_file)
    entry = linux_entry()
    assert entry.is_enabled()

    entry.disable()

    assert system_file.read_text(encoding="utf-8") == SYSTEM_ENTRY
    assert_hidden_entry(folders.user_file, SYSTEM_EXEC)
    assert not entry.is_enabled()


def test_disable_without_a_system_entry_removes_only_the_link(
    folders: Folders,
) -> None:
    target = folders.outside / "precious.desktop"
    target.write_text(SYSTEM_ENTRY, encoding="utf-8")
    folders.user.mkdir(parents=True)
    folders.user_file.symlink_to(target)
    entry = linux_entry()
    assert entry.is_enabled()

    entry.disable()

    assert not folders.user_file.is_symlink()
    assert not folders.user_file.exists()
    assert target.read_text(encoding="utf-8") == SYSTEM_ENTRY


def test_a_failed_write_leaves_no_temp_file(folders: Folders) -> None:
    # A folder where the entry should be: the rename fails.
    (folders.user_file / "inside").mkdir(parents=True)
    entry = linux_entry()

    with pytest.raises(OSError):
        entry.enable(COMMAND)

    assert [path.name for path in folders.user.iterdir()] == ["tstray.desktop"]


# -- system files that cannot be read ---------------------------------------


def _not_utf8(path: Path) -> None:
    path.write_bytes(b"[Desktop Entry]\nType=Application\nName=\xc3\x28\nExec=x\n")


def _directory(path: Path) -> None:
    path.mkdir()


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _no_group(path: Path) -> None:
    path.write_text("Type=Application\nExec=x\n", encoding="utf-8")


def _no_permission(path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    path.write_text(SYSTEM_ENTRY, encoding="utf-8")
    path.chmod(0)


@pytest.mark.parametrize(
    "spoil",
    [_not_utf8, _directory, _fifo, _no_group, _no_permission],
    ids=["not UTF-8", "directory", "FIFO", "no group", "no permission"],
)
def test_unreadable_system_file_counts_as_no_system_entry(
    folders: Folders,
    caplog: pytest.LogCaptureFixture,
    spoil: Callable[[Path], None],
) -> None:
    folders.system_first.mkdir(parents=True)
    system_file = folders.system_first / "tstray.desktop"
    spoil(system_file)
    entry = linux_entry()

    # Read in a thread so that a reader blocked on the FIFO fails the test
    # instead of hanging it.
    results: list[bool] = []
    reader = threading.Thread(
        target=lambda: results.append(entry.is_enabled()), daemon=True
    )
    with caplog.at_level(logging.WARNING, logger="tstray.autostart"):
        reader.start()
        reader.join(timeout=30)
    if reader.is_alive():
        # Let the stuck reader go: a writer opening the FIFO unblocks it.
        os.close(os.open(system_file, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("is_enabled blocked on a system file")
    assert results == [False]
    assert str(system_file) in caplog.text

    # Off means deleting the user's file, as without a system entry.
    entry.enable(COMMAND)
    entry.disable()
    assert not folders.user_file.exists()

    # A readable entry in a less important folder still counts.
    folders.put_system(SYSTEM_ENTRY, second=True)
    assert entry.is_enabled()
