"""Keyring backends with faults, for running the real app against a keyring
that hangs or is too small. The app loads one through keyring's own
documented switch, ``PYTHON_KEYRING_BACKEND=tests.helpers.fake_keyring_backends.<Class>``
(with the repository on ``PYTHONPATH``); tstray itself has no test hook.

Both wrap the real Secret Service of the test desktop, so what the app stores
is really stored and a test can read it back; only the fault is injected:

- ``SlowKeyring`` answers nothing while the file named by
  ``TSTRAY_TEST_KEYRING_CONTROL`` says ``hang`` (a keyring waiting behind an
  unlock prompt nobody answers, or a wedged D-Bus service), then carries on.
- ``WindowsLikeKeyring`` refuses values longer than Windows Credential
  Manager takes (2,560 bytes of UTF-16, 1,280 characters), and its module name
  says "Windows" the way keyring's own backend's does, which is how tstray
  knows to split long values.

A backend here is viable only when ``PYTHON_KEYRING_BACKEND`` names it, so
keyring's own discovery never picks one by accident. Nothing here logs or
prints a value.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from keyring import errors as keyring_errors
from keyring.backend import KeyringBackend
from keyring.backends.SecretService import Keyring as SecretServiceKeyring
from keyring.compat import properties

CONTROL_ENV = "TSTRAY_TEST_KEYRING_CONTROL"
WINDOWS_MAX_CHARS = 1280
# How often a hung call looks whether the test has let it go.
_HANG_CHECK_S = 0.1


def _named_by_environment(cls: type) -> bool:
    named = os.environ.get("PYTHON_KEYRING_BACKEND", "")
    return named.rpartition(".")[2] == cls.__name__ and "fake_keyring" in named


class _SecretServiceProxy(KeyringBackend):
    """Passes every call to the real Secret Service after ``_before``."""

    @properties.classproperty
    def priority(cls) -> float:  # noqa: N805 -- a classproperty gets the class
        if not _named_by_environment(cls):
            raise RuntimeError("a test backend, used only when named")
        return 1.0

    def __init__(self) -> None:
        super().__init__()
        self._real = SecretServiceKeyring()

    def _before(self, operation: str, value: str | None) -> None:
        """Injects the fault, if any."""

    def get_password(self, service: str, username: str) -> str | None:
        self._before("get", None)
        value: str | None = self._real.get_password(service, username)
        return value

    def set_password(self, service: str, username: str, password: str) -> None:
        self._before("set", password)
        self._real.set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._before("delete", None)
        self._real.delete_password(service, username)


def _control() -> str:
    path = os.environ.get(CONTROL_ENV)
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


class SlowKeyring(_SecretServiceProxy):
    """Hangs every call while the control file says ``hang``."""

    def _before(self, operation: str, value: str | None) -> None:
        while _control() == "hang":
            time.sleep(_HANG_CHECK_S)


class WindowsLikeKeyring(_SecretServiceProxy):
    """Refuses values over ``WINDOWS_MAX_CHARS``, as Credential Manager does."""

    # tstray recognises Windows' backend by its module name.
    __module__ = "tests.helpers.fake_keyring_backends.Windows"

    def _before(self, operation: str, value: str | None) -> None:
        if value is not None and len(value) > WINDOWS_MAX_CHARS:
            # Like Windows' own error: a size, never the value.
            raise keyring_errors.PasswordSetError(
                f"a value of {len(value)} characters is too long"
            )
