"""Safety limits on what the readers accept, checked from headers before any pixel is decoded.

Why these numbers: a hand radiograph from a computed-radiography plate or a flat-panel detector
is at most about 4300 × 3500 pixels (15 megapixels, 43 × 35 cm at 0.1 mm); the RSNA Pediatric
Bone Age images are 0.3–5 megapixels. The default pixel limit leaves three times that headroom
while keeping a decoded float32 image under 200 MB. A hand needs a few hundred pixels across to
show its bones; below ``MIN_SIDE_PX`` the phalanges are a few pixels wide. Hand radiographs are
taken on portrait or landscape cassettes; a width-to-height ratio beyond ``MAX_ASPECT`` is a
strip, not a hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from boneage.errors import ImageTooLarge, ImageTooSmall, ImplausibleShape

MAX_PIXELS = 50_000_000
MAX_BYTES = 256 * 2**20
MAX_SIDE_PX = 20_000
MIN_SIDE_PX = 128
MAX_ASPECT = 4.0


@dataclass(frozen=True)
class Limits:
    """The limits one read runs under."""

    max_pixels: int = MAX_PIXELS
    max_bytes: int = MAX_BYTES
    min_side: int = MIN_SIDE_PX


def check_dimensions(rows: int, columns: int, limits: Limits, frames: int = 1) -> None:
    """Refuse an image from its header's dimensions, before its pixels are decoded."""
    total = rows * columns * max(frames, 1)
    if total > limits.max_pixels:
        raise ImageTooLarge(
            f"The image declares {columns} × {rows} pixels"
            + (f" in {frames} frames" if frames > 1 else "")
            + f" ({total / 1e6:.0f} megapixels), over the {limits.max_pixels / 1e6:.0f}-megapixel"
            " safety limit; it was not decoded."
        )
    if min(rows, columns) < 1 or max(rows, columns) > MAX_ASPECT * min(rows, columns):
        raise ImplausibleShape(
            f"The image is {columns} × {rows} pixels, a shape no hand radiograph has"
            f" (its sides differ by more than {MAX_ASPECT:g} times)."
        )
    if max(rows, columns) > MAX_SIDE_PX:
        raise ImageTooLarge(
            f"The image declares {columns} × {rows} pixels; a side over {MAX_SIDE_PX} pixels is"
            " not a hand radiograph. It was not decoded."
        )
    if min(rows, columns) < limits.min_side:
        raise ImageTooSmall(
            f"The image is only {columns} × {rows} pixels; at least {limits.min_side} pixels"
            " on each side are needed to see the bones of a hand."
        )
