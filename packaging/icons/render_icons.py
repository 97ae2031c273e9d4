"""Renders tstray's app icon, ``resources/icons/tstray.svg``, into the icon
set the packages need: PNGs from 16 to 512 px (Linux hicolor theme, AppStream),
``tstray.ico`` (Windows) and ``tstray.icns`` (macOS).

Run from anywhere after editing the SVG, and commit the results:

    QT_QPA_PLATFORM=offscreen python packaging/icons/render_icons.py

Qt's SVG renderer draws the PNGs; the ICO and ICNS containers hold those PNGs
(both formats accept PNG entries), so nothing beyond PySide6 is needed. It
writes only into packaging/icons/.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[1] / "resources" / "icons" / "tstray.svg"
PNG_SIZES_PX = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES_PX = (16, 24, 32, 48, 64, 128, 256)
# ICNS entry types that hold PNG data, by pixel size.
ICNS_TYPES = {
    16: b"icp4",
    32: b"icp5",
    64: b"icp6",
    128: b"ic07",
    256: b"ic08",
    512: b"ic09",
}


def render_png(renderer: QSvgRenderer, size_px: int) -> bytes:
    image = QImage(size_px, size_px, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"could not encode the {size_px} px PNG")
    return bytes(data.data())


def ico_file(pngs: dict[int, bytes]) -> bytes:
    """An ICO container: a directory of PNG images (Windows Vista and later)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries = b""
    for size in sizes:
        # 0 in the width and height bytes means 256.
        side = 0 if size >= 256 else size
        entries += struct.pack(
            "<BBBBHHII", side, side, 0, 0, 1, 32, len(pngs[size]), offset
        )
        offset += len(pngs[size])
    return header + entries + b"".join(pngs[size] for size in sizes)


def icns_file(pngs: dict[int, bytes]) -> bytes:
    """An ICNS container: typed entries, each a PNG image."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
        for size, kind in sorted(ICNS_TYPES.items())
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"not a valid SVG: {SOURCE}")

    pngs = {size: render_png(renderer, size) for size in PNG_SIZES_PX}
    for size, data in pngs.items():
        (HERE / f"tstray-{size}.png").write_bytes(data)
    (HERE / "tstray.ico").write_bytes(ico_file({s: pngs[s] for s in ICO_SIZES_PX}))
    (HERE / "tstray.icns").write_bytes(icns_file(pngs))
    print(f"wrote {len(pngs)} PNGs, tstray.ico and tstray.icns to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
