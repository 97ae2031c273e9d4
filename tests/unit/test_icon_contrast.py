"""The health icons read on light and dark panels: each is rendered with Qt
at tray sizes onto a white and a near-black panel, and the WCAG contrast
ratio (non-text contrast asks for 3:1) is measured between the panel and the
icon's edge all round, and between the glyph and its disc."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication

from tstray.session.state import Health
from tstray.ui.icons import ICON_FILES, render_svg, resource_path

MIN_CONTRAST = 3.0
# Panels seen in the wild: plain white, and the near-black of dark themes.
PANELS = {"light": QColor("#ffffff"), "dark": QColor("#202020")}
SIZES_PX = (22, 64)
# In the SVGs' 64-unit box: the disc's radius with its outline, and the part
# of the disc the glyph sits in.
DISC_OUTER = 30 / 64
GLYPH_AREA = 20 / 64


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: QColor) -> float:
    return (
        0.2126 * _linear(color.red())
        + 0.7152 * _linear(color.green())
        + 0.0722 * _linear(color.blue())
    )


def contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def on_panel(health: Health, panel: QColor, size_px: int) -> QImage:
    """The icon as a tray shows it: drawn over the panel's colour."""
    image = QImage(size_px, size_px, QImage.Format.Format_RGB32)
    image.fill(panel)
    painter = QPainter(image)
    svg = resource_path(ICON_FILES[health]).read_bytes()
    painter.drawPixmap(0, 0, render_svg(svg, size_px))
    painter.end()
    return image


def _ray(image: QImage, angle: float, start: float, end: float) -> list[QColor]:
    size = image.width()
    centre = (size - 1) / 2
    steps = max(4, size)
    colors = []
    for i in range(steps + 1):
        radius = (start + (end - start) * i / steps) * size
        x = round(centre + radius * math.cos(angle))
        y = round(centre + radius * math.sin(angle))
        if 0 <= x < size and 0 <= y < size:
            colors.append(image.pixelColor(x, y))
    return colors


@pytest.mark.parametrize("size_px", SIZES_PX)
@pytest.mark.parametrize("panel_name", sorted(PANELS))
@pytest.mark.parametrize("health", list(Health), ids=lambda h: h.name)
def test_icon_edge_stands_out_from_the_panel_all_round(
    qapp: QApplication, health: Health, panel_name: str, size_px: int
) -> None:
    panel = PANELS[panel_name]
    image = on_panel(health, panel, size_px)

    # Along each of 36 rays from the disc's middle out past its edge, some
    # pixel must differ enough from the panel for the shape to be seen.
    weakest = min(
        max(contrast(color, panel) for color in _ray(image, angle, 0.25, DISC_OUTER))
        for angle in (math.tau * k / 36 for k in range(36))
    )
    assert weakest >= MIN_CONTRAST, f"{health.name} on {panel_name}: {weakest:.2f}"


@pytest.mark.parametrize("size_px", SIZES_PX)
@pytest.mark.parametrize("health", list(Health), ids=lambda h: h.name)
def test_glyph_stands_out_from_its_disc(
    qapp: QApplication, health: Health, size_px: int
) -> None:
    image = on_panel(health, PANELS["light"], size_px)
    size = image.width()
    centre = (size - 1) / 2

    def pixels(low: float, high: float) -> list[QColor]:
        return [
            image.pixelColor(x, y)
            for x in range(size)
            for y in range(size)
            if low * size <= math.hypot(x - centre, y - centre) <= high * size
        ]

    # The disc's colour is the one seen most between the glyph and the rim.
    ring = Counter(color.rgb() for color in pixels(0.30, 0.40))
    fill = QColor.fromRgb(ring.most_common(1)[0][0])
    glyph = max(contrast(color, fill) for color in pixels(0, GLYPH_AREA))
    assert glyph >= MIN_CONTRAST, f"{health.name}: {glyph:.2f}"


def test_the_measure_can_fail(qapp: QApplication) -> None:
    """A grey icon on a grey panel is caught, so the checks above mean it."""
    same = QColor("#8f8f8f")
    assert contrast(same, same) == pytest.approx(1.0)
    assert contrast(QColor("#ffffff"), QColor("#000000")) == pytest.approx(21.0)
