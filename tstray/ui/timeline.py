"""The status window's 24-hour timeline: one band coloured by the session's
state over the last day, with a tick for each refresh, a triangle for each
failure and a dot for each sign-in, so a user sees at a glance whether the
session held overnight.

It paints ``HistoryEvent``s it is given with ``QPainter`` and nothing else:
it never reads a token and never changes the session. State is told by
shape as well as colour (ticks, triangles, dots, hatching), and the same
facts are offered in words as the widget's accessible description.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFontMetrics,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from tstray.session.history import EventKind, HistoryEvent, periods
from tstray.session.state import Health, SessionState, health_of
from tstray.ui.texts import format_duration, tr

SPAN = timedelta(hours=24)
# Hour labels every this many hours.
_LABEL_EVERY_H = 3

# Band colours by health (soft, so the marks on them stand out).
BAND_COLOURS = {
    Health.OK: QColor("#b7dfb9"),
    Health.DEGRADED: QColor("#f6cf7f"),
    Health.NEEDS_USER: QColor("#f0a8a4"),
    Health.SIGNED_OUT: QColor("#d0d0d0"),
}
NOT_RUNNING_COLOUR = QColor("#9e9e9e")
REFRESH_COLOUR = QColor("#1b5e20")
FAILURE_COLOUR = QColor("#d98200")
FINAL_FAILURE_COLOUR = QColor("#c62828")
SIGN_IN_COLOUR = QColor("#1565c0")
SIGN_OUT_COLOUR = QColor("#424242")

# Vertical layout, in pixels from the top.
_MARK_TOP, _MARK_SIZE = 2, 10
_BAND_TOP, _BAND_HEIGHT = 15, 26
_TICK_HEIGHT = 7
_AXIS_TOP = _BAND_TOP + _BAND_HEIGHT + _TICK_HEIGHT + 2
_SIDE_MARGIN = 8


class TimelineWidget(QWidget):
    """Draws the last 24 hours of the session.

    Args:
        clock: returns the current time (UTC); the right edge is "now".
        parent: the parent widget, if any.
    """

    def __init__(
        self, clock: Callable[[], datetime], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self._clock = clock
        self._events: list[HistoryEvent] = []
        self._now = clock()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(360)
        self.setFixedHeight(self.sizeHint().height())

    def sizeHint(self) -> QSize:
        line_px = QFontMetrics(self.font()).height()
        # The axis labels, then up to two lines of legend.
        return QSize(560, _AXIS_TOP + 3 * line_px + 14)

    def set_events(self, events: Sequence[HistoryEvent]) -> None:
        """Shows ``events`` (oldest first) up to the clock's now."""
        self._events = list(events)
        self._now = self._clock()
        self.setAccessibleDescription(self.summary())
        self.update()

    def summary(self) -> str:
        """The timeline in words (accessible description, tests)."""
        start = self._now - SPAN
        shown = [event for event in self._events if event.at >= start]
        refreshes = sum(event.kind is EventKind.REFRESH for event in shown)
        failures = sum(event.kind is EventKind.FAILURE for event in shown)
        sign_ins = sum(event.kind is EventKind.SIGN_IN for event in shown)
        troubled_s = sum(
            (end - begin).total_seconds()
            for begin, end, state in periods(self._events, start, self._now)
            if state is not None and health_of(state) is not Health.OK
        )
        return tr(
            "Last 24 hours: {refreshes} refreshes, {failures} failures, "
            "{sign_ins} sign-ins; not working for {duration}"
        ).format(
            refreshes=refreshes,
            failures=failures,
            sign_ins=sign_ins,
            duration=format_duration(troubled_s),
        )

    def x_for(self, moment: datetime) -> float:
        """The x coordinate of ``moment`` in the widget (tests, hit tests)."""
        left, width = _SIDE_MARGIN, max(self.width() - 2 * _SIDE_MARGIN, 1)
        fraction = (moment - (self._now - SPAN)) / SPAN
        return left + min(max(fraction, 0.0), 1.0) * width

    @staticmethod
    def band_rows() -> tuple[int, int]:
        """The band's top and bottom y (tests)."""
        return _BAND_TOP, _BAND_TOP + _BAND_HEIGHT

    @staticmethod
    def mark_rows() -> tuple[int, int]:
        """The marks' top and bottom y (tests)."""
        return _MARK_TOP, _MARK_TOP + _MARK_SIZE

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        try:
            self._paint_band(painter)
            self._paint_events(painter)
            self._paint_axis(painter)
            self._paint_legend(painter)
        finally:
            painter.end()

    # -- painting ----------------------------------------------------------

    def _paint_band(self, painter: QPainter) -> None:
        start = self._now - SPAN
        band_top = float(_BAND_TOP)
        for begin, end, state in periods(self._events, start, self._now):
            left, right = self.x_for(begin), self.x_for(end)
            rect = QRectF(left, band_top, max(right - left, 1.0), _BAND_HEIGHT)
            _fill_state(painter, rect, state)

        painter.setPen(QPen(self.palette().mid().color(), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        outline = QRectF(
            _SIDE_MARGIN, band_top, self.width() - 2 * _SIDE_MARGIN, _BAND_HEIGHT
        )
        painter.drawRect(outline)

    def _paint_events(self, painter: QPainter) -> None:
        start = self._now - SPAN
        for event in self._events:
            if event.at < start or event.at > self._now:
                continue
            x = self.x_for(event.at)
            if event.kind is EventKind.REFRESH:
                _draw_tick(painter, x)
            elif event.kind is EventKind.FAILURE:
                final = event.state is SessionState.SIGN_IN_NEEDED
                _draw_triangle(
                    painter, x, FINAL_FAILURE_COLOUR if final else FAILURE_COLOUR
                )
            elif event.kind is EventKind.SIGN_IN:
                _draw_dot(painter, x, SIGN_IN_COLOUR)
            elif event.kind is EventKind.SIGN_OUT:
                _draw_square(painter, x, SIGN_OUT_COLOUR)

    def _paint_axis(self, painter: QPainter) -> None:
        text_colour = self.palette().windowText().color()
        metrics = QFontMetrics(self.font())
        start = self._now - SPAN
        local_start = start.astimezone()
        first_hour = local_start.replace(minute=0, second=0, microsecond=0)
        first_hour += timedelta(hours=1)

        painter.setPen(QPen(text_colour, 1))
        hour = first_hour
        while hour <= self._now:
            if hour.hour % _LABEL_EVERY_H == 0:
                x = self.x_for(hour)
                painter.drawLine(QPointF(x, _AXIS_TOP - 2), QPointF(x, _AXIS_TOP + 2))
                label = hour.strftime("%H:%M")
                half = metrics.horizontalAdvance(label) / 2
                label_x = min(max(x - half, 0.0), self.width() - 2 * half)
                painter.drawText(
                    QPointF(label_x, _AXIS_TOP + 2 + metrics.ascent()), label
                )
            hour += timedelta(hours=1)

    def _paint_legend(self, painter: QPainter) -> None:
        metrics = QFontMetrics(self.font())
        y_top = _AXIS_TOP + metrics.height() + 6
        x = float(_SIDE_MARGIN)
        text_colour = self.palette().windowText().color()
        entries: list[tuple[str, Callable[[float, float], None]]] = [
            (tr("valid"), lambda lx, ly: _swatch(painter, lx, ly, SessionState.VALID)),
            (
                tr("retrying/offline"),
                lambda lx, ly: _swatch(painter, lx, ly, SessionState.OFFLINE),
            ),
            (
                tr("sign-in needed"),
                lambda lx, ly: _swatch(painter, lx, ly, SessionState.SIGN_IN_NEEDED),
            ),
            (tr("not running"), lambda lx, ly: _swatch(painter, lx, ly, None)),
            (tr("refresh"), lambda lx, ly: _draw_tick(painter, lx + 5, ly)),
            (
                tr("failure"),
                lambda lx, ly: _draw_triangle(painter, lx + 5, FAILURE_COLOUR, ly),
            ),
            (
                tr("sign-in"),
                lambda lx, ly: _draw_dot(painter, lx + 5, SIGN_IN_COLOUR, ly),
            ),
        ]
        for text, draw_glyph in entries:
            width = 14 + metrics.horizontalAdvance(text) + 12
            if x + width > self.width() - _SIDE_MARGIN and x > _SIDE_MARGIN:
                # Wraps once; a window too narrow for two lines drops the rest.
                if y_top > _AXIS_TOP + metrics.height() + 6:
                    break
                x = float(_SIDE_MARGIN)
                y_top += metrics.height() + 2
            glyph_top = y_top + (metrics.height() - _MARK_SIZE) / 2
            draw_glyph(x, glyph_top)
            painter.setPen(QPen(text_colour, 1))
            painter.drawText(QPointF(x + 14, y_top + metrics.ascent()), text)
            x += width


def _fill_state(painter: QPainter, rect: QRectF, state: SessionState | None) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    if state is None:
        # Hatching, not a colour: "no data" must read as absence.
        painter.setBrush(QBrush(NOT_RUNNING_COLOUR, Qt.BrushStyle.BDiagPattern))
    else:
        painter.setBrush(BAND_COLOURS[health_of(state)])
    painter.drawRect(rect)


def _swatch(painter: QPainter, x: float, y: float, state: SessionState | None) -> None:
    rect = QRectF(x, y, _MARK_SIZE, _MARK_SIZE)
    _fill_state(painter, rect, state)
    painter.setPen(QPen(QColor("#757575"), 1))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(rect)


def _draw_tick(painter: QPainter, x: float, top: float | None = None) -> None:
    # In the band's lower part and just below it: ticks stay visible on any
    # band colour and never hide the failure marks above.
    y_top = _BAND_TOP + _BAND_HEIGHT / 2 if top is None else top
    y_bottom = _BAND_TOP + _BAND_HEIGHT + _TICK_HEIGHT if top is None else top + 10
    # Two pixels wide on a pixel edge: crisp, never a blurred half-tone.
    pen = QPen(REFRESH_COLOUR, 2)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    painter.setPen(pen)
    snapped_x = float(round(x))
    painter.drawLine(QPointF(snapped_x, y_top), QPointF(snapped_x, y_bottom))


def _draw_triangle(
    painter: QPainter, x: float, colour: QColor, top: float = _MARK_TOP
) -> None:
    # Points down at the moment it marks.
    half = _MARK_SIZE / 2
    triangle = QPolygonF(
        [
            QPointF(x - half, top),
            QPointF(x + half, top),
            QPointF(x, top + _MARK_SIZE),
        ]
    )
    painter.setPen(QPen(colour.darker(130), 1))
    painter.setBrush(colour)
    painter.drawPolygon(triangle)


def _draw_dot(
    painter: QPainter, x: float, colour: QColor, top: float = _MARK_TOP
) -> None:
    painter.setPen(QPen(colour.darker(130), 1))
    painter.setBrush(colour)
    half = _MARK_SIZE / 2
    painter.drawEllipse(QPointF(x, top + half), half, half)


def _draw_square(
    painter: QPainter, x: float, colour: QColor, top: float = _MARK_TOP
) -> None:
    painter.setPen(QPen(colour, 1))
    painter.setBrush(colour)
    side = _MARK_SIZE - 2
    painter.drawRect(QRectF(x - side / 2, top + 1, side, side))
