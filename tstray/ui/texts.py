"""The words the tray, the dialogs and the notifications use for a session.

Every user-visible sentence about the session is made here, so the tray
tooltip, the status window and a notification never describe the same state
in three different ways, and so translation has one place to start. Strings
go through ``tr()`` (Qt's translation lookup, a no-op until a translation is
installed). This module reads snapshots only: it never shows a token and
never decides anything about one.
"""

from __future__ import annotations

import textwrap
from datetime import datetime

from PySide6.QtCore import QCoreApplication

from tstray.i18n import translating
from tstray.session.state import SessionSnapshot, SessionState

# The translation context of every tstray string.
TRANSLATION_CONTEXT = "tstray"
# Tooltips wider than this are hard to read next to a tray icon.
TOOLTIP_LINE_CHARS = 60

# Error codes the session publishes, grouped by what fixes them.
_SIGN_IN_CODES = frozenset(
    {
        "invalid_grant",
        "access_denied",
        "no_refresh_token",
        "login_required",
        "consent_required",
        "SignInRequiredError",
    }
)
_CLIENT_CODES = frozenset(
    {"invalid_client", "unauthorized_client", "ClientRejectedError"}
)
_NETWORK_CODES = frozenset({"network", "offline", "NetworkError"})
_SERVER_CODES = frozenset(
    {
        "server_error",
        "server_busy",
        "temporarily_unavailable",
        "rate_limited",
        "malformed_response",
        "ServerBusyError",
        "MalformedResponseError",
    }
)
_KEYRING_CODES = frozenset({"keyring_unavailable", "keyring_locked"})
_STORED_DATA_CODES = frozenset({"stored_data_unreadable"})


def tr(text: str) -> str:
    """Looks ``text`` up in the installed translation (context "tstray").

    Works without a QApplication: Qt then hands the text back unchanged.
    """
    return QCoreApplication.translate(TRANSLATION_CONTEXT, text)


def format_duration(seconds: float) -> str:
    """Says how long ``seconds`` is, the way a person would read it.

    Under a minute it counts seconds ("45 s"), under an hour whole minutes
    ("17 min"), above that hours and minutes ("1 h 5 min", "2 h"). Parts are
    rounded down: a token with 17 min 50 s left is "17 min", never more than
    it really has. Negative durations read as "0 s".
    """
    whole_s = max(0, int(seconds))
    if whole_s < 60:
        return tr("{seconds} s").format(seconds=whole_s)

    minutes = whole_s // 60
    if minutes < 60:
        return tr("{minutes} min").format(minutes=minutes)

    hours, minutes = divmod(minutes, 60)
    if minutes == 0:
        return tr("{hours} h").format(hours=hours)
    return tr("{hours} h {minutes} min").format(hours=hours, minutes=minutes)


def _reasons() -> dict[str, str]:
    # Built on each call: tr() must run after the translation is installed.
    return {
        "invalid_grant": tr("TradeStation refused the saved sign-in"),
        "SignInRequiredError": tr("TradeStation refused the saved sign-in"),
        "no_refresh_token": tr("the sign-in gave no refresh token"),
        "access_denied": tr("the sign-in was declined"),
        "invalid_client": tr("TradeStation refused the API key or client secret"),
        "unauthorized_client": tr("TradeStation refused the API key or client secret"),
        "ClientRejectedError": tr("TradeStation refused the API key or client secret"),
        "network": tr("TradeStation could not be reached"),
        "server_error": tr("TradeStation's sign-in service answered with an error"),
        "keyring_unavailable": tr("the system keyring cannot be used right now"),
        "stored_data_unreadable": tr("the saved sign-in in the keyring cannot be read"),
    }


def reason_words(snapshot: SessionSnapshot) -> str:
    """Why the last step failed, in the user's language.

    The session's ``last_error`` is an English sentence with the details
    (status codes, retry times). In English it is shown as it is; in another
    language a translated sentence chosen by the stable ``error_code`` takes
    its place, and the details stay in the log.
    """
    if not translating():
        return snapshot.last_error
    return _reasons().get(snapshot.error_code, snapshot.last_error)


