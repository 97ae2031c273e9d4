"""How tstray starts a process of its own: this Python running one of its
modules, or the frozen app with a flag.

Python is started with ``-P``, so the folder tstray was started from stays
off the import path: a ``token.py`` or ``json.py`` lying there must never be
imported by a tstray process (the keyring helper receives tokens on stdin,
the sign-in window the authorization code). The flag is as old as the
Python tstray needs (3.11).
"""

from __future__ import annotations

import sys


def own_command(
    module: str,
    frozen_flag: str | None = None,
    *,
    executable: str = sys.executable,
    frozen: bool = bool(getattr(sys, "frozen", False)),
) -> list[str]:
    """The command line that runs ``module`` as a tstray process.

    Args:
        module: the module ``python -m`` runs, e.g. ``"tstray.storage.helper"``.
        frozen_flag: the frozen app's flag for the same process (the frozen
            app has no ``-m``), e.g. ``"--keyring-helper"``; None for none.
        executable: the Python interpreter, or the frozen program.
        frozen: whether ``executable`` is the frozen tstray.
    """
    if frozen:
        return [executable] if frozen_flag is None else [executable, frozen_flag]
    return [executable, "-P", "-m", module]
