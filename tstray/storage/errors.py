"""The failures of tstray's keyring storage, and how a keyring library error
becomes one of them.

Every error carries a ``reason``: one sentence for the user that says what went
wrong and how to fix it. A reason names the kind of failure and the exception
type only; it never quotes a stored value, and it never quotes the library's
own message, which is kept on the chained ``__cause__`` for tracebacks.

    StoreError
    ├── KeyringUnavailableError   locked, no Secret Service, refused, timed out
    └── StoredDataError           what is stored is damaged or unknown
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every keyring storage failure.

    Attributes:
        reason: a sentence for the user, including how to fix the problem.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeyringUnavailableError(StoreError):
    """The keyring cannot be used now: locked, absent, unsafe, refused or slow.

    Nothing stored was harmed; trying again later may work.
    """


class StoredDataError(StoreError):
    """What the keyring holds is damaged or written by an unknown tstray.

    The stored item is left in place: the user decides, by signing in again
    (which overwrites it) or by removing it with their keyring tool.
    """


# secretstorage (the Secret Service client on Linux) is optional, so its
# exceptions are recognised by class name rather than imported.
_LOCKED_NAMES = frozenset({"LockedException", "PromptDismissedException"})
_NO_SERVICE_NAMES = frozenset({"SecretServiceNotAvailableException"})

_LOCKED = (
    "The keyring is locked: unlock it (log in to your desktop session) and "
    "tstray will retry."
)
_NO_KEYRING = (
    "No system keyring is available: tstray keeps tokens only in the system "
    "keyring (GNOME Keyring or KWallet on Linux, Credential Manager on Windows, "
    "Keychain on macOS); start or install one and try again."
)
_NO_SERVICE = (
    "The keyring service could not be reached ({kind}): make sure a Secret "
    "Service such as GNOME Keyring or KWallet runs in your desktop session, "
    "then try again."
)


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def unavailable_from(exc: BaseException, action: str) -> KeyringUnavailableError:
    """Turns an exception from a keyring call into a ``KeyringUnavailableError``.

    Args:
        exc: what the keyring library (or D-Bus below it) raised.
        action: what tstray was doing, in words, e.g. "save the tokens".

    Returns:
        The error to raise ``from exc``; its reason says what to do next.
    """
    # Imported here, not at the top: the rest of the app uses these error
    # classes long before (and often without) loading the keyring library.
    from keyring import errors as keyring_errors

    kind = type(exc).__name__
    names = _class_names(exc)

    if isinstance(exc, keyring_errors.KeyringLocked) or names & _LOCKED_NAMES:
        return KeyringUnavailableError(_LOCKED)

    if isinstance(exc, keyring_errors.NoKeyringError):
        return no_keyring_error()

    if names & _NO_SERVICE_NAMES or isinstance(exc, OSError | EOFError):
        return KeyringUnavailableError(_NO_SERVICE.format(kind=kind))

    if isinstance(exc, keyring_errors.InitError):
        return KeyringUnavailableError(
            f"The keyring could not be opened to {action} ({kind}): check that "
            "your keyring service runs and its default collection exists, then "
            "try again."
        )

    if isinstance(exc, keyring_errors.PasswordSetError):
        return KeyringUnavailableError(
            f"The keyring refused to {action} ({kind}): check that it is "
            "unlocked and accepts new items, then try again."
        )

    if isinstance(exc, keyring_errors.PasswordDeleteError):
        return KeyringUnavailableError(
            f"The keyring refused to {action} ({kind}): remove the tstray items "
            "with your keyring tool if this keeps happening."
        )

    # Anything else (a D-Bus error reply, a Windows API error, a generic
    # KeyringError) is reported by type: its text may come from far below.
    return KeyringUnavailableError(
        f"The keyring failed to {action} ({kind}): check that your keyring "
        "service runs and is unlocked, then try again."
    )


def no_keyring_error() -> KeyringUnavailableError:
    """The error for a machine without a usable system keyring."""
    return KeyringUnavailableError(_NO_KEYRING)


def timed_out(action: str, timeout_s: float) -> KeyringUnavailableError:
    """The error for a keyring call that did not answer in ``timeout_s``."""
    return KeyringUnavailableError(
        f"The keyring did not answer in {timeout_s:g} s while trying to {action}: "
        "it may be waiting for you to unlock it; unlock it and tstray will retry."
    )
