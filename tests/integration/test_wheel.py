"""The wheel that ``pip install .`` and ``pipx install .`` build: it must hold
every module of the package, the resources the app loads at run time, and
the ``tstray`` command.

Builds a real wheel with pip from a copy of the source (so the work tree gets
no build/ or egg-info folders) and reads its file list; installs nothing.
A fresh-venv install and a run of the installed ``tstray`` are checked by
hand and by packaging/build-linux.sh (see README, "Install").
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Translation sources are for translators; the app loads the compiled .qm.
_SOURCE_ONLY_SUFFIXES = {".ts"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("tstray", "resources"):
        shutil.copytree(REPO / folder, source / folder, ignore=ignore)

    out = tmp_path_factory.mktemp("wheels")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("tstray-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def _names(archive: zipfile.ZipFile) -> set[str]:
    return set(archive.namelist())


def test_wheel_holds_every_module_of_the_package(wheel: zipfile.ZipFile) -> None:
    expected = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "tstray").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    missing = sorted(expected - _names(wheel))
    # A new subpackage must be listed in pyproject's [tool.setuptools] packages.
    assert not missing, f"modules missing from the wheel: {missing}"
    assert "tstray/py.typed" in _names(wheel)


def test_wheel_holds_the_resources_inside_the_package(
    wheel: zipfile.ZipFile,
) -> None:
    expected = {
        "tstray/resources/" + path.relative_to(REPO / "resources").as_posix()
        for path in (REPO / "resources").rglob("*")
        if path.is_file() and path.suffix not in _SOURCE_ONLY_SUFFIXES
    }
    assert "tstray/resources/icons/health-ok.svg" in expected
    assert "tstray/resources/icons/tstray.svg" in expected
    missing = sorted(expected - _names(wheel))
    # tstray.ui.icons.resource_path looks in tstray/resources/ when installed.
    assert not missing, f"resources missing from the wheel: {missing}"


def test_wheel_installs_the_tstray_command(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [
        name for name in _names(wheel) if name.endswith(".dist-info/entry_points.txt")
    ]
    text = wheel.read(entry_points).decode()
    # A GUI script: on Windows it starts without a console window.
    assert "[gui_scripts]" in text
    assert "tstray = tstray.cli:main" in text


def test_wheel_leaves_out_tests_and_packaging(wheel: zipfile.ZipFile) -> None:
    stray = sorted(
        name
        for name in _names(wheel)
        if name.startswith(("tests/", "packaging/", "docs/")) or "__pycache__" in name
    )
    assert not stray


# --- the Linux desktop files in packaging/ ---------------------------------

LINUX = REPO / "packaging" / "linux"


def _desktop_keys(text: str) -> dict[str, str]:
    keys = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            keys[name.strip()] = value.strip()
    return keys


def test_packaged_autostart_entry_matches_the_one_tstray_writes(
    tmp_path: Path,
) -> None:
    from tstray.autostart import XdgAutostart, entry_name, launch_command

    # What "start at login" writes for an installed (pipx or frozen) tstray.
    written = XdgAutostart(entry_name(demo=False), tmp_path)
    written.enable(launch_command(executable="tstray", frozen=True))
    runtime = _desktop_keys(written.path.read_text(encoding="utf-8"))
    packaged = _desktop_keys(
        (LINUX / "tstray-autostart.desktop").read_text(encoding="utf-8")
    )

    # Installed as ~/.config/autostart/tstray.desktop: the same file name.
    assert written.path.name == "tstray.desktop"
    for key in ("Type", "Name", "Exec", "Terminal", "X-GNOME-Autostart-enabled"):
        assert packaged.get(key) == runtime.get(key), key
    assert packaged["Exec"] == "tstray"
    assert packaged["X-GNOME-Autostart-enabled"] == "true"


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("desktop-file-validate", ["tstray.desktop", "tstray-autostart.desktop"]),
        (
            "appstreamcli",
            ["validate", "--no-net", "io.github.tstray.Tstray.metainfo.xml"],
        ),
    ],
)
def test_linux_desktop_files_validate(tool: str, arguments: list[str]) -> None:
    if shutil.which(tool) is None:
        # Debian packages desktop-file-utils and appstream.
        pytest.skip(f"{tool} is not installed")
    checked = subprocess.run(
        [tool, *arguments], cwd=LINUX, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "error" not in (checked.stdout + checked.stderr).lower()
