"""Tells the user, once, when the keyring cannot keep their sign-in: it is
locked, missing or not answering, or what it holds cannot be read.

The session reports keyring trouble in its snapshot (``error_code``
``keyring_unavailable`` or ``stored_data_unreadable``) without changing its
state, since programs still get tokens from memory; the tray's health colour
therefore stays green and ``NotificationPolicy`` says nothing. This module
fills that gap: one notice when such a stretch begins, none while it lasts
(every failed retry republishes the same error), and a new one only after
the keyring worked again in between. It never shows a token: the texts come
from the snapshot's ``last_error``, which the storage layer keeps free of them.
"""

from __future__ import annotations

import logging

from tstray.session.state import SessionSnapshot
from tstray.ui.notifications import Notice, Notifier
from tstray.ui.texts import reason_words, tr

log = logging.getLogger(__name__)

KEYRING_UNAVAILABLE = "keyring_unavailable"
STORED_DATA_UNREADABLE = "stored_data_unreadable"
_STORE_CODES = (KEYRING_UNAVAILABLE, STORED_DATA_UNREADABLE)


def store_notice(snapshot: SessionSnapshot) -> Notice:
    """The notice for the keyring trouble ``snapshot`` reports."""
    reason = reason_words(snapshot).rstrip(".")
    if snapshot.error_code == STORED_DATA_UNREADABLE:
        return Notice(
            STORED_DATA_UNREADABLE,
            tr("Saved sign-in cannot be read"),
            tr("{reason}. tstray leaves it as it is until you sign in again.").format(
                reason=reason
            ),
        )
    if snapshot.access_token is not None:
        effect = tr(
            "Programs still get tokens: tstray keeps the sign-in in memory and "
            "saves it as soon as the keyring lets it."
        )
    else:
        effect = tr("tstray keeps trying to read it.")
    return Notice(
        KEYRING_UNAVAILABLE,
        tr("Keyring not available"),
        tr("{reason}. {effect}").format(reason=reason, effect=effect),
    )


class StoreNotices:
    """Shows one notice per stretch of keyring trouble.

    Feed it every snapshot with ``on_session_changed``.
    """

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._noticed_code = ""

    def on_session_changed(self, snapshot: SessionSnapshot) -> None:
        code = snapshot.error_code
        if code in _STORE_CODES:
            if code != self._noticed_code:
                self._noticed_code = code
                self._notifier.notify(store_notice(snapshot))
            return
        if not code:
            # The keyring worked (or was never needed) since: a later failure
            # is news again.
            self._noticed_code = ""
