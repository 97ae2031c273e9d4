"""Notices that time brings rather than a change of state: the warning before
a rotating key's 24-hour limit, the reminder ahead of market open, and the
quiet hours that hold other notices back.

``ReminderPolicy`` is plain logic with no clock and no Qt: given the session
and the time it says which reminder comes next and when, so the caller can
set one timer for it; it gives each reminder once. It never reads a token;
the words come from ``tstray.ui.texts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from tstray.config import NotificationSettings
from tstray.session.state import SessionSnapshot, SessionState
from tstray.ui.texts import format_duration, tr

SIGN_IN_SOON = "sign_in_soon"
MARKET_OPEN = "market_open"

# Markets open Monday to Friday; a reminder on a weekend would only nag.
_TRADING_WEEKDAYS = range(5)


@dataclass(frozen=True)
class Reminder:
    """A notice due at a moment.

    Attributes:
        key: what makes it unique, so it is given once.
        due_at: when to show it (UTC or any aware time).
        kind: ``sign_in_soon`` or ``market_open``.
        title: what is about to happen.
        message: what it means and what to do.
    """

    key: tuple[str, str]
    due_at: datetime
    kind: str
    title: str
    message: str


def _parse_clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class QuietHours:
    """A daily span of local time (it may cross midnight) when only the
    notices that need the user at once are shown."""

    def __init__(self, span: tuple[str, str] | None, tz: tzinfo | None = None):
        """Args:
        span: ``("22:00", "07:00")``, or None for no quiet hours.
        tz: the local time zone; None for the system's.
        """
        self._span = (
            None if span is None else (_parse_clock(span[0]), _parse_clock(span[1]))
        )
        self._tz = tz

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self._tz)

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` falls within the quiet hours."""
        if self._span is None:
            return False
        start, end = self._span
        clock = self._local(moment).time()
        if start < end:
            return start <= clock < end
        return clock >= start or clock < end

    def end_after(self, moment: datetime) -> datetime:
        """When the quiet stretch holding ``moment`` ends (``moment`` itself
        when it is not quiet)."""
        if self._span is None or not self.contains(moment):
            return moment
        local = self._local(moment)
        end = at_local(local.date(), self._span[1], self._tz)
        if end <= moment:
            end = at_local(local.date() + timedelta(days=1), self._span[1], self._tz)
        return end


def at_local(day: date, clock: time, tz: tzinfo | None) -> datetime:
    """The aware moment of ``clock`` on ``day`` in ``tz`` (None: the system's
    zone, daylight saving included)."""
    if tz is None:
        return datetime.combine(day, clock).astimezone()
    return datetime.combine(day, clock, tzinfo=tz)


def local_clock_words(moment: datetime, tz: tzinfo | None) -> str:
    """``"09:30"`` in local time."""
    return moment.astimezone(tz).strftime("%H:%M")


def _needs_sign_in_by(snapshot: SessionSnapshot, moment: datetime) -> str:
    """Why a sign-in will be needed before ``moment``, or "" if it will not."""
    if snapshot.state is SessionState.SIGNED_OUT:
        return tr("tstray is signed out")
    if snapshot.state is SessionState.SIGN_IN_NEEDED:
        return tr("TradeStation needs you to sign in again")
    deadline = snapshot.sign_in_deadline
    if deadline is not None and deadline <= moment:
        return tr("this sign-in runs out before then")
    return ""


class ReminderPolicy:
    """Decides the next timed reminder; no Qt, no clock of its own.

    Call ``next_reminder`` after every change and when its ``due_at`` comes;
    show the reminder when it is due and pass it to ``given``.
    """

    def __init__(self, settings: NotificationSettings, tz: tzinfo | None = None):
        """Args:
        settings: the ``[notifications]`` settings.
        tz: the local time zone; None for the system's.
        """
        self.settings = settings
        self.tz = tz
        self.quiet_hours = QuietHours(settings.quiet_hours, tz)
        self._given: set[tuple[str, str]] = set()

    def allows(self, kind: str, now: datetime, *, urgent: bool = False) -> bool:
        """Whether a notice may be shown now: notifications on, and outside
        quiet hours unless ``urgent`` (sign-in needed)."""
        if not self.settings.enabled:
            return False
        return urgent or not self.quiet_hours.contains(now)

    def given(self, reminder: Reminder) -> None:
        self._given.add(reminder.key)

    def next_reminder(
        self, snapshot: SessionSnapshot, now: datetime
    ) -> Reminder | None:
        """The earliest reminder not given yet that the session calls for."""
        if not self.settings.enabled:
            return None
        candidates = [
            reminder
            for reminder in (
                self._sign_in_soon(snapshot, now),
                self._market_open(snapshot, now),
            )
            if reminder is not None and reminder.key not in self._given
        ]
        return min(candidates, key=lambda r: r.due_at, default=None)

    def _after_quiet(self, due_at: datetime, before: datetime) -> datetime | None:
        """``due_at`` moved past quiet hours; None if that is not before
        ``before`` (then the reminder no longer helps)."""
        moved = self.quiet_hours.end_after(due_at)
        return moved if moved < before else None

    def _sign_in_soon(
        self, snapshot: SessionSnapshot, now: datetime
    ) -> Reminder | None:
        deadline = snapshot.sign_in_deadline
        warning_s = self.settings.sign_in_warning_s
        if deadline is None or warning_s <= 0 or deadline <= now:
            return None
        if snapshot.state in (SessionState.SIGNED_OUT, SessionState.SIGN_IN_NEEDED):
            return None
        due_at = self._after_quiet(
            max(now, deadline - timedelta(seconds=warning_s)), deadline
        )
        if due_at is None:
            return None
        message = tr(
            "TradeStation ends this sign-in at {time} (in {duration}); after that "
            "your programs get no token until you sign in again. Choose \u201cSign "
            "in\u201d when it suits you to start a new 24 hours."
        ).format(
            time=local_clock_words(deadline, self.tz),
            duration=format_duration((deadline - due_at).total_seconds()),
        )
        return Reminder(
            (SIGN_IN_SOON, deadline.isoformat()),
            due_at,
            SIGN_IN_SOON,
            tr("TradeStation sign-in ends soon"),
            message,
        )

    def next_market_open(self, now: datetime) -> datetime | None:
        """The next weekday market open after ``now``, if one is set."""
        if not self.settings.market_open:
            return None
        clock = _parse_clock(self.settings.market_open)
        day = now.astimezone(self.tz).date()
        for offset in range(8):
            candidate = at_local(day + timedelta(days=offset), clock, self.tz)
            if candidate > now and candidate.weekday() in _TRADING_WEEKDAYS:
                return candidate
        return None

    def _market_open(self, snapshot: SessionSnapshot, now: datetime) -> Reminder | None:
        market_open = self.next_market_open(now)
        if market_open is None:
            return None
        reason = _needs_sign_in_by(snapshot, market_open)
        if not reason:
            return None
        ahead = timedelta(seconds=self.settings.reminder_ahead_s)
        due_at = self._after_quiet(max(now, market_open - ahead), market_open)
        if due_at is None:
            return None
        return Reminder(
            (MARKET_OPEN, market_open.isoformat()),
            due_at,
            MARKET_OPEN,
            tr("Sign in before the market opens"),
            tr(
                "The market opens at {time} and {reason}. Choose \u201cSign in\u201d "
                "now so your programs have a token at the open."
            ).format(time=local_clock_words(market_open, self.tz), reason=reason),
        )
