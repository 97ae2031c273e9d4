"""The session's recent past: what happened to it over the last 24 hours
(refreshes, failures, sign-ins, sign-outs, state changes, app start and
stop), for the status window's timeline.

``SessionHistory`` is a session listener: it compares each snapshot with the
one before and records an event when something a user would care about
happened. It keeps 24 hours (and at most ``max_events``) and saves them to a
small JSON file so a restart keeps the timeline. That file holds times,
event kinds, states and sanitised error codes only: never a token, a secret,
an account name or an error message (those can carry secrets or personal
data).
"""

from __future__ import annotations

import enum
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tstray.oauth.tokens import utc_now
from tstray.session.state import SessionSnapshot, SessionState

log = logging.getLogger(__name__)

KEEP = timedelta(hours=24)
MAX_EVENTS = 3000
FILE_VERSION = 1
# Error codes are short identifiers; anything else (a code the server made
# up, text that slipped in) is stored as "other".
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
# Events stamped further ahead than this (a clock set back) are dropped.
_FUTURE_SLACK = timedelta(minutes=5)


class EventKind(enum.Enum):
    """What happened.

    START / STOP: tstray started or stopped (the timeline shows the time
        between as "not running").
    SIGN_IN: the user signed in.
    SIGN_OUT: the user signed out.
    REFRESH: a refresh brought a new access token.
    FAILURE: a refresh (or the keyring) failed; ``error_code`` says why.
    STATE: any other change of state (a stored session loaded, a token
        expired while retrying).
    """

    START = "start"
    STOP = "stop"
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    REFRESH = "refresh"
    FAILURE = "failure"
    STATE = "state"


@dataclass(frozen=True)
class HistoryEvent:
    """One moment in the session's history.

    Attributes:
        at: when (UTC).
        kind: what happened.
        state: the session's state just after it.
        error_code: for failures, a short code (``network``, ``invalid_grant``).
    """

    at: datetime
    kind: EventKind
    state: SessionState
    error_code: str = ""


def clean_error_code(code: str) -> str:
    """``code`` if it looks like an identifier, else "other" (or "")."""
    if not code:
        return ""
    return code if _ERROR_CODE.match(code) else "other"


def classify(previous: SessionSnapshot, current: SessionSnapshot) -> EventKind | None:
    """What the step from ``previous`` to ``current`` means, or None when it
    is not worth a mark on the timeline (a refresh starting, a repeat)."""
    old, new = previous.state, current.state
    new_token = current.last_refresh_at is not None and (
        current.last_refresh_at != previous.last_refresh_at
    )

    if new is SessionState.SIGNED_OUT:
        if old is not SessionState.SIGNED_OUT:
            return EventKind.SIGN_OUT
        # Signed out with a new problem: the keyring could not be read.
        changed = current.error_code != previous.error_code
        return EventKind.FAILURE if current.error_code and changed else None
    if new is SessionState.REFRESHING:
        # The refresh's outcome is what counts; it comes next.
        return None
    if new_token and new is SessionState.VALID:
        # A refresh always passes through REFRESHING first; a sign-in does not.
        return (
            EventKind.REFRESH if old is SessionState.REFRESHING else EventKind.SIGN_IN
        )
    if current.error_code and (
        old is SessionState.REFRESHING
        or old is not new
        or current.error_code != previous.error_code
    ):
        return EventKind.FAILURE
    if old is not new:
        return EventKind.STATE
    return None


