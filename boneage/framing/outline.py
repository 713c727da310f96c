"""The hand's outline on a film: the hand and forearm separated from the background.

The quality checks (:mod:`boneage.quality.orientation`) read inversion, pose and side from this
outline, once per film. It is written with scikit-image because MONAI's ``CropForeground`` needs
a foreground already separated from a background that, on a radiograph, is not dark but mid-grey
and carries markers and collimation strips: Otsu's threshold on a smoothed, downsampled copy and
the largest connected component find the hand (with the forearm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from monai.transforms import Resize
from scipy import ndimage
from skimage import filters, measure

from boneage.errors import InputError

WORK_SIDE = 256
"""Longest side of the downsampled copy on which the hand is found (pixels)."""

FLAT_STD = 2e-4
"""Local standard deviation (0..1 intensity units) below which an area is noise-free."""

MAX_SOLIDITY = 0.9
"""A hand with its fingers fills at most this share of its convex hull; rulers and markers more."""


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
