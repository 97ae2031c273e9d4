"""The local API key file: created private and atomically, read back
stripped, permissions tightened, rotated by replacement."""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tstray.server.api_key import load_or_create_api_key, rotate_api_key

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


@pytest.fixture(autouse=True)
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_creates_a_private_key_file_in_a_private_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old_umask = os.umask(0o000)  # the file must be private whatever the umask
    try:
        key_file = tmp_path / "config" / "tstray" / "api-key"
        key = load_or_create_api_key(key_file)
    finally:
        os.umask(old_umask)

    assert len(key) >= 40
    assert key_file.read_text() == key + "\n"
    assert mode(key_file) == 0o600
    assert mode(key_file.parent) == 0o700
    assert key not in caplog.text


def test_reads_the_same_key_back(tmp_path: Path) -> None:
    key_file = tmp_path / "api-key"

    assert load_or_create_api_key(key_file) == load_or_create_api_key(key_file)


def test_each_new_file_gets_a_new_key(tmp_path: Path) -> None:
    keys = {load_or_create_api_key(tmp_path / f"key-{n}") for n in range(5)}

    assert len(keys) == 5


def test_strips_whitespace_a_user_added(tmp_path: Path) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_text("  my-own-key-0123456789abcdef \n\n")
    key_file.chmod(0o600)

    assert load_or_create_api_key(key_file) == "my-own-key-0123456789abcdef"


def test_tightens_loose_permissions_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_text("shared-key-0123456789abcdef\n")
    key_file.chmod(0o644)

    key = load_or_create_api_key(key_file)

    assert key == "shared-key-0123456789abcdef"
    assert mode(key_file) == 0o600
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "644" in warnings[0].getMessage()
    assert key not in caplog.text


def test_leaves_an_existing_folder_as_the_user_set_it(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)

    load_or_create_api_key(tmp_path / "api-key")

    assert mode(tmp_path) == 0o755


@pytest.mark.parametrize("content", [b"", b"   \n", b"two words\n", b"\xff\xfe\n"])
def test_an_unusable_file_gets_a_new_key(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_bytes(content)
    key_file.chmod(0o600)

    key = load_or_create_api_key(key_file)

    assert len(key) >= 40
    assert key_file.read_text().strip() == key
    assert mode(key_file) == 0o600
    assert "unusable" in caplog.text


def test_a_short_key_is_kept_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_text("short\n")
    key_file.chmod(0o600)

    assert load_or_create_api_key(key_file) == "short"
    assert "shorter than" in caplog.text


def test_a_symlink_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("planted-key-0123456789abcdef\n")
    key_file = tmp_path / "api-key"
    key_file.symlink_to(target)

    with pytest.raises(OSError):
        load_or_create_api_key(key_file)


def test_racing_creators_all_get_the_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "api-key"
    start = threading.Barrier(8)
    keys: list[str] = []

    def create() -> None:
        start.wait()
        keys.append(load_or_create_api_key(key_file))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(keys) == 8
    assert set(keys) == {key_file.read_text().strip()}


def test_rotate_replaces_the_key_atomically(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "api-key"
    old_key = load_or_create_api_key(key_file)

    new_key = rotate_api_key(key_file)

    assert new_key != old_key
    assert load_or_create_api_key(key_file) == new_key
    assert mode(key_file) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api-key"]
    assert old_key not in caplog.text
    assert new_key not in caplog.text


def test_rotate_creates_a_missing_file(tmp_path: Path) -> None:
    key_file = tmp_path / "new" / "api-key"

    key = rotate_api_key(key_file)

    assert key_file.read_text() == key + "\n"
    assert mode(key_file) == 0o600
    assert mode(key_file.parent) == 0o700