class SessionHistory:
    """Records the session's events and keeps them in a file.

    Args:
        file: where to keep the events; None keeps them in memory only.
        clock: the wall clock (UTC).
        keep: how far back to keep events.
        max_events: the most events kept, oldest dropped first.
    """

    def __init__(
        self,
        file: Path | None,
        clock: Callable[[], datetime] = utc_now,
        *,
        keep: timedelta = KEEP,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self._file = file
        self._clock = clock
        self._keep = keep
        self._max_events = max_events
        self._events: list[HistoryEvent] = []
        self._last = SessionSnapshot()

    @property
    def file(self) -> Path | None:
        return self._file

    def events(self) -> list[HistoryEvent]:
        """The events of the last ``keep`` period, oldest first."""
        self._trim(self._clock())
        return list(self._events)

    def load(self) -> None:
        """Reads the saved events; a missing or damaged file starts empty."""
        if self._file is None:
            return
        try:
            text = self._file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("could not read the session history %s: %s", self._file, exc)
            return
        try:
            self._events = _parse(json.loads(text))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning(
                "session history %s is damaged (%s); starting anew", self._file, exc
            )
            self._events = []
        self._events.sort(key=lambda event: event.at)
        self._trim(self._clock())
        log.debug("loaded %d session history events", len(self._events))

    def record_start(self, snapshot: SessionSnapshot) -> None:
        """Marks that tstray started, with the session as it is now."""
        self._last = snapshot
        self._add(EventKind.START, snapshot)

    def record_stop(self) -> None:
        """Marks that tstray stops (call at shut-down)."""
        self._add(EventKind.STOP, self._last)

    def on_session_changed(self, snapshot: SessionSnapshot) -> None:
        """The session listener: records what the new snapshot means."""
        previous, self._last = self._last, snapshot
        kind = classify(previous, snapshot)
        if kind is not None:
            self._add(kind, snapshot)

    def _add(self, kind: EventKind, snapshot: SessionSnapshot) -> None:
        error_code = (
            clean_error_code(snapshot.error_code)
            if kind in (EventKind.FAILURE, EventKind.STATE, EventKind.START)
            else ""
        )
        now = self._clock()
        self._events.append(HistoryEvent(now, kind, snapshot.state, error_code))
        self._trim(now)
        self._save()

    def _trim(self, now: datetime) -> None:
        oldest, newest = now - self._keep, now + _FUTURE_SLACK
        kept = [event for event in self._events if oldest <= event.at <= newest]
        self._events = kept[-self._max_events :]

    def _save(self) -> None:
        if self._file is None:
            return
        document = {
            "version": FILE_VERSION,
            "events": [_as_json(event) for event in self._events],
        }
        try:
            _write_atomically(self._file, json.dumps(document, separators=(",", ":")))
        except OSError as exc:
            # The timeline is a convenience; the session goes on without it.
            log.warning("could not save the session history %s: %s", self._file, exc)


def _as_json(event: HistoryEvent) -> dict[str, str]:
    item = {
        "at": event.at.isoformat(),
        "kind": event.kind.value,
        "state": event.state.value,
    }
    if event.error_code:
        item["error_code"] = event.error_code
    return item


def _parse(document: Any) -> list[HistoryEvent]:
    if not isinstance(document, dict) or document.get("version") != FILE_VERSION:
        raise ValueError("not a version 1 history file")
    items = document["events"]
    if not isinstance(items, list):
        raise TypeError("events is not a list")
    events: list[HistoryEvent] = []
    for item in items:
        at = datetime.fromisoformat(item["at"])
        if at.tzinfo is None:
            raise ValueError("a time without a time zone")
        events.append(
            HistoryEvent(
                at,
                EventKind(item["kind"]),
                SessionState(item["state"]),
                clean_error_code(str(item.get("error_code", ""))),
            )
        )
    return events


def _write_atomically(file: Path, text: str) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=file.parent, prefix=".history-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp_name, file)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def periods(
    events: Sequence[HistoryEvent], start: datetime, end: datetime
) -> list[tuple[datetime, datetime, SessionState | None]]:
    """Splits ``start``..``end`` into spans of one state each.

    A span's state is None where tstray was not running (before the first
    event, and between a STOP and the next event). The last span runs to
    ``end`` in the state of the last event, unless that event is a STOP.
    """
    spans: list[tuple[datetime, datetime, SessionState | None]] = []
    current: SessionState | None = None
    since = start
    for event in events:
        if event.at > end:
            break
        state = None if event.kind is EventKind.STOP else event.state
        if event.at > since and state is not current:
            spans.append((since, event.at, current))
            since = event.at
        current = state
    if end > since:
        spans.append((since, end, current))
    return spans
