"""What lies on a radiograph besides the hand: collimator shutters, the burnt-in side letter and
a radiopaque ruler. Each hides what is under it, so the label mask is cleared there too.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def collimate(
    image: np.ndarray, labels: np.ndarray, soft: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Shade one to three borders as unexposed (bright) collimator shadow with a soft penumbra,
    in place; labels under the shadow become background. Returns the shadow's weight (0..1).

    A radiographer collimates to the hand: the top and side shutters stop short of the soft
    tissue (``soft``, mm), only the bottom one may cut across the forearm. Each shutter edge is
    slightly tilted; only the band of rows or columns it can reach is computed."""
    outside = np.zeros(image.shape, np.float32)
    rows, cols = np.nonzero((soft > 1.0).any(axis=1))[0], np.nonzero((soft > 1.0).any(axis=0))[0]
    side_room = (
        rows[0] if rows.size else image.shape[0],
        image.shape[0],
        cols[0] if cols.size else image.shape[1],
        image.shape[1] - 1 - cols[-1] if cols.size else image.shape[1],
    )
    for side in rng.choice(4, size=int(rng.integers(1, 4)), replace=False):
        tilt = float(np.tan(np.deg2rad(rng.normal(0.0, 2.0))))
        penumbra = rng.uniform(1.0, 4.0)
        view = outside.T if side >= 2 else outside
        across, along = view.shape
        room = side_room[side] - penumbra - abs(tilt) * along / 2 - 0.02 * across
        depth = min(rng.uniform(0.02, 0.12) * across, room)
        if depth < 2.0:
            continue
        band = min(int(depth + abs(tilt) * along / 2 + penumbra + 2), across)
        inward = np.arange(band, dtype=np.float32)[:, None]
        offset = tilt * (np.arange(along, dtype=np.float32)[None, :] - along / 2)
        weight = np.clip((depth - inward + offset) / penumbra + 0.5, 0.0, 1.0)
        target = view[:band] if side in (0, 2) else view[across - band :][::-1]
        np.maximum(target, weight, out=target)
    level = rng.uniform(0.7, 1.0)
    image += (level - image) * outside
    labels[outside > 0.5] = 0
    return outside


@lru_cache(maxsize=64)
def _glyph(letter: str, height_px: int) -> np.ndarray:
    """The letter as a 0..1 mask about ``height_px`` tall (Pillow's bundled font)."""
    font = ImageFont.load_default(size=height_px)
    left, top, right, bottom = font.getbbox(letter)
    canvas = Image.new("L", (right - left + 2, bottom - top + 2))
    ImageDraw.Draw(canvas).text((1 - left, 1 - top), letter, fill=255, font=font)
    return np.asarray(canvas, np.float32) / 255.0


def _quietest_corner(busy: np.ndarray, box: tuple[int, int], margin: int) -> tuple[int, int]:
    """Top-left corner of the ``box`` (rows, cols) in the image corner where ``busy`` (soft
    tissue, collimator shadow) sums least."""
    size_y, size_x = busy.shape
    corners = [
        (margin, margin),
        (margin, size_x - box[1] - margin),
        (size_y - box[0] - margin, margin),
        (size_y - box[0] - margin, size_x - box[1] - margin),
    ]
    load = [busy[r : r + box[0], c : c + box[1]].sum() for r, c in corners]
    return corners[int(np.argmin(load))]


def burn_letter(
    image: np.ndarray, labels: np.ndarray, busy: np.ndarray, letter: str, rng: np.random.Generator
) -> None:
    """Burn the side letter ("L"/"R") into the quietest corner, bright, in place; mark the corner
    busy so that a ruler goes elsewhere."""
    side = image.shape[0]
    glyph = _glyph(letter, int(rng.integers(max(8, side // 30), max(10, side // 12))))
    row, col = _quietest_corner(busy, glyph.shape, int(rng.integers(2, max(3, side // 20))))
    patch = image[row : row + glyph.shape[0], col : col + glyph.shape[1]]
    level = rng.uniform(0.85, 1.0)
    patch[:] = patch * (1.0 - glyph) + level * glyph
    labels[row : row + glyph.shape[0], col : col + glyph.shape[1]][glyph > 0.5] = 0
    busy[row : row + glyph.shape[0], col : col + glyph.shape[1]] += 1e6


def burn_ruler(
    image: np.ndarray,
    labels: np.ndarray,
    busy: np.ndarray,
    spacing_mm: float,
    rng: np.random.Generator,
) -> None:
    """A radiopaque ruler strip with a tick every 10 mm along a quiet edge, in place."""
    length = int(min(image.shape[0] * rng.uniform(0.25, 0.6), 150.0 / spacing_mm))
    width = max(int(6.0 / spacing_mm), 5)
    strip = np.full((length, width), rng.uniform(0.8, 1.0), np.float32)
    tick = max(int(round(10.0 / spacing_mm)), 3)
    strip[::tick, : width // 2] *= 0.4
    row, col = _quietest_corner(
        busy, strip.shape, int(rng.integers(2, max(3, image.shape[0] // 15)))
    )
    image[row : row + length, col : col + width] = strip
    labels[row : row + length, col : col + width] = 0
