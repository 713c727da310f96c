"""The whole film as a square model input: what every network of the product reads.

The landmark U-Net, the end-to-end CNN and the quality gate all read the film as acquired,
padding bars trimmed and padded to a square with the level of its own border, intensities mapped
by percentiles to 0..1 (MONAI's ``ScaleIntensityRangePercentiles``) and area-resized (MONAI's
``Resize``). A network trained on whole films needs no hand outline, which on real films is often
not traceable (collimated fields, dark film, burnt-in letters).

The film is framed once (:func:`frame_field`); each network then takes the frame at its own side
(:meth:`FieldFrame.at`), so the gate's 96-pixel input and the 256-pixel input of the other two
come from one trimming, padding and intensity mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from monai.transforms import Resize, ScaleIntensityRangePercentiles

INPUT_SIZE = 256
"""Side of the square model input in pixels."""


@dataclass(frozen=True)
class Framed:
    """A model input and how it maps back to the source image.

    ``crop_box`` is ``(row0, col0, row1, col1)`` in source pixels (it may extend past the image;
    the outside was padded with the background level). ``scale`` is preprocessed pixels per
    source pixel, identical along both axes because the crop is square.
    """

    image: np.ndarray
    crop_box: tuple[int, int, int, int]
    scale: float
    background_level: float
    notes: tuple[str, ...]

    def spacing_mm(self, source_spacing_mm: tuple[float, float] | float | None) -> float | None:
        """Millimetres per preprocessed pixel, or None when the source spacing is unknown.

        A non-isotropic source spacing is averaged over both axes (hand radiographs are
        near-isotropic; the difference is below a percent on every detector we know).
        """
        if source_spacing_mm is None:
            return None
        mean_spacing = float(np.mean(np.atleast_1d(source_spacing_mm)))
        return mean_spacing / self.scale


def crop_padded(array: np.ndarray, box: tuple[int, int, int, int], fill: float) -> np.ndarray:
    """Cut ``box`` out of ``array``, filling what lies outside the array with ``fill``."""
    row0, col0, row1, col1 = box
    out = np.full((row1 - row0, col1 - col0), fill, dtype=array.dtype)
    src_r0, src_c0 = max(row0, 0), max(col0, 0)
    src_r1, src_c1 = min(row1, array.shape[0]), min(col1, array.shape[1])
    if src_r1 > src_r0 and src_c1 > src_c0:
        out[src_r0 - row0 : src_r1 - row0, src_c0 - col0 : src_c1 - col0] = array[
            src_r0:src_r1, src_c0:src_c1
        ]
    return out


def resize_square(array: np.ndarray, size: int, mode: str) -> np.ndarray:
    """MONAI's ``Resize`` of a 2-D square to ``size`` pixels (``mode`` "area" or "nearest")."""
    resized = Resize(spatial_size=(size, size), mode=mode)(torch.from_numpy(array[None].copy()))
    return np.asarray(resized[0])


BAR_STD = 0.02
"""Standard deviation (0..1 units) below which an edge row or column is a padding bar."""


def trim_bars(pixels: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Cut uniform padding bars (black or white rows and columns) off the image's edges.

    Returns the trimmed image and ``(row0, col0, row1, col1)`` of what was kept. Exported and
    scanned films are often padded to a fixed format; the bars carry no anatomy but would
    shrink the hand in a whole-field input. At most a quarter of each side is cut, so a hand
    on a flat background is never trimmed away.
    """

    def edge(values: np.ndarray, first: int, last: int) -> tuple[int, int]:
        """How far bars reach in from each end, at most ``first`` and ``last`` more values."""
        start = 0
        while start < first and values[start] < BAR_STD:
            start += 1
        stop = len(values)
        while len(values) - stop < last and stop > start + 1 and values[stop - 1] < BAR_STD:
            stop -= 1
        return start, stop

    row0, col0, row1, col1 = 0, 0, pixels.shape[0], pixels.shape[1]
    for _ in range(3):  # a bar across the rows hides one along the columns until it is cut
        kept = pixels[row0:row1, col0:col1]
        rows, cols = pixels.shape[0] // 4, pixels.shape[1] // 4
        top, bottom = edge(kept.std(axis=1), rows - row0, rows - (pixels.shape[0] - row1))
        left, right = edge(kept.std(axis=0), cols - col0, cols - (pixels.shape[1] - col1))
        if (top, left, bottom, right) == (0, 0, kept.shape[0], kept.shape[1]):
            break
        row0, row1, col0, col1 = row0 + top, row0 + bottom, col0 + left, col0 + right
    return pixels[row0:row1, col0:col1], (row0, col0, row1, col1)


@dataclass(frozen=True)
class FieldFrame:
    """A film trimmed, padded to a square and intensity-mapped, at the film's own resolution.

    ``square`` is float 0..1; ``box`` is ``(row0, col0, row1, col1)`` of the square in source
    pixels (it may extend past the film, where it was padded with ``level``, the median of the
    trimmed film's border); ``notes`` say in words what framing did.
    """

    square: np.ndarray
    box: tuple[int, int, int, int]
    level: float
    notes: tuple[str, ...]

    def at(self, size: int = INPUT_SIZE) -> Framed:
        """The frame area-resized to ``size`` pixels: one network's input."""
        image = resize_square(self.square, size, "area")
        return Framed(
            image=np.clip(image, 0.0, 1.0).astype(np.float32),
            crop_box=self.box,
            scale=size / self.square.shape[0],
            background_level=self.level,
            notes=self.notes,
        )


def frame_field(pixels: np.ndarray) -> FieldFrame:
    """Frame a bone-bright film: padding bars trimmed, padded to a square with the level of its
    own border, intensities mapped 1st percentile → 0 and 99.5th → 1."""
    pixels = np.asarray(pixels, dtype=np.float32)
    trimmed, (row0, col0, _, _) = trim_bars(pixels)
    height, width = trimmed.shape
    side = max(height, width)
    ring = np.concatenate([trimmed[0], trimmed[-1], trimmed[:, 0], trimmed[:, -1]])
    level = float(np.median(ring))
    top, left = (side - height) // 2, (side - width) // 2
    box = (row0 - top, col0 - left, row0 - top + side, col0 - left + side)
    square = crop_padded(trimmed, (-top, -left, side - top, side - left), level)
    scaled = ScaleIntensityRangePercentiles(lower=1, upper=99.5, b_min=0.0, b_max=1.0, clip=True)(
        torch.from_numpy(square[None])
    )
    notes = ("padding bars at the image edges left out",) if trimmed.shape != pixels.shape else ()
    return FieldFrame(np.asarray(scaled[0], dtype=np.float32), box, level, notes)


def field_square(pixels: np.ndarray, *, size: int = INPUT_SIZE) -> Framed:
    """:func:`frame_field` at ``size`` pixels, for a caller that needs one size only (the
    training caches)."""
    return frame_field(pixels).at(size)
