"""The one preprocessing both paths share: find the hand, crop a square, normalise, resize.

Training (on phantoms) and inference (phantoms and real radiographs) call the same
:func:`preprocess`, so every model sees inputs from the same distribution: a square crop with the
hand centred, the background outside the hand set to one flat level (markers, rulers and
collimation edges in the corners removed), intensities mapped by percentiles to 0..1, and a fixed
size of :data:`INPUT_SIZE` pixels.

MONAI does the intensity mapping (``ScaleIntensityRangePercentiles``) and the resizing
(``Resize``, area for images and nearest for label masks). The hand detection is written here
with scikit-image because MONAI's ``CropForeground`` needs a foreground already separated from a
background that, on a radiograph, is not dark but mid-grey, and carries markers and collimation
strips: Otsu's threshold on a smoothed, downsampled copy and the largest connected component
find the hand (with the forearm) reliably on phantoms and on the ten real examples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from monai.transforms import Resize, ScaleIntensityRangePercentiles
from scipy import ndimage
from skimage import filters, measure, morphology

from boneage.errors import InputError

INPUT_SIZE = 256
"""Side of the square model input in pixels."""

WORK_SIDE = 256
"""Longest side of the downsampled copy on which the hand is found (pixels)."""

FLAT_STD = 2e-4
"""Local standard deviation (0..1 intensity units) below which an area is noise-free."""

MAX_SOLIDITY = 0.9
"""A hand with its fingers fills at most this share of its convex hull; rulers and markers more."""

MARGIN = 0.06
"""Margin added on each side of the hand's bounding square, as a fraction of its side."""


@dataclass(frozen=True)
class HandMask:
    """The hand (with forearm) found on a downsampled copy of the image.

    ``mask`` is at working resolution; ``factor`` is source pixels per working pixel, so a
    working-resolution coordinate times ``factor`` is a source coordinate.
    """

    mask: np.ndarray
    factor: float
    threshold: float
    background_level: float
    foreground_fraction: float
    largest_share: float
    solidity: float


@dataclass(frozen=True)
class Preprocessed:
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


