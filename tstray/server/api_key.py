"""The local API key: a random secret in a file only the user can read.

Local programs read the key from this file and send it to the local token
service as a bearer token. The file appears whole and with mode 0600 (its
folder 0700), so no other user ever sees it, even for a moment, and no reader
sees it half written; looser permissions found on an existing file are
tightened. This module never logs or prints the key.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger(__name__)

_KEY_BYTES = 32
# Keys are written by us (URL-safe base64), but a user may paste their own:
# anything visible in ASCII works in an Authorization header.
_MIN_KEY_LENGTH = 16


def new_api_key() -> str:
    return secrets.token_urlsafe(_KEY_BYTES)


def load_or_create_api_key(path: Path) -> str:
    """Returns the key in ``path``, creating the file with a new key if there
    is none (or only an unusable one).

    Raises:
        OSError: the folder or file cannot be created or read.
    """
    _make_private_folder(path.parent)
    key = new_api_key()
    if _create(path, key):
        log.info("created a new local API key in %s", path)
        return key

    existing = _read_private_file(path)
    if existing is None:
        log.warning(
            "the local API key in %s is empty or unusable; made a new one", path
        )
        return rotate_api_key(path)
    if len(existing) < _MIN_KEY_LENGTH:
        log.warning(
            "the local API key in %s is shorter than %d characters; consider"
            " `tstray api-key --rotate`",
            path,
            _MIN_KEY_LENGTH,
        )
    return existing


def rotate_api_key(path: Path) -> str:
    """Replaces the key in ``path`` with a new one, atomically, and returns it.

    A reader sees either the old file or the new one, never a half-written
    key: the new key goes to a private temporary file that then replaces it.
    """
    _make_private_folder(path.parent)
    key = new_api_key()
    temporary = _write_temporary(path, key)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    log.info("made a new local API key in %s", path)
    return key


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _make_private_folder(folder: Path) -> None:
    # Only a folder made here is set to 0700: an existing one (a config folder
    # the user chose) is left as the user set it; the file's 0600 protects it.
    if folder.is_dir():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)  # mkdir's mode is cut by the umask


def _create(path: Path, key: str) -> bool:
    """Makes ``path`` hold ``key`` unless it exists; False if it did.

    The key is written to a private temporary file first and then linked
    into place, which fails if the name exists: the file appears whole, so a
    racing reader never sees it empty.
    """
    temporary = _write_temporary(path, key)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    except OSError:
        # A file system without hard links: create in place. O_EXCL still
        # makes exactly one creator win.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        except FileExistsError:
            return False
        _write_and_close(fd, key)
    finally:
        temporary.unlink(missing_ok=True)
    _sync_folder(path.parent)
    return True


def _write_temporary(path: Path, key: str) -> Path:
    """A new private file next to ``path`` holding ``key``."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    try:
        _write_and_close(fd, key)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _write_and_close(fd: int, key: str) -> None:
    try:
        # The umask may have cut the mode given to open; set it exactly.
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        os.write(fd, (key + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_private_file(path: Path) -> str | None:
    """The stripped key in ``path``, tightening loose permissions first;
    None when the file holds no usable key."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} is not a regular file")
        if hasattr(os, "fchmod") and info.st_mode & 0o077:
            os.fchmod(fd, 0o600)
            log.warning(
                "the local API key file %s could be read by other users (mode %o);"
                " set it to 600. Rotate the key if others may have read it.",
                path,
                stat.S_IMODE(info.st_mode),
            )
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(4096)
    finally:
        os.close(fd)

    try:
        key = data.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    if not key or not all("!" <= char <= "~" for char in key):
        return None
    return key


def _sync_folder(folder: Path) -> None:
    # Makes the rename itself durable; folders cannot be opened on Windows.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
