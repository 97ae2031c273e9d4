"""The short version of tests/reliability/soak_run.py, for the default run:
the real app against the demo sign-in service with 2-second tokens for
about 12 refreshes, sampled from /proc every second.

It checks what a short run can show without guessing at noise: the app
never crashes, never serves an expired token, and its open descriptors do
not grow with the refreshes. Memory is printed, not judged: a short run
cannot tell a leak from warm-up (the long run's slope does that).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.reliability.soak_run import report, run_soak

pytestmark = pytest.mark.e2e

ACCESS_LIFETIME_S = 2
FD_TOLERANCE = 4


def test_many_refreshes_leave_no_crash_and_no_growing_descriptors(
    tmp_path: Path,
) -> None:
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip_or_fail("needs tests/with-desktop.sh (an X screen and a Secret Service)")

    result = run_soak(
        tmp_path,
        duration_s=12,
        access_lifetime_s=ACCESS_LIFETIME_S,
        sample_s=1.0,
        warm_up_s=3.0,
    )
    print(report(result, ACCESS_LIFETIME_S))

    assert not result.crashed and result.exit_code == 0
    assert result.refreshes >= 6
    assert result.token_answers > 0 and result.expired_served == 0
    later = result.after_warm_up()
    # A descriptor leaked per refresh would add about 9 here; a connection
    # open at the moment of a sample adds one or two.
    first_fds = later[0].open_fds
    assert max(s.open_fds for s in later) <= first_fds + FD_TOLERANCE