def downsample(pixels: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """Area-downsample so the longest side is at most ``side``; returns the image and factor."""
    factor = max(pixels.shape) / side
    if factor <= 1:
        return pixels.astype(np.float32), 1.0
    shape = (max(1, round(pixels.shape[0] / factor)), max(1, round(pixels.shape[1] / factor)))
    small = Resize(spatial_size=shape, mode="area")(torch.from_numpy(pixels[None].copy()))
    return np.asarray(small[0], dtype=np.float32), factor


def flat_border_regions(small: np.ndarray, *, bright_only: bool = True) -> np.ndarray:
    """Noise-free areas touching the image border: collimator shadows and saturated strips.

    An exposed detector always shows quantum noise; an area whose local standard deviation over
    5 x 5 working pixels is below :data:`FLAT_STD`, that reaches the border and that is brighter
    than Otsu's threshold of the whole image is an unexposed collimator shadow, never anatomy (a
    dark flat area is background and left alone unless ``bright_only`` is False). Areas below
    0.2 % of the image are ignored.
    """
    bright = float(filters.threshold_otsu(small))
    mean = ndimage.uniform_filter(small, 5)
    std = np.sqrt(np.maximum(ndimage.uniform_filter(small * small, 5) - mean * mean, 0.0))
    labels = measure.label(std < FLAT_STD)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    areas = np.bincount(labels.ravel())
    keep = [
        lab
        for lab in border
        if lab
        and areas[lab] > 0.002 * small.size
        and (not bright_only or np.median(small[labels == lab]) > bright)
    ]
    return ndimage.binary_dilation(np.isin(labels, keep), iterations=4)


def find_hand(pixels: np.ndarray) -> HandMask:
    """Separate the hand and forearm from the background.

    Collimation (:func:`flat_border_regions`) is set aside, Otsu's threshold is taken on the
    rest of a Gaussian-smoothed (sigma 1.5 working pixels) downsampled copy, and the largest
    connected component that is not a near-convex block (a ruler, a marker: solidity above
    :data:`MAX_SOLIDITY`) is kept with its holes filled. Raises :class:`InputError` for an image
    with no contrast at all, where no threshold exists.
    """
    small, factor = downsample(np.asarray(pixels, dtype=np.float32), WORK_SIDE)
    smooth = filters.gaussian(small, sigma=1.5)
    if float(smooth.max() - smooth.min()) < 1e-3:
        raise InputError("The image is blank: it has no contrast to find a hand in.")
    collimation = flat_border_regions(small)
    exposed = smooth[~collimation]
    if exposed.size < 0.05 * smooth.size or float(exposed.max() - exposed.min()) < 1e-3:
        raise InputError("The image is blank apart from collimation: no hand to find.")
    threshold = float(filters.threshold_multiotsu(exposed, classes=3)[0])
    foreground = (smooth > threshold) & ~collimation
    labels = measure.label(foreground)
    regions = sorted(measure.regionprops(labels), key=lambda r: -r.area)
    if not regions:
        raise InputError("No object stands out from the background of the image.")
    chosen = next((r for r in regions if r.solidity <= MAX_SOLIDITY), regions[0])
    mask = ndimage.binary_fill_holes(labels == chosen.label)
    background = ~ndimage.binary_dilation(foreground, iterations=2) & ~collimation
    return HandMask(
        mask=mask,
        factor=factor,
        threshold=threshold,
        background_level=float(np.median(small[background])) if background.any() else threshold,
        foreground_fraction=float(mask.mean()),
        largest_share=float(chosen.area / sum(r.area for r in regions)),
        solidity=float(chosen.solidity),
    )


def square_box(hand: HandMask, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The square around the hand with :data:`MARGIN`, in source pixels (may exceed the image)."""
    rows, cols = np.nonzero(hand.mask)
    r0, r1 = rows.min() * hand.factor, (rows.max() + 1) * hand.factor
    c0, c1 = cols.min() * hand.factor, (cols.max() + 1) * hand.factor
    side = max(r1 - r0, c1 - c0) * (1 + 2 * MARGIN)
    centre_r, centre_c = (r0 + r1) / 2, (c0 + c1) / 2
    row0, col0 = round(centre_r - side / 2), round(centre_c - side / 2)
    side_px = max(1, round(side))
    return row0, col0, row0 + side_px, col0 + side_px


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


def _resize(array: np.ndarray, size: int, mode: str) -> np.ndarray:
    resized = Resize(spatial_size=(size, size), mode=mode)(torch.from_numpy(array[None].copy()))
    return np.asarray(resized[0])


def preprocess(pixels: np.ndarray, *, size: int = INPUT_SIZE) -> Preprocessed:
    """Turn radiograph pixels (float 0..1, bone bright, any size) into a model input.

    The hand is found (:func:`find_hand`), everything farther than about 3 % of the image from
    it is set to the background level, a square with margin is cut around it (padded with the
    background level where it leaves the image), intensities are mapped so that the 1st
    percentile is 0 and the 99.5th is 1 (clipped), and the square is resized to ``size`` pixels.
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    hand = find_hand(pixels)
    notes: list[str] = []
    keep_small = ndimage.binary_dilation(hand.mask, morphology.disk(max(2, WORK_SIDE // 32)))
    keep = _upsample_mask(keep_small, pixels.shape)
    if (~keep).any():
        notes.append("pixels away from the hand set to the background level")
    cleaned = np.where(keep, pixels, np.float32(hand.background_level))
    box = square_box(hand, pixels.shape)
    if box[0] < 0 or box[1] < 0 or box[2] > pixels.shape[0] or box[3] > pixels.shape[1]:
        notes.append("crop extends past the image edge; padded with the background level")
    square = crop_padded(cleaned, box, hand.background_level)
    scaled = ScaleIntensityRangePercentiles(lower=1, upper=99.5, b_min=0.0, b_max=1.0, clip=True)(
        torch.from_numpy(square[None])
    )
    image = _resize(np.asarray(scaled[0], dtype=np.float32), size, "area")
    return Preprocessed(
        image=np.clip(image, 0.0, 1.0).astype(np.float32),
        crop_box=box,
        scale=size / (box[2] - box[0]),
        background_level=hand.background_level,
        notes=tuple(notes),
    )


def crop_labels(labels: np.ndarray, prepared: Preprocessed) -> np.ndarray:
    """Apply the geometry of ``prepared`` to a label mask (nearest neighbour, background 0).

    Training the U-Net on phantoms needs each label mask cut and resized exactly like its image.
    """
    square = crop_padded(np.asarray(labels), prepared.crop_box, 0)
    size = prepared.image.shape[0]
    resized = _resize(square.astype(np.float32), size, "nearest")
    return resized.astype(np.asarray(labels).dtype)


def _upsample_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour upsampling of a working-resolution mask to the source shape."""
    rows = np.minimum(
        (np.arange(shape[0]) * mask.shape[0] / shape[0]).astype(int), mask.shape[0] - 1
    )
    cols = np.minimum(
        (np.arange(shape[1]) * mask.shape[1] / shape[1]).astype(int), mask.shape[1] - 1
    )
    return mask[np.ix_(rows, cols)]


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


def field_square(pixels: np.ndarray, *, size: int = INPUT_SIZE) -> Preprocessed:
    """The whole radiograph as a square model input: padding bars trimmed, padded to a square
    with the level of its own border, intensities mapped 1st → 0 and 99.5th percentile → 1.

    The end-to-end CNN trained on real radiographs reads this framing instead of the hand crop
    of :func:`preprocess`: on real films the hand's outline is often not traceable (collimated
    fields, dark film, burnt-in letters), and a network trained on whole films needs no outline.
    """
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
    image = _resize(np.asarray(scaled[0], dtype=np.float32), size, "area")
    notes = ("padding bars at the image edges left out",) if trimmed.shape != pixels.shape else ()
    return Preprocessed(
        image=np.clip(image, 0.0, 1.0).astype(np.float32),
        crop_box=box,
        scale=size / side,
        background_level=level,
        notes=notes,
    )