def fix_for(error_code: str) -> str:
    """Says what the user can do about the failure ``error_code``.

    Returns an empty string when there is no failure (empty code).
    """
    if not error_code:
        return ""
    if error_code in _SIGN_IN_CODES:
        return tr("Choose \u201cSign in again\u2026\u201d in the tray menu.")
    if error_code in _CLIENT_CODES:
        return tr(
            "Check the API key and client secret in the first-run window "
            "(or config.toml), then sign in again."
        )
    if error_code in _NETWORK_CODES:
        return tr("Check your internet connection; tstray keeps retrying on its own.")
    if error_code in _SERVER_CODES:
        return tr(
            "TradeStation's sign-in service is having trouble; tstray keeps "
            "retrying on its own."
        )
    if error_code in _KEYRING_CODES:
        return tr("Unlock your keyring (password manager); tstray retries on its own.")
    if error_code in _STORED_DATA_CODES:
        return tr(
            "The saved sign-in could not be read; choose \u201cSign in "
            "again\u2026\u201d in the tray menu."
        )
    return tr("Open the log folder for details; sign in again if it goes on.")


def account_words(snapshot: SessionSnapshot) -> str:
    """ "Signed in as <name>", or just "Signed in" when the name is unknown."""
    if snapshot.account:
        return tr("Signed in as {account}").format(account=snapshot.account)
    return tr("Signed in")


def time_left_words(snapshot: SessionSnapshot, now: datetime) -> str:
    """How long the held token lives, or that none can be handed out."""
    seconds_left = snapshot.seconds_left(now)
    if snapshot.access_token is None or seconds_left is None:
        return tr("No token held")
    if seconds_left <= 0:
        return tr("Token expired; no token can be handed out")
    return tr("Token valid for {duration}").format(
        duration=format_duration(seconds_left)
    )


def _retry_words(snapshot: SessionSnapshot, now: datetime) -> str:
    if snapshot.next_refresh_at is None:
        return tr("retrying")
    wait_s = (snapshot.next_refresh_at - now).total_seconds()
    if wait_s <= 0:
        return tr("retrying now")
    return tr("retrying in {duration}").format(duration=format_duration(wait_s))


def headline(snapshot: SessionSnapshot, now: datetime, with_reason: bool = True) -> str:
    """The state in a few words, without the time left: the tooltip's first
    line and the status window's state line.

    Args:
        snapshot: the session.
        now: the current time.
        with_reason: whether "Sign-in needed" says why (the status window
            shows the reason on a line of its own).
    """
    state = snapshot.state
    if snapshot.keyring_unread:
        return tr("Keyring locked, stored sign-in not read yet")
    if state is SessionState.SIGNED_OUT:
        return tr("Signed out")
    if state is SessionState.VALID:
        return account_words(snapshot)
    if state is SessionState.REFRESHING:
        return tr("{account}, refreshing the token").format(
            account=account_words(snapshot)
        )
    if state is SessionState.RETRYING:
        return tr("Token refresh failed, {retry}").format(
            retry=_retry_words(snapshot, now)
        )
    if state is SessionState.OFFLINE:
        return tr("Can't reach TradeStation, {retry}").format(
            retry=_retry_words(snapshot, now)
        )
    if state is SessionState.EXPIRED_RETRYING:
        return tr("Token expired, {retry}").format(retry=_retry_words(snapshot, now))

    if not with_reason:
        return tr("Sign-in needed")
    reason = reason_words(snapshot) or tr("TradeStation no longer accepts the sign-in")
    return tr("Sign-in needed: {reason}").format(reason=reason)


def describe(snapshot: SessionSnapshot, now: datetime) -> str:
    """The session's state in one line of words, time left included."""
    first = headline(snapshot, now)
    if snapshot.state in (SessionState.SIGNED_OUT, SessionState.SIGN_IN_NEEDED):
        return first

    seconds_left = snapshot.seconds_left(now)
    if snapshot.access_token is None or seconds_left is None or seconds_left <= 0:
        return tr("{headline} \u2014 no token can be handed out").format(headline=first)
    return tr("{headline} \u2014 token valid for {duration}").format(
        headline=first, duration=format_duration(seconds_left)
    )


def tooltip(snapshot: SessionSnapshot, now: datetime) -> str:
    """The tray icon's tooltip: app name and state, then what to know next."""
    first = tr("tstray \u2014 {headline}").format(headline=headline(snapshot, now))
    state = snapshot.state
    if snapshot.keyring_unread:
        second = tr("Unlock your keyring; tstray tries again every 30 s")
    elif state is SessionState.SIGNED_OUT:
        second = tr("Click to sign in to TradeStation")
    elif state is SessionState.SIGN_IN_NEEDED:
        second = tr("Click to sign in again")
    else:
        second = time_left_words(snapshot, now)
    return "\n".join(
        textwrap.fill(line, TOOLTIP_LINE_CHARS, break_on_hyphens=False)
        for line in (first, second)
    )
