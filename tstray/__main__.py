"""Lets ``python -m tstray`` behave exactly like the ``tstray`` command."""

import sys

from tstray.cli import main

sys.exit(main())
