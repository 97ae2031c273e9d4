"""Finds tstray's resource files and turns the health icons into ``QIcon``s.

Each ``Health`` has its own SVG, with its own glyph as well as its own colour
(dash, check, "!", cross), so the state can be told without seeing colour.
The SVGs are rendered once per size by Qt's SVG icon engine (a plugin, so
the QtSvg Python module is not imported on the way to the first icon) and
cached, so a state change never re-reads a file. ``icon_for`` needs a
``QGuiApplication`` (pixmaps do); the module never writes anywhere.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize
from PySide6.QtGui import QIcon, QPainter, QPixmap

from tstray.session.state import Health

log = logging.getLogger(__name__)

# Tray hosts ask for 16-24 px on normal screens and up to 64 px on dense ones.
ICON_SIZES_PX = (16, 22, 24, 32, 48, 64)

ICON_FILES = {
    Health.SIGNED_OUT: "icons/health-signed-out.svg",
    Health.OK: "icons/health-ok.svg",
    Health.DEGRADED: "icons/health-degraded.svg",
    Health.NEEDS_USER: "icons/health-needs-user.svg",
}

# Installed (a wheel, or a PyInstaller bundle): resources/ is package data
# inside tstray/. In a source checkout it is the repository's own folder.
_PACKAGED_RESOURCES = Path(__file__).resolve().parents[1] / "resources"
_CHECKOUT_RESOURCES = Path(__file__).resolve().parents[2] / "resources"

_icon_cache: dict[Health, QIcon] = {}


def _candidates(name: str) -> list[Path]:
    """Where ``name`` may be, in the order it is looked for."""
    parts = name.split("/")
    return [_PACKAGED_RESOURCES.joinpath(*parts), _CHECKOUT_RESOURCES.joinpath(*parts)]


def resource_path(name: str) -> Path:
    """Returns the file of resource ``name`` (e.g. ``"icons/health-ok.svg"``).

    Looks next to the installed package first (``tstray/resources/``), then
    in the source checkout's ``resources/`` folder.

    Raises:
        ValueError: ``name`` is absolute or climbs out of the folder.
        FileNotFoundError: no candidate exists; the message lists them.
    """
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or not all(parts):
        raise ValueError(f"not a resource name: {name!r}")

    candidates = _candidates(name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"resource {name!r} not found; looked in {looked}")


def render_svg(svg: bytes, size_px: int) -> QPixmap:
    """Renders ``svg`` into a square, transparent pixmap of ``size_px``."""
    from PySide6.QtCore import Qt
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg))
    if not renderer.isValid():
        raise ValueError("not a valid SVG image")

    pixmap = QPixmap(size_px, size_px)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
    finally:
        painter.end()
    return pixmap


def icon_for(health: Health) -> QIcon:
    """The tray icon for ``health``, with a pixmap for every tray size.

    Cached: the same ``QIcon`` comes back on every call for one health.
    """
    cached = _icon_cache.get(health)
    if cached is not None:
        return cached

    path = resource_path(ICON_FILES[health])
    drawn = QIcon(str(path))
    if drawn.isNull():
        raise ValueError(f"{path} is not an icon Qt can draw")
    icon = QIcon()
    for size_px in ICON_SIZES_PX:
        icon.addPixmap(drawn.pixmap(QSize(size_px, size_px), 1.0))

    log.debug("rendered the %s icon at %s px", health.name, ICON_SIZES_PX)
    _icon_cache[health] = icon
    return icon
