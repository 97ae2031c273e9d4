"""The frozen app's entry point: the same as the ``tstray`` command.

PyInstaller needs a script; this one only hands over to ``tstray.cli.main``,
which also serves ``tstray --sign-in-window`` (the sign-in window's child
process, since a frozen app has no ``python -m``).
"""

import sys

from tstray.cli import main

if __name__ == "__main__":
    sys.exit(main())
