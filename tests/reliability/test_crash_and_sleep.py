"""Short versions of the crash run and the sleep run (the long ones are the
scripts ``crash_run.py`` and ``sleep_run.py`` next to this file).

Crash: the real app against the rotating demo service, killed with SIGKILL at
seeded random moments and restarted, until 10 refreshes have happened: no
token may be served after its expiry, and no sign-in may be forced except in
the lost-reply window. Sleep: the app is frozen with SIGSTOP past its token's
expiry and resumed: a valid token must be served again (the wait is bounded
only as a timeout) and never an expired one meanwhile.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.reliability.crash_run import crash_run
from tests.reliability.sleep_run import sleep_run

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _desktop() -> None:
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip_or_fail("needs tests/with-desktop.sh (an X screen and a Secret Service)")


def test_killed_at_random_the_app_never_serves_an_expired_token(
    tmp_path: Path,
) -> None:
    figures = crash_run(10, 7, tmp_path, access_lifetime_s=2, max_seconds=120)

    assert figures.finished, figures.table()
    assert figures.kills >= 3, figures.table()
    assert figures.expired_served == 0, figures.table()
    assert figures.late_expires_at == 0, figures.table()
    assert figures.sign_ins_outside_window == 0, figures.table()
    assert figures.token_answers > 0, figures.table()


def test_after_a_freeze_past_expiry_a_valid_token_comes_back_never_a_stale_one(
    tmp_path: Path,
) -> None:
    figures = sleep_run(1, tmp_path, access_lifetime_s=3, stopped_s=4.0)

    assert len(figures.recoveries_s) == 1, figures.table()
    assert figures.expired_served == 0, figures.table()
    assert figures.late_expires_at == 0, figures.table()
