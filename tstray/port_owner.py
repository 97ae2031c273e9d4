"""Who listens on a loopback port, by user id, from Linux's /proc.

Before a client sends the local API key to ``127.0.0.1:<port>``, it checks
that the listener there belongs to the same user: if tstray is not running,
another user's program could have taken the port to collect the key and hand
out fake tokens. Standard library only; never reads another process's files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_LISTEN = "0A"


def listener_uids(port: int, proc: Path = Path("/proc")) -> set[int] | None:
    """The user ids of the TCP sockets listening on ``port``.

    Returns None where this cannot be told (not Linux, no /proc).
    """
    if not sys.platform.startswith("linux"):
        return None
    uids: set[int] = set()
    readable = False
    for table in ("tcp", "tcp6"):
        try:
            rows = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for row in rows:
            fields = row.split()
            if len(fields) < 8 or fields[3] != _LISTEN:
                continue
            if int(fields[1].rpartition(":")[2], 16) == port:
                uids.add(int(fields[7]))
    return uids if readable else None


def foreign_listener(port: int, proc: Path = Path("/proc")) -> bool:
    """True when someone other than this user listens on ``port``."""
    uids = listener_uids(port, proc)
    return bool(uids) and uids != {os.getuid()}
