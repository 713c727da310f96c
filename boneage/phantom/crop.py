"""The phantom era's hand crop: find the hand, crop a square around it, normalise, resize.

The phantom-trained bone U-Net and CNN (``boneage/demo_models/*-phantom``) read this crop; the
shipped product reads the whole film instead (:mod:`boneage.framing.field`), because on real
films the hand's outline is often not traceable. Training the U-Net on phantoms needs each label
mask cut like its image (:func:`crop_labels`).
"""

from __future__ import annotations

import numpy as np
import torch
from monai.transforms import ScaleIntensityRangePercentiles
from scipy import ndimage
from skimage import morphology

from boneage.framing.field import INPUT_SIZE, Framed, crop_padded, resize_square
from boneage.framing.outline import WORK_SIDE, HandMask, find_hand

MARGIN = 0.06
"""Margin added on each side of the hand's bounding square, as a fraction of its side."""


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


def preprocess(pixels: np.ndarray, *, size: int = INPUT_SIZE) -> Framed:
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
    image = resize_square(np.asarray(scaled[0], dtype=np.float32), size, "area")
    return Framed(
        image=np.clip(image, 0.0, 1.0).astype(np.float32),
        crop_box=box,
        scale=size / (box[2] - box[0]),
        background_level=hand.background_level,
        notes=tuple(notes),
    )


def crop_labels(labels: np.ndarray, prepared: Framed) -> np.ndarray:
    """Apply the geometry of ``prepared`` to a label mask (nearest neighbour, background 0).

    Training the U-Net on phantoms needs each label mask cut and resized exactly like its image.
    """
    square = crop_padded(np.asarray(labels), prepared.crop_box, 0)
    size = prepared.image.shape[0]
    resized = resize_square(square.astype(np.float32), size, "nearest")
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
